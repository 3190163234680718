package popularity

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

// txnProducer is a transactional producer for one partition of the popularity topic.
type txnProducer struct {
	t     *testing.T
	p     sarama.SyncProducer
	topic string
}

func newTxnProducer(t *testing.T, brokers []string, id string) *txnProducer {
	t.Helper()
	c := kafka.NewSaramaConfig("reader-test")
	c.Producer.Transaction.ID = id
	c.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(brokers, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &txnProducer{t: t, p: p, topic: event.DefaultTopic(event.TopicPopularity)}
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

// readAll reads partition 0 from offset 0 until the reader reaches ends.
func readAll(t *testing.T, r *logReader, ends map[int32]int64) []string {
	t.Helper()
	var got []string
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for !r.caughtUp(ends) {
		err := r.fetch(ctx, 50*time.Millisecond, ends, func(_ int32, _ int64, rec *sarama.Record) error {
			got = append(got, string(rec.Value))
			return nil
		})
		if err != nil {
			t.Fatalf("read to %v: %v (at %v)", ends, err, r.pos)
		}
	}
	return got
}

func TestReaderSkipsAbortedTransactionsAndReachesTheEnd(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 1)
	client, err := sarama.NewClient(cluster.Brokers, kafka.NewSaramaConfig("reader-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	topic := event.DefaultTopic(event.TopicPopularity)
	tp := newTxnProducer(t, cluster.Brokers, "writer")
	tp.txn(tp.p.CommitTxn, "a", "b")
	tp.txn(tp.p.AbortTxn, "aborted-1", "aborted-2")
	tp.txn(tp.p.CommitTxn, "c")
	tp.txn(tp.p.AbortTxn, "aborted-3") // the log ends in an aborted transaction

	committed, err := endOffsets(t.Context(), client, topic, []int32{0}, sarama.ReadCommitted)
	if err != nil {
		t.Fatal(err)
	}
	r := newLogReader(client, topic, map[int32]int64{0: 0})
	if got := readAll(t, r, committed); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("read %v, want a, b, c", got)
	}
	// Records 0-1, marker 2, records 3-4, marker 5, record 6, marker 7, record 8, marker 9.
	if r.pos[0] != 10 || committed[0] != 10 {
		t.Fatalf("position %d, end %d; want both 10, past the last marker", r.pos[0], committed[0])
	}

	// An open transaction holds the last stable offset back; reading to the high water mark
	// waits for it to end.
	tp.txn(nil, "late")
	ends := map[string]sarama.IsolationLevel{"committed": sarama.ReadCommitted, "uncommitted": sarama.ReadUncommitted}
	got := map[string]int64{}
	for name, level := range ends {
		e, err := endOffsets(t.Context(), client, topic, []int32{0}, level)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = e[0]
	}
	if got["committed"] != 10 || got["uncommitted"] != 11 {
		t.Fatalf("ends with an open transaction: %v, want committed 10 and uncommitted 11", got)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = tp.p.CommitTxn()
	}()
	if late := readAll(t, r, map[int32]int64{0: 11}); !slices.Equal(late, []string{"late"}) {
		t.Fatalf("read %v after the commit, want late", late)
	}
}
