package kafka_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

// txnProducer is a transactional producer for one partition of a topic.
type txnProducer struct {
	t     *testing.T
	p     sarama.SyncProducer
	topic string
}

func newTxnProducer(t *testing.T, brokers []string, id, topic string) *txnProducer {
	t.Helper()
	c := kafka.NewSaramaConfig("reader-test")
	c.Producer.Transaction.ID = id
	c.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(brokers, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &txnProducer{t: t, p: p, topic: topic}
}

// txn writes values to partition 0 in one transaction and commits or aborts it; with end false
// it leaves the transaction open.
func (tp *txnProducer) txn(end func() error, values ...string) {
	tp.t.Helper()
	if err := tp.p.BeginTxn(); err != nil {
		tp.t.Fatal(err)
	}
	for _, v := range values {
		if _, _, err := tp.p.SendMessage(&sarama.ProducerMessage{Topic: tp.topic, Value: sarama.StringEncoder(v)}); err != nil {
			tp.t.Fatal(err)
		}
	}
	if end != nil {
		if err := end(); err != nil {
			tp.t.Fatal(err)
		}
	}
}

// readAll reads partition 0 until the reader reaches ends.
func readAll(t *testing.T, r *kafka.LogReader, ends map[int32]int64) []string {
	t.Helper()
	var got []string
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for !r.CaughtUp(ends) {
		err := r.Poll(ctx, func(m *sarama.ConsumerMessage) error {
			got = append(got, string(m.Value))
			return nil
		})
		if err != nil {
			t.Fatalf("read to %v: %v", ends, err)
		}
	}
	return got
}

func TestLogReaderSkipsAbortedTransactionsAndReachesTheEnd(t *testing.T) {
	const topic = "log"
	cluster := kafkatest.NewCluster(t, topic)
	brokers := cluster.ListenAddrs()
	tp := newTxnProducer(t, brokers, "writer", topic)
	tp.txn(tp.p.CommitTxn, "a", "b")
	tp.txn(tp.p.AbortTxn, "aborted-1", "aborted-2")
	tp.txn(tp.p.CommitTxn, "c")
	tp.txn(tp.p.AbortTxn, "aborted-3") // the log ends in an aborted transaction

	r, err := kafka.NewLogReader(brokers, config.KafkaAuth{}, "reader-test", topic, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	committed, err := r.Offsets(t.Context(), []int32{0}, kafka.OffsetEnd, true)
	if err != nil {
		t.Fatal(err)
	}
	r.Add(map[int32]int64{0: 0})
	if got := readAll(t, r, committed); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("read %v, want a, b, c", got)
	}
	// Records 0-1, marker 2, records 3-4, marker 5, record 6, marker 7, record 8, marker 9.
	if !r.CaughtUp(map[int32]int64{0: 10}) || r.CaughtUp(map[int32]int64{0: 11}) || committed[0] != 10 {
		t.Fatalf("end %d; want the reader and the end both at 10, past the last marker", committed[0])
	}

	// An open transaction holds the last stable offset back; reading to the high water mark
	// waits for it to end.
	tp.txn(nil, "late")
	got := map[string]int64{}
	for name, isCommitted := range map[string]bool{"committed": true, "uncommitted": false} {
		e, err := r.Offsets(t.Context(), []int32{0}, kafka.OffsetEnd, isCommitted)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = e[0]
	}
	if got["committed"] != 10 || got["uncommitted"] != 11 {
		t.Fatalf("ends with an open transaction: %v, want committed 10 and uncommitted 11", got)
	}
	committedLate := make(chan error, 1)
	go func() { committedLate <- tp.p.CommitTxn() }()
	if late := readAll(t, r, map[int32]int64{0: 12}); !slices.Equal(late, []string{"late"}) {
		t.Fatalf("read %v after the commit, want late", late)
	}
	if err := <-committedLate; err != nil {
		t.Fatal(err)
	}
}

// TestBacklogCountsOnlyThePartitionsBehind is a consumer group's lag when some partitions are
// fully consumed and others are not: the partitions at their end must not hold the count back.
func TestBacklogCountsOnlyThePartitionsBehind(t *testing.T) {
	const topic = "backlog"
	cluster := kafkatest.NewCluster(t, topic)
	c := kafka.NewSaramaConfig("backlog-test")
	c.Producer.Partitioner = sarama.NewManualPartitioner
	producer, err := sarama.NewSyncProducer(cluster.ListenAddrs(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for p := range int32(kafkatest.Partitions) {
		for range 2 {
			if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: p, Value: sarama.StringEncoder("v")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tt := range []struct {
		name string
		from map[int32]int64
		want int64
	}{
		{"every partition at its end", map[int32]int64{0: 2, 1: 2, 2: 2}, 0},
		{"one partition behind", map[int32]int64{0: 1, 1: 2, 2: 2}, 1},
		{"one partition at its end, others behind", map[int32]int64{0: 0, 1: 2, 2: 1}, 3},
		{"nothing committed", map[int32]int64{0: -1, 1: -1, 2: -1}, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			got, err := kafka.Backlog(ctx, cluster.ListenAddrs(), config.KafkaAuth{}, "backlog-test", topic, tt.from)
			if err != nil || got != tt.want {
				t.Fatalf("Backlog(%v) = %d, %v; want %d", tt.from, got, err, tt.want)
			}
		})
	}
}
