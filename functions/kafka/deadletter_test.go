package kafka_test

import (
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
)

func TestDeadLetter(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	in := &sarama.ConsumerMessage{
		Topic: "raw", Partition: 2, Offset: 41, Timestamp: at,
		Key: []byte("item-1"), Value: []byte("not json {"),
		Headers: []*sarama.RecordHeader{
			{Key: []byte("ce_id"), Value: []byte("e1")},
			{Key: []byte(contract.HeaderDLQReason), Value: []byte("stale verdict")},
			{Key: []byte("trace"), Value: []byte("abc")},
		},
	}
	out := kafka.DeadLetter(in, "dlq", event.ReasonDataNotJSON, "data is not JSON")

	if out.Topic != "dlq" || !out.Timestamp.Equal(at) {
		t.Errorf("topic %q, timestamp %v; want dlq, %v", out.Topic, out.Timestamp, at)
	}
	if key, _ := out.Key.Encode(); string(key) != "item-1" {
		t.Errorf("key = %q, want the original item-1", key)
	}
	if value, _ := out.Value.Encode(); string(value) != "not json {" {
		t.Errorf("value = %q, want the original", value)
	}
	want := map[string]string{
		"ce_id":                     "e1",
		"trace":                     "abc",
		contract.HeaderDLQReason:    "data_not_json",
		contract.HeaderDLQMessage:   "data is not JSON",
		contract.HeaderDLQTopic:     "raw",
		contract.HeaderDLQPartition: "2",
		contract.HeaderDLQOffset:    "41",
	}
	got := map[string]string{}
	for _, h := range out.Headers {
		if _, dup := got[string(h.Key)]; dup {
			t.Errorf("header %s appears twice", h.Key)
		}
		got[string(h.Key)] = string(h.Value)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("headers %v, want exactly %v", got, want)
	}
}
