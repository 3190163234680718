package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

func TestRawProducerStoresIngestRecords(t *testing.T) {
	for _, mode := range []string{ModeRawProducer, ModeRawTuned} {
		t.Run(mode, func(t *testing.T) { testRawProducer(t, mode) })
	}
}

func testRawProducer(t *testing.T, mode string) {
	topic := contract.DefaultTopic(contract.TopicRaw)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatalf("start kafka: %v", err)
	}
	t.Cleanup(cluster.Close)

	const events = 300
	cfg := Config{
		Mode: mode, Kafka: cluster.ListenAddrs()[0], Topic: topic, Connections: 2, Batch: 50,
		Duration: 30 * time.Second, Events: events, Items: 50, Users: 100, Seed: 1, Timeout: 5 * time.Second,
	}
	got, err := run(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got.Accepted != events || got.Failed != 0 {
		t.Fatalf("accepted %d, failed %d (errors %v, first %q), want %d accepted", got.Accepted, got.Failed, got.Errors, got.FirstError, events)
	}

	records := consumeAll(t, cluster.ListenAddrs(), topic, events)
	for _, r := range records {
		msg := kafka_sarama.NewMessageFromConsumerMessage(consumerMessage(r))
		if enc := msg.ReadEncoding(); enc != binding.EncodingBinary {
			t.Fatalf("record in %v content mode, want binary (ce_* headers)", enc)
		}
		e, err := binding.ToEvent(context.Background(), msg)
		if err != nil {
			t.Fatalf("record is not a CloudEvent: %v", err)
		}
		in, err := event.Validate(*e)
		if err != nil {
			t.Fatalf("record breaks the contract: %v", err)
		}
		if string(r.Key) != in.ItemID || e.Subject() != in.ItemID {
			t.Fatalf("record key %q, subject %q, want the item id %q", r.Key, e.Subject(), in.ItemID)
		}
	}
}

// consumeAll reads want records from topic, failing the test if they do not come in time.
func consumeAll(t *testing.T, brokers []string, topic string, want int) []*kgo.Record {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var records []*kgo.Record
	for len(records) < want {
		fetches := client.PollFetches(ctx)
		if err := fetches.Err0(); err != nil {
			t.Fatalf("read %d of %d records: %v", len(records), want, err)
		}
		records = append(records, fetches.Records()...)
	}
	if len(records) != want {
		t.Fatalf("read %d records, want %d", len(records), want)
	}
	return records
}

func consumerMessage(r *kgo.Record) *sarama.ConsumerMessage {
	m := &sarama.ConsumerMessage{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, &sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
	}
	return m
}
