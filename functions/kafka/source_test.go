package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

const group = "test-group"

// copyTo is a processor that copies each record's value to topic, or to the topic the value
// names after "to:".
func copyTo(topic string) kafka.Processor {
	return kafka.ProcessorFunc(func(_ context.Context, m *sarama.ConsumerMessage) []*sarama.ProducerMessage {
		to := topic
		if v := string(m.Value); len(v) > 3 && v[:3] == "to:" {
			to = v[3:]
		}
		return []*sarama.ProducerMessage{{Topic: to, Key: sarama.ByteEncoder(m.Key), Value: sarama.ByteEncoder(m.Value)}}
	})
}

// runSource runs a Source of group over "in" until the returned stop is called; stop waits for
// the graceful shutdown and fails the test if it fails.
func runSource(t *testing.T, c *kfake.Cluster, p kafka.Processor, reg prometheus.Registerer) (stop func()) {
	t.Helper()
	consumer, err := sarama.NewClient(c.ListenAddrs(), kafka.NewSaramaConfig("source-test-consumer"))
	if err != nil {
		t.Fatal(err)
	}
	// Give up inside the producer quickly, so that the Source's own retries are exercised.
	cfg := kafka.NewSaramaConfig("source-test-producer")
	cfg.Producer.Retry.Max = 1
	producerClient, err := sarama.NewClient(c.ListenAddrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	producer, err := kafka.NewProducer(producerClient)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	src := kafka.NewSource(consumer, group, []string{"in"}, p, producer, reg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("source stopped with %v", err)
		}
		_ = producer.Close()
		_ = producerClient.Close()
		_ = consumer.Close()
	}
	t.Cleanup(stop)
	return stop
}

func produceValues(t *testing.T, c *kfake.Cluster, key string, values ...string) {
	t.Helper()
	if err := produce(c, key, values...); err != nil {
		t.Fatal(err)
	}
}

// produce writes values to "in", spread over five keys, one at a time.
func produce(c *kfake.Cluster, key string, values ...string) error {
	producer, err := sarama.NewSyncProducer(c.ListenAddrs(), kafka.NewSaramaConfig("source-test-producer"))
	if err != nil {
		return err
	}
	defer producer.Close()
	for i, v := range values {
		msg := &sarama.ProducerMessage{Topic: "in", Key: sarama.StringEncoder(key + fmt.Sprint(i%5)), Value: sarama.StringEncoder(v)}
		if _, _, err := producer.SendMessage(msg); err != nil {
			return err
		}
	}
	return nil
}

func values(records []*sarama.ConsumerMessage) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = string(r.Value)
	}
	sort.Strings(out)
	return out
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

func TestSourceDeliversEveryRecordAndCommits(t *testing.T) {
	c := kafkatest.NewCluster(t, "in", "out")
	want := numbered("v", 500)
	produceValues(t, c, "k", want...)
	reg := prometheus.NewRegistry()
	runSource(t, c, copyTo("out"), reg)

	kafkatest.WaitCommitted(t, c, group, "in", 20*time.Second)
	got := values(kafkatest.Records(t, c, "out"))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("out holds %d records, want each of the %d inputs exactly once", len(got), len(want))
	}
	if n := metricValue(t, reg, "recoflow_records_produced_total", "out"); n != 500 {
		t.Errorf("produced metric = %v, want 500", n)
	}
}

func TestSourceNeverCommitsPastAnUnacknowledgedRecord(t *testing.T) {
	c := kafkatest.NewCluster(t, "in", "out", "slow")
	// One partition: the same key for every record.
	msgs := make([]*sarama.ProducerMessage, 10)
	for i := range msgs {
		v := fmt.Sprintf("v%d", i)
		if i == 3 {
			v = "to:slow"
		}
		msgs[i] = &sarama.ProducerMessage{Topic: "in", Key: sarama.StringEncoder("one"), Value: sarama.StringEncoder(v)}
	}
	kafkatest.Produce(t, c, msgs...)
	partition := kafkatest.Records(t, c, "in")[0].Partition

	// The broker refuses writes to "slow" until the fault is removed: record 3's output is
	// retried while records 4 to 9 are stored.
	fault := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "slow", Err: kerr.NotEnoughReplicas, Count: -1})
	reg := prometheus.NewRegistry()
	runSource(t, c, copyTo("out"), reg)

	admin, err := sarama.NewClusterAdminFromClient(kafkatest.Client(t, c))
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, 20*time.Second, func() error {
		if n := len(kafkatest.Records(t, c, "out")); n != 9 {
			return fmt.Errorf("out holds %d records, want the 9 whose outputs are not blocked", n)
		}
		if n := metricValue(t, reg, "recoflow_produce_retries_total", ""); n < 1 {
			return fmt.Errorf("retries metric = %v, want at least 1", n)
		}
		return committed(admin, partition, 3)
	})
	fault.Remove()
	kafkatest.WaitCommitted(t, c, group, "in", 20*time.Second)
	if got := values(kafkatest.Records(t, c, "slow")); len(got) != 1 {
		t.Errorf("slow holds %v, want the retried record once", got)
	}
}

// committed checks that group's committed offset on partition p of "in" is want.
func committed(admin sarama.ClusterAdmin, p int32, want int64) error {
	offsets, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{"in": {p}})
	if err != nil {
		return err
	}
	if b := offsets.GetBlock("in", p); b == nil || b.Offset != want {
		return fmt.Errorf("committed offset %v, want %d", b, want)
	}
	return nil
}

func TestSourceRestartLosesNothing(t *testing.T) {
	c := kafkatest.NewCluster(t, "in", "out")
	first, second := numbered("a", 300), numbered("b", 300)
	produceValues(t, c, "k", first...)
	stop := runSource(t, c, copyTo("out"), prometheus.NewRegistry())
	kafkatest.Eventually(t, 20*time.Second, func() error {
		if len(kafkatest.Records(t, c, "out")) == 0 {
			return errors.New("nothing processed yet")
		}
		return nil
	})
	// Stop mid-stream while more records arrive, then start a new member.
	produced := make(chan error, 1)
	go func() { produced <- produce(c, "k", second...) }()
	stop()
	runSource(t, c, copyTo("out"), prometheus.NewRegistry())
	if err := <-produced; err != nil {
		t.Fatal(err)
	}

	want := append(first, second...)
	sort.Strings(want)
	kafkatest.Eventually(t, 20*time.Second, func() error {
		if got := values(kafkatest.Records(t, c, "in")); len(got) != len(want) {
			return fmt.Errorf("in holds %d of %d records", len(got), len(want))
		}
		return nil
	})
	kafkatest.WaitCommitted(t, c, group, "in", 20*time.Second)
	got := values(kafkatest.Records(t, c, "out"))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("out holds %d records, want each of the %d inputs exactly once", len(got), len(want))
	}
}
