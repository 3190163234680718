package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

func newProducer(t *testing.T, c *kfake.Cluster) *kafka.Producer {
	t.Helper()
	p, err := kafka.NewProducer(kafkatest.Client(t, c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func likedEvent(id, item string) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("test")
	e.SetType(contract.TypeLiked)
	e.SetSubject(item)
	e.SetTime(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	_ = e.SetData(cloudevents.ApplicationJSON, event.Interaction{UserID: "u", ItemID: item})
	return e
}

func TestSinkWritesBinaryModeKeyedBySubject(t *testing.T) {
	c := kafkatest.NewCluster(t, "out")
	sink := kafka.NewSink(newProducer(t, c), "out")

	if res := sink.SendEvents(context.Background(), likedEvent("e1", "i1"), likedEvent("e2", "i2")); !cloudevents.IsACK(res) {
		t.Fatalf("SendEvents: %v", res)
	}
	// The sdk client works over the sink too.
	client, err := cloudevents.NewClient(sink)
	if err != nil {
		t.Fatal(err)
	}
	if res := client.Send(context.Background(), likedEvent("e3", "i3")); !cloudevents.IsACK(res) {
		t.Fatalf("client.Send: %v", res)
	}

	records := kafkatest.Records(t, c, "out")
	if len(records) != 3 {
		t.Fatalf("got %d records, want 3", len(records))
	}
	for _, r := range records {
		id := kafkatest.Header(r, "ce_id")
		item := map[string]string{"e1": "i1", "e2": "i2", "e3": "i3"}[id]
		if string(r.Key) != item {
			t.Errorf("event %s has key %q, want its subject %q", id, r.Key, item)
		}
		if got := kafkatest.Header(r, "ce_type"); got != contract.TypeLiked {
			t.Errorf("event %s: ce_type %q", id, got)
		}
		if got := kafkatest.Header(r, "content-type"); got != cloudevents.ApplicationJSON {
			t.Errorf("event %s: content-type %q, want the data's media type (binary mode)", id, got)
		}
		if want := `{"user_id":"u","item_id":"` + item + `"}`; string(r.Value) != want {
			t.Errorf("event %s: value %s, want the data %s", id, r.Value, want)
		}
		e, err := kafka.DecodeRecord(context.Background(), r)
		if err != nil || e.ID() != id {
			t.Errorf("record does not decode back to event %s: %v", id, err)
		}
	}
}

func TestSinkResults(t *testing.T) {
	tests := []struct {
		name  string
		fault kfake.Fault
		// timeout bounds the send; the broker never answers in time when it is shorter than
		// the producer's retries.
		timeout       time.Duration
		wantNACK      bool
		wantKafkaErr  error
		wantUndeliver bool
	}{
		{
			name:         "broker refuses the records",
			fault:        kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.InvalidRecord, Count: -1},
			timeout:      10 * time.Second,
			wantNACK:     true,
			wantKafkaErr: sarama.ErrInvalidRecord,
		},
		{
			name:          "broker keeps failing past the deadline",
			fault:         kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1},
			timeout:       300 * time.Millisecond,
			wantUndeliver: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := kafkatest.NewCluster(t, "out")
			sink := kafka.NewSink(newProducer(t, c), "out")
			fault := c.Fault(tt.fault)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			res := sink.SendEvents(ctx, likedEvent("e1", "i1"))
			fault.Remove()
			if cloudevents.IsACK(res) {
				t.Fatal("result is an ACK")
			}
			if got := cloudevents.IsNACK(res); got != tt.wantNACK {
				t.Errorf("IsNACK = %v, want %v (%v)", got, tt.wantNACK, res)
			}
			if got := cloudevents.IsUndelivered(res); got != tt.wantUndeliver {
				t.Errorf("IsUndelivered = %v, want %v (%v)", got, tt.wantUndeliver, res)
			}
			if tt.wantKafkaErr != nil && !errors.Is(res, tt.wantKafkaErr) {
				t.Errorf("result %v does not wrap %v", res, tt.wantKafkaErr)
			}
		})
	}
}

func TestProducerRefusesSendsAfterClose(t *testing.T) {
	c := kafkatest.NewCluster(t, "out")
	p := newProducer(t, c)
	if err := p.Send(context.Background(), &sarama.ProducerMessage{Topic: "out", Value: sarama.StringEncoder("before")}); err != nil {
		t.Fatalf("send before close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), &sarama.ProducerMessage{Topic: "out", Value: sarama.StringEncoder("after")}); !errors.Is(err, kafka.ErrProducerClosed) {
		t.Fatalf("send after close: %v, want ErrProducerClosed", err)
	}
	if n := len(kafkatest.Records(t, c, "out")); n != 1 {
		t.Errorf("topic holds %d records, want only the one sent before close", n)
	}
}

// TestRecordMatchesTheSDK checks that Sink.Record writes every CloudEvents 1.0 event exactly as
// the sdk's kafka_sarama binding does: the same key, value and headers.
func TestRecordMatchesTheSDK(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	events := []func(e *cloudevents.Event){
		func(e *cloudevents.Event) {},
		func(e *cloudevents.Event) { e.SetSubject("i1"); e.SetTime(at) },
		func(e *cloudevents.Event) {
			e.SetSubject("a/b\x00c")
			e.SetDataSchema("https://example.com/schema")
			e.SetExtension("segment", "25-34.f")
			e.SetExtension("count", 7)
			e.SetExtension("flag", true)
		},
		func(e *cloudevents.Event) { e.DataEncoded = nil; e.SetDataContentType("") },
		func(e *cloudevents.Event) { _ = e.SetData("text/plain", []byte("hi")) },
	}
	for i, change := range events {
		e := cloudevents.NewEvent()
		e.SetID(fmt.Sprintf("e%d", i))
		e.SetSource("urn:test")
		e.SetType("dev.recoflow.item.liked.v1")
		e.DataEncoded = []byte(`{"user_id":"u1","item_id":"i1"}`)
		e.SetDataContentType("application/json")
		change(&e)
		sink := kafka.NewSink(nil, "t")
		got, err := sink.Record(context.Background(), &e)
		if err != nil {
			t.Fatal(err)
		}
		want := &sarama.ProducerMessage{Topic: "t"}
		if err := kafka_sarama.WriteProducerMessage(kafka_sarama.WithSkipKeyMapping(context.Background()), binding.ToMessage(&e), want); err != nil {
			t.Fatal(err)
		}
		for _, h := range want.Headers {
			if string(h.Key) == "ce_subject" {
				want.Key = sarama.ByteEncoder(h.Value)
			}
		}
		if a, b := recordText(got), recordText(want); a != b {
			t.Errorf("event %d: Record wrote\n%s\nthe sdk writes\n%s", i, a, b)
		}
	}
}

// recordText describes a record's key, value and headers, headers sorted.
func recordText(m *sarama.ProducerMessage) string {
	var key, value []byte
	if m.Key != nil {
		key, _ = m.Key.Encode()
	}
	if m.Value != nil {
		value, _ = m.Value.Encode()
	}
	var headers []string
	for _, h := range m.Headers {
		headers = append(headers, fmt.Sprintf("%s=%q", h.Key, h.Value))
	}
	slices.Sort(headers)
	return fmt.Sprintf("topic %s key %q value %q headers %v", m.Topic, key, value, headers)
}
