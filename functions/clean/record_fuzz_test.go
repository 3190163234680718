package clean

import (
	"context"
	"errors"
	"testing"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
)

// FuzzRecord feeds arbitrary raw records, as anyone with access to the raw topic could write
// them, through clean's record decoding and Handle. Nothing panics; a record is either refused
// with a reason (and a field when one is at fault), or clean's output passes the contract again,
// carries only a segment clean derived, and encodes to a record for the clean topic.
func FuzzRecord(f *testing.F) {
	f.Add("1.0", "e1", contract.TypeLiked, "application/json", "", "", []byte(`{"user_id":"u1","item_id":"i1","user":{"age":30}}`))
	f.Add("0.3", "e1", contract.TypeLiked, "application/json", "", "", []byte(`{"user_id":"u1","item_id":"i1"}`))
	f.Add("1.0", "e1", contract.TypeLiked, "application/json", "ce_segment", "65+.f", []byte(`{"user_id":"u1","item_id":"i1"}`))
	f.Add("1.0", "e1", contract.TypeRated, "Application/JSON", "ce_time", "nope", []byte(`{"user_id":"u1","item_id":"i1","rating":3}`))
	f.Add("", "", "", "application/cloudevents+json", "", "", []byte(`{"specversion":"1.0","id":"e","source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u","item_id":"i"}}`))
	f.Fuzz(func(t *testing.T, specversion, id, eventType, contentType, extraKey, extraValue string, value []byte) {
		msg := &sarama.ConsumerMessage{Topic: "raw", Value: value}
		for _, h := range [][2]string{{"ce_specversion", specversion}, {"ce_id", id}, {"ce_source", "fuzz"}, {"ce_type", eventType}, {"content-type", contentType}, {extraKey, extraValue}} {
			if h[0] != "" && h[1] != "" {
				msg.Headers = append(msg.Headers, &sarama.RecordHeader{Key: []byte(h[0]), Value: []byte(h[1])})
			}
		}
		fn := New(config.DefaultClean(), prometheus.NewRegistry())
		e, err := kafka.DecodeRecord(context.Background(), msg)
		if err != nil {
			checkReason(t, err)
			return
		}
		sent := e.Extensions()[event.ExtensionSegment]
		out, err := fn.Handle(context.Background(), *e)
		if err != nil {
			checkReason(t, err)
			return
		}
		if out == nil {
			t.Fatal("the first record was dropped as a duplicate")
		}
		if sent != nil {
			t.Fatalf("clean let a segment written to the raw topic through: %v", sent)
		}
		in, err := event.Validate(withoutDerived(*out))
		if err != nil {
			t.Fatalf("clean's output breaks the contract: %v", err)
		}
		if got, want := out.Extensions()[event.ExtensionSegment], event.Segment(in.User); (want == "" && got != nil) || (want != "" && got != want) {
			t.Fatalf("segment %v, want the one derived from data.user %q", got, want)
		}
		if _, err := kafka.NewSink(nil, "clean").Record(context.Background(), out); err != nil {
			t.Fatalf("clean's output cannot be encoded: %v", err)
		}
	})
}

// withoutDerived returns a copy of e without the extensions clean derives, which the contract
// refuses on input.
func withoutDerived(e cloudevents.Event) cloudevents.Event {
	c := e.Clone()
	for _, name := range event.DerivedExtensions {
		c.SetExtension(name, nil)
	}
	return c
}

// checkReason checks that a refusal is an *event.Error with a reason, naming the field when the
// reason is about one.
func checkReason(t *testing.T, err error) {
	t.Helper()
	var invalid *event.Error
	if !errors.As(err, &invalid) {
		t.Fatalf("refused with %v, want an *event.Error", err)
	}
	switch invalid.Reason {
	case event.ReasonMissingField, event.ReasonInvalidField, event.ReasonUnknownType, event.ReasonSubjectMismatch, event.ReasonInvalidRating, event.ReasonTimeInFuture, event.ReasonTooOld:
		if invalid.Field == "" {
			t.Fatalf("refusal %s names no field: %v", invalid.Reason, err)
		}
	case event.ReasonNotCloudEvent, event.ReasonDataNotJSON:
	default:
		t.Fatalf("refused with reason %q: %v", invalid.Reason, err)
	}
}
