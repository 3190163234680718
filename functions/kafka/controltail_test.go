package kafka_test

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

// produceTransactions writes each batch of values to "in" in a transaction of its own; aborted
// batches are written and then aborted.
func produceTransactions(t *testing.T, brokers []string, commit bool, batches ...[]string) {
	t.Helper()
	cfg := kafka.NewSaramaConfig("controltail-test-producer")
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.ID = "controltail-test"
	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for _, batch := range batches {
		if err := producer.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		for _, v := range batch {
			if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "in", Key: sarama.StringEncoder(v), Value: sarama.StringEncoder(v)}); err != nil {
				t.Fatal(err)
			}
		}
		end := producer.CommitTxn
		if !commit {
			end = producer.AbortTxn
		}
		if err := end(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTransactorCommitsPastTransactionMarkers reads an input written in transactions, as clean
// writes popularity's: every transaction ends in a commit or abort marker that takes an offset but
// is never delivered. Once everything is processed, the group's committed offsets reach the end
// of every partition, so lag-based autoscalers (KEDA counts end minus committed) see no lag and
// can scale the consumer to zero.
func TestTransactorCommitsPastTransactionMarkers(t *testing.T) {
	c := kafkatest.NewCluster(t, "in", "out", "dlq")
	produceTransactions(t, c.ListenAddrs(), true, []string{"a", "b", "c"}, []string{"d"})
	produceTransactions(t, c.ListenAddrs(), false, []string{"never"})
	runTransactor(t, c, copyTo("out"), prometheus.NewRegistry())

	kafkatest.WaitCommitted(t, c, group, "in", 20*time.Second)
	if got := values(kafkatest.Records(t, c, "out")); len(got) != 4 {
		t.Fatalf("out holds %v, want a, b, c and d", got)
	}
	// More committed work after the idle period is processed and committed to the end again.
	produceTransactions(t, c.ListenAddrs(), true, []string{"e"})
	kafkatest.WaitCommitted(t, c, group, "in", 20*time.Second)
	if got := values(kafkatest.Records(t, c, "out")); len(got) != 5 {
		t.Fatalf("out holds %v, want a to e", got)
	}
}
