package popularity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/kafka"
)

// Source is the CloudEvent source of the popularity records the function writes.
const Source = "urn:recoflow:popularity"

// errNotPopularity is returned for a changelog record that is not a popularity CloudEvent.
var errNotPopularity = errors.New("not a " + contract.TypePopularity + " event")

// changelogRecord encodes an item's state as a popularity CloudEvent in binary content mode, keyed
// by the item id, for the given partition of the changelog topic.
//
// The event id is the item id and the number of events the item has seen, so the same state
// always gets the same id, whoever writes it and however often.
func changelogRecord(ctx context.Context, topic string, partition int32, s hotness.ItemState) (*sarama.ProducerMessage, error) {
	var seen int64
	for _, n := range s.Counts {
		seen += n
	}
	e := cloudevents.NewEvent()
	e.SetID(s.ItemID + "/" + strconv.FormatInt(seen, 10))
	e.SetSource(Source)
	e.SetType(contract.TypePopularity)
	e.SetSubject(s.ItemID)
	e.SetTime(s.UpdatedAt)
	s.ScoreTime, s.UpdatedAt = s.ScoreTime.UTC(), s.UpdatedAt.UTC()
	if err := e.SetData(cloudevents.ApplicationJSON, s); err != nil {
		return nil, fmt.Errorf("encode popularity of %q: %w", s.ItemID, err)
	}
	msg := &sarama.ProducerMessage{Topic: topic, Partition: partition, Key: sarama.StringEncoder(s.ItemID)}
	if err := kafka_sarama.WriteProducerMessage(kafka_sarama.WithSkipKeyMapping(ctx), binding.ToMessage(&e), msg); err != nil {
		return nil, fmt.Errorf("encode popularity of %q for kafka: %w", s.ItemID, err)
	}
	return msg, nil
}

// decodeChangelog returns the item state a changelog record carries.
func decodeChangelog(ctx context.Context, rec *sarama.ConsumerMessage) (hotness.ItemState, error) {
	attrs, binary := binaryAttributes(rec.Headers)
	eventType, data := string(attrs.eventType), rec.Value
	if !binary {
		e, err := kafka.DecodeRecord(ctx, rec)
		if err != nil {
			return hotness.ItemState{}, fmt.Errorf("decode popularity record: %w", err)
		}
		eventType, data = e.Type(), e.Data()
	}
	if eventType != contract.TypePopularity {
		return hotness.ItemState{}, fmt.Errorf("%w: type %q", errNotPopularity, eventType)
	}
	var s hotness.ItemState
	if err := json.Unmarshal(data, &s); err != nil {
		return hotness.ItemState{}, fmt.Errorf("decode popularity record of %q: %w", rec.Key, err)
	}
	if s.ItemID == "" {
		return hotness.ItemState{}, fmt.Errorf("decode popularity record of %q: item_id is empty", rec.Key)
	}
	return s, nil
}

// attributes are the CloudEvent attributes the function reads, as raw header values.
type attributes struct {
	eventType, subject, time, segment []byte
}

// binaryAttributes reads attributes straight from the ce_* headers of a record in the binary
// content mode of the CloudEvents Kafka binding, with JSON data. It reports false for a record
// in any other form, which callers decode with the sdk instead. Reading the few headers needed
// costs a fraction of the sdk's full decoding, which matters on the processor's hot path.
func binaryAttributes(headers []*sarama.RecordHeader) (attributes, bool) {
	var a attributes
	var specVersion, contentType []byte
	for _, h := range headers {
		switch string(h.Key) {
		case "ce_specversion":
			specVersion = h.Value
		case "ce_type":
			a.eventType = h.Value
		case "ce_subject":
			a.subject = h.Value
		case "ce_time":
			a.time = h.Value
		case "ce_" + event.ExtensionSegment:
			a.segment = h.Value
		case "content-type":
			contentType = h.Value
		}
	}
	ok := string(specVersion) == cloudevents.VersionV1 && (len(contentType) == 0 || string(contentType) == cloudevents.ApplicationJSON)
	return a, ok
}

// cleanData is the part of an interaction payload the scorer needs.
type cleanData struct {
	ItemID   string `json:"item_id"`
	Category string `json:"category"`
	Rating   *int   `json:"rating"`
}

// interaction returns what a clean interaction record tells the scorer.
func interaction(ctx context.Context, msg *sarama.ConsumerMessage) (hotness.Interaction, error) {
	attrs, binary := binaryAttributes(msg.Headers)
	if !binary {
		return interactionFromEvent(ctx, msg)
	}
	action, ok := contract.ActionOf(string(attrs.eventType))
	if !ok {
		return hotness.Interaction{}, fmt.Errorf("clean record has type %q, not an interaction", attrs.eventType)
	}
	var data cleanData
	if err := json.Unmarshal(msg.Value, &data); err != nil {
		return hotness.Interaction{}, fmt.Errorf("decode data of clean record: %w", err)
	}
	in := hotness.Interaction{ItemID: string(attrs.subject), Category: data.Category, Segment: string(attrs.segment), Action: action}
	if len(attrs.time) > 0 {
		t, err := time.Parse(time.RFC3339Nano, string(attrs.time))
		if err != nil {
			return hotness.Interaction{}, fmt.Errorf("clean record time: %w", err)
		}
		in.Time = t
	}
	return withData(in, data), nil
}

// interactionFromEvent decodes a clean record of any content mode with the sdk.
func interactionFromEvent(ctx context.Context, msg *sarama.ConsumerMessage) (hotness.Interaction, error) {
	e, err := kafka.DecodeRecord(ctx, msg)
	if err != nil {
		return hotness.Interaction{}, fmt.Errorf("decode clean record: %w", err)
	}
	action, ok := contract.ActionOf(e.Type())
	if !ok {
		return hotness.Interaction{}, fmt.Errorf("clean record has type %q, not an interaction", e.Type())
	}
	var data cleanData
	if err := json.Unmarshal(e.Data(), &data); err != nil {
		return hotness.Interaction{}, fmt.Errorf("decode data of clean event %q: %w", e.ID(), err)
	}
	in := hotness.Interaction{ItemID: e.Subject(), Category: data.Category, Action: action, Time: e.Time()}
	if segment, ok := e.Extensions()[event.ExtensionSegment].(string); ok {
		in.Segment = segment
	}
	return withData(in, data), nil
}

// withData completes in with what only the payload says: the item id when there is no subject,
// and the rating.
func withData(in hotness.Interaction, data cleanData) hotness.Interaction {
	if in.ItemID == "" {
		in.ItemID = data.ItemID
	}
	if data.Rating != nil {
		in.Rating = *data.Rating
	}
	return in
}
