package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
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

// statelessTask runs a Processor as a Task that keeps no state.
type statelessTask struct{ kafka.Processor }

func (statelessTask) Restore(context.Context, int32, int64) error { return nil }
func (statelessTask) Flush(context.Context, int32) ([]*sarama.ProducerMessage, error) {
	return nil, nil
}
func (statelessTask) Forget([]int32, bool) {}

// runTransactor runs a Transactor of group over "in" until the returned stop is called; stop
// waits for the graceful shutdown and fails the test if it fails. adjust may change the
// configuration.
func runTransactor(t *testing.T, c *kfake.Cluster, p kafka.Processor, reg prometheus.Registerer, adjust ...func(*kafka.TransactorConfig)) (tx *kafka.Transactor, stop func()) {
	t.Helper()
	cfg := kafka.TransactorConfig{
		Name: "test", Brokers: c.ListenAddrs(), InstanceID: "test-0", Group: group, Topic: "in",
		DeadLetter: "dlq", FlushInterval: 20 * time.Millisecond,
	}
	for _, a := range adjust {
		a(&cfg)
	}
	tx = kafka.NewTransactor(cfg, statelessTask{p}, reg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tx.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("transactor stopped with %v", err)
		}
	}
	t.Cleanup(stop)
	return tx, stop
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

func TestTransactorDeliversEveryRecordOnceAndCommits(t *testing.T) {
	c := kafkatest.NewCluster(t, "in", "out", "dlq")
	want := numbered("v", 500)
	produceValues(t, c, "k", want...)
	reg := prometheus.NewRegistry()
	runTransactor(t, c, copyTo("out"), reg)

	kafkatest.WaitCommitted(t, c, group, "in", 20*time.Second)
	got := values(kafkatest.Records(t, c, "out"))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("out holds %d records, want each of the %d inputs exactly once", len(got), len(want))
	}
	if n := kafkatest.Metric(t, reg, "recoflow_records_produced_total", "out"); n != 500 {
		t.Errorf("produced metric = %v, want 500", n)
	}
}

func TestTransactorNeverCommitsPastAnUnwrittenRecordAndReportsTheStall(t *testing.T) {
	c := kafkatest.NewCluster(t, "in", "out", "slow", "dlq")
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

	// The broker refuses writes to "slow" until the fault is removed: every transaction holding
	// record 3's output fails, so nothing from record 3 on is committed or visible.
	fault := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "slow", Err: kerr.NotEnoughReplicas, Count: -1})
	reg := prometheus.NewRegistry()
	tx, _ := runTransactor(t, c, copyTo("out"), reg, func(cfg *kafka.TransactorConfig) { cfg.StallAfter = 300 * time.Millisecond })

	admin, err := sarama.NewClusterAdminFromClient(kafkatest.Client(t, c))
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, 20*time.Second, func() error {
		if n := kafkatest.Metric(t, reg, "recoflow_transactions_total", "aborted"); n < 1 {
			return fmt.Errorf("aborted transactions = %v, want at least 1", n)
		}
		if err := tx.Ready(); err == nil {
			return errors.New("ready while record 3 cannot be written")
		}
		if n := kafkatest.Metric(t, reg, "recoflow_transactions_stalled", ""); n != 1 {
			return fmt.Errorf("stalled metric = %v, want 1", n)
		}
		return nil
	})
	if got := values(kafkatest.Records(t, c, "out")); len(got) > 3 {
		t.Errorf("out holds %v while record 3 is not written, want at most the 3 before it", got)
	}
	if err := committedAtMost(admin, partition, 3); err != nil {
		t.Error(err)
	}
	fault.Remove()
	kafkatest.WaitCommitted(t, c, group, "in", 20*time.Second)
	if got := values(kafkatest.Records(t, c, "slow")); len(got) != 1 {
		t.Errorf("slow holds %v, want the retried record once", got)
	}
	if got := values(kafkatest.Records(t, c, "out")); len(got) != 9 {
		t.Errorf("out holds %v, want each of the 9 other records once", got)
	}
	kafkatest.Eventually(t, 5*time.Second, tx.Ready)
}

// committedAtMost checks that group's committed offset on partition p of "in" is at most max.
func committedAtMost(admin sarama.ClusterAdmin, p int32, limit int64) error {
	offsets, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{"in": {p}})
	if err != nil {
		return err
	}
	if b := offsets.GetBlock("in", p); b != nil && b.Offset > limit {
		return fmt.Errorf("committed offset %d, want at most %d", b.Offset, limit)
	}
	return nil
}

func TestTransactorDeadLettersARecordKafkaRefusesAfterBoundedRetries(t *testing.T) {
	c := kafkatest.NewCluster(t, "in", "out", "dlq")
	produceValues(t, c, "k", "a", "huge", "b")
	// The processor makes an output larger than any record the producer may send of "huge".
	grow := kafka.ProcessorFunc(func(_ context.Context, m *sarama.ConsumerMessage) []*sarama.ProducerMessage {
		v := m.Value
		if string(v) == "huge" {
			v = make([]byte, 2<<20)
		}
		return []*sarama.ProducerMessage{{Topic: "out", Key: sarama.ByteEncoder(m.Key), Value: sarama.ByteEncoder(v)}}
	})
	reg := prometheus.NewRegistry()
	runTransactor(t, c, grow, reg)
	kafkatest.WaitCommitted(t, c, group, "in", 30*time.Second)
	if got := values(kafkatest.Records(t, c, "out")); fmt.Sprint(got) != "[a b]" {
		t.Errorf("out holds %v, want [a b] once each", got)
	}
	dead := kafkatest.Records(t, c, "dlq")
	if len(dead) != 1 || string(dead[0].Value) != "huge" || kafkatest.Header(dead[0], contract.HeaderDLQReason) != string(event.ReasonUnproducible) {
		t.Fatalf("dlq holds %d records (%v), want the original \"huge\" once with reason %s", len(dead), values(dead), event.ReasonUnproducible)
	}
	if msg := kafkatest.Header(dead[0], contract.HeaderDLQMessage); !strings.Contains(msg, "larger than") {
		t.Errorf("dead-letter message %q does not say why", msg)
	}
	if n := kafkatest.Metric(t, reg, "recoflow_records_unproducible_total", ""); n != 1 {
		t.Errorf("unproducible metric = %v, want 1", n)
	}
}

func TestTransactorRestartLosesNothingAndRepeatsNothing(t *testing.T) {
	c := kafkatest.NewCluster(t, "in", "out", "dlq")
	first, second := numbered("a", 300), numbered("b", 300)
	produceValues(t, c, "k", first...)
	_, stop := runTransactor(t, c, copyTo("out"), prometheus.NewRegistry())
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
	runTransactor(t, c, copyTo("out"), prometheus.NewRegistry())
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
