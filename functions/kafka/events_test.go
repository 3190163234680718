package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

func binaryRecord(headers map[string]string, value string) *sarama.ConsumerMessage {
	m := &sarama.ConsumerMessage{Topic: "raw", Partition: 1, Offset: 7, Value: []byte(value)}
	for k, v := range headers {
		m.Headers = append(m.Headers, &sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	return m
}

var liked = map[string]string{
	"ce_specversion": "1.0", "ce_id": "e1", "ce_source": "test", "ce_type": contract.TypeLiked,
	"ce_subject": "i1", "content-type": "application/json",
}

func TestEventProcessor(t *testing.T) {
	pass := kafka.EventHandlerFunc(func(_ context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
		e.SetExtension("seen", "yes")
		return &e, nil
	})
	tests := []struct {
		name    string
		handler kafka.EventHandler
		record  *sarama.ConsumerMessage
		// wantTopic is the topic of the one expected output; "" expects none.
		wantTopic  string
		wantReason event.Reason
	}{
		{name: "binary event passes", handler: pass, record: binaryRecord(liked, `{"user_id":"u","item_id":"i1"}`), wantTopic: "clean"},
		{name: "structured event passes", handler: pass, record: binaryRecord(map[string]string{"content-type": "application/cloudevents+json"},
			`{"specversion":"1.0","id":"e2","source":"test","type":"`+contract.TypeLiked+`","subject":"i1","data":{"user_id":"u","item_id":"i1"}}`), wantTopic: "clean"},
		{name: "handler drops", handler: kafka.EventHandlerFunc(func(context.Context, cloudevents.Event) (*cloudevents.Event, error) { return nil, nil }),
			record: binaryRecord(liked, `{}`)},
		{name: "no cloudevent headers", handler: pass, record: binaryRecord(map[string]string{"x": "y"}, `hello`),
			wantTopic: "dlq", wantReason: event.ReasonNotCloudEvent},
		{name: "unreadable structured event", handler: pass, record: binaryRecord(map[string]string{"content-type": "application/cloudevents+json"}, `{"specversion":`),
			wantTopic: "dlq", wantReason: event.ReasonNotCloudEvent},
		{name: "contract violation", handler: kafka.EventHandlerFunc(func(context.Context, cloudevents.Event) (*cloudevents.Event, error) {
			return nil, fmt.Errorf("checking: %w", &event.Error{Reason: event.ReasonTooOld, Field: "time", Message: "old"})
		}), record: binaryRecord(liked, `{}`), wantTopic: "dlq", wantReason: event.ReasonTooOld},
		{name: "other failure", handler: kafka.EventHandlerFunc(func(context.Context, cloudevents.Event) (*cloudevents.Event, error) {
			return nil, errors.New("bug")
		}), record: binaryRecord(liked, `{}`), wantTopic: "dlq", wantReason: event.ReasonProcessingFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			p := kafka.NewEventProcessor(tt.handler, "clean", "dlq", reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			out := p.Process(context.Background(), tt.record)
			if tt.wantTopic == "" {
				if len(out) != 0 {
					t.Fatalf("got %d outputs, want none", len(out))
				}
				return
			}
			if len(out) != 1 || out[0].Topic != tt.wantTopic {
				t.Fatalf("outputs %v, want one on %s", out, tt.wantTopic)
			}
			if tt.wantReason == "" {
				if key, _ := out[0].Key.Encode(); string(key) != "i1" {
					t.Errorf("key %q, want the subject i1", key)
				}
				return
			}
			headers := &sarama.ConsumerMessage{}
			for i := range out[0].Headers {
				headers.Headers = append(headers.Headers, &out[0].Headers[i])
			}
			if got := kafkatest.Header(headers, contract.HeaderDLQReason); got != string(tt.wantReason) {
				t.Errorf("dead-letter reason %q, want %q", got, tt.wantReason)
			}
			if got := kafkatest.Metric(t, reg, "recoflow_events_dead_lettered_total", string(tt.wantReason)); got != 1 {
				t.Errorf("dead-lettered metric for %s = %v, want 1", tt.wantReason, got)
			}
		})
	}
}

func TestDecodeRecordKeepsTheEventUnchanged(t *testing.T) {
	e, err := kafka.DecodeRecord(context.Background(), binaryRecord(liked, `{"user_id":"u","item_id":"i1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Extensions()) != 0 {
		t.Errorf("decoded event has extensions %v, want none: the record's position is not part of the event", e.Extensions())
	}
	if e.ID() != "e1" || e.Subject() != "i1" || string(e.Data()) != `{"user_id":"u","item_id":"i1"}` {
		t.Errorf("decoded %v", e)
	}
}

// metricValue returns the value of the counter or gauge name whose label has the value label;
// an empty label matches a metric without labels.
