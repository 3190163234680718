package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/recoflow/recoflow/functions/event"
)

// The encoders below write the CloudEvents HTTP wire formats directly rather than through the
// sdk's client, so that the load program spends as little CPU per event as it can: it shares the
// machine with the pipeline it measures. The tests check every format against ingest's decoder.

// Event returns the sample as a CloudEvent, the form ingest stores on the raw topic.
func (s Sample) Event() (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	e.SetID(s.ID)
	e.SetSource(Source)
	e.SetType(s.Action.Type())
	e.SetSubject(s.Data.ItemID)
	e.SetTime(s.Time)
	if err := e.SetData(cloudevents.ApplicationJSON, s.Data); err != nil {
		return e, fmt.Errorf("encode event data: %w", err)
	}
	return e, nil
}

// encoder writes samples as the headers and body of one request.
type encoder func(h http.Header, samples []Sample) ([]byte, error)

// encodeBinary writes one sample in binary content mode: the attributes in ce-* headers, the
// payload as a JSON body.
func encodeBinary(h http.Header, samples []Sample) ([]byte, error) {
	if len(samples) != 1 {
		return nil, fmt.Errorf("binary content mode carries one event, not %d", len(samples))
	}
	s := samples[0]
	data, err := json.Marshal(s.Data)
	if err != nil {
		return nil, fmt.Errorf("encode event data: %w", err)
	}
	h["Ce-Specversion"] = []string{cloudevents.VersionV1}
	h["Ce-Id"] = []string{s.ID}
	h["Ce-Source"] = []string{Source}
	h["Ce-Type"] = []string{s.Action.Type()}
	h["Ce-Subject"] = []string{s.Data.ItemID}
	h["Ce-Time"] = []string{s.Time.Format(time.RFC3339Nano)}
	h["Content-Type"] = []string{cloudevents.ApplicationJSON}
	return data, nil
}

// structuredEvent is a CloudEvent in the JSON event format, as a batch holds it.
type structuredEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// encodeBatch writes samples as one application/cloudevents-batch+json body.
func encodeBatch(h http.Header, samples []Sample) ([]byte, error) {
	batch := make([]structuredEvent, len(samples))
	for i, s := range samples {
		data, err := json.Marshal(s.Data)
		if err != nil {
			return nil, fmt.Errorf("encode event data: %w", err)
		}
		batch[i] = structuredEvent{
			SpecVersion:     cloudevents.VersionV1,
			ID:              s.ID,
			Source:          Source,
			Type:            s.Action.Type(),
			Subject:         s.Data.ItemID,
			Time:            s.Time.Format(time.RFC3339Nano),
			DataContentType: cloudevents.ApplicationJSON,
			Data:            data,
		}
	}
	body, err := json.Marshal(batch)
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	h["Content-Type"] = []string{cloudevents.ApplicationCloudEventsBatchJSON}
	return body, nil
}

// encodeLike writes the like of one sample as the plain JSON body of POST /v1/likes. Whatever
// the sample's action, the request is a like: that endpoint takes nothing else.
func encodeLike(h http.Header, samples []Sample) ([]byte, error) {
	if len(samples) != 1 {
		return nil, fmt.Errorf("a plain like carries one event, not %d", len(samples))
	}
	s := samples[0]
	body, err := json.Marshal(event.Interaction{UserID: s.Data.UserID, ItemID: s.Data.ItemID, Title: s.Data.Title, Category: s.Data.Category})
	if err != nil {
		return nil, fmt.Errorf("encode like: %w", err)
	}
	h["Content-Type"] = []string{"application/json"}
	return body, nil
}
