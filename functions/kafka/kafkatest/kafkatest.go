// Package kafkatest starts in-process Kafka brokers for tests and reads what the functions wrote
// to them. The broker is kfake speaking the real Kafka protocol, so the code under test uses its
// production clients unchanged. It also runs a function in a child process that kills itself at
// a chosen point of its transactions (RunChild, StartChild), for the exactly-once crash tests.
package kafkatest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafkaauth"
)

// Partitions is the partition count of the topics NewCluster creates.
const Partitions = 3

// NewCluster starts a one-broker cluster on a random loopback port holding topics, each with
// Partitions partitions. It is closed when the test ends.
func NewCluster(t testing.TB, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(Partitions, topics...))
	if err != nil {
		t.Fatalf("start kafka: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// NewPipelineCluster starts a cluster like NewCluster holding the pipeline's topics under their
// default names (contract.DefaultTopic).
func NewPipelineCluster(t testing.TB) *kfake.Cluster {
	t.Helper()
	topics := make([]string, 0, len(contract.TopicRoles))
	for _, role := range contract.TopicRoles {
		topics = append(topics, contract.DefaultTopic(role))
	}
	return NewCluster(t, topics...)
}

// Client returns a sarama client to c with the functions' configuration, closed when the test
// ends.
func Client(t testing.TB, c *kfake.Cluster) sarama.Client {
	t.Helper()
	client := dial(t, c)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// dial returns a sarama client to c with the functions' configuration; the caller closes it.
func dial(t testing.TB, c *kfake.Cluster) sarama.Client {
	t.Helper()
	cfg := kafka.NewSaramaConfig("kafkatest")
	// Fetch without lingering: a test reads what is there and closes the consumer.
	cfg.Consumer.MaxWaitTime = 5 * time.Millisecond
	client, err := sarama.NewClient(c.ListenAddrs(), cfg)
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	return client
}

// Produce writes msgs to c and fails the test unless Kafka acknowledges them.
func Produce(t testing.TB, c *kfake.Cluster, msgs ...*sarama.ProducerMessage) {
	t.Helper()
	producer, err := sarama.NewSyncProducer(c.ListenAddrs(), kafka.NewSaramaConfig("kafkatest-producer"))
	if err != nil {
		t.Fatalf("kafka producer: %v", err)
	}
	defer producer.Close()
	if err := producer.SendMessages(msgs); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// Records returns every committed record in topic now (read_committed, as the functions read),
// partition by partition, each in offset order. Tests may poll it: it holds no connection once
// it returns.
func Records(t testing.TB, c *kfake.Cluster, topic string) []*sarama.ConsumerMessage {
	t.Helper()
	records, err := ReadCommitted(c.ListenAddrs(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// ReadCommitted returns every committed record in topic on brokers now, partition by
// partition, each in offset order, within 10 seconds.
func ReadCommitted(brokers []string, topic string) ([]*sarama.ConsumerMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := kafka.NewLogReader(brokers, config.KafkaAuth{}, "kafkatest", topic, 10*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	partitions, err := r.TopicPartitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	ends, err := r.Offsets(ctx, partitions, kafka.OffsetEnd, true)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	from := make(map[int32]int64, len(partitions))
	for _, p := range partitions {
		from[p] = 0
	}
	r.Add(from)
	var records []*sarama.ConsumerMessage
	for !r.CaughtUp(ends) {
		if err := r.Poll(ctx, func(m *sarama.ConsumerMessage) error {
			if m.Offset < ends[m.Partition] {
				records = append(records, m)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("reading %s up to %v: %w", topic, ends, err)
		}
	}
	slices.SortStableFunc(records, func(a, b *sarama.ConsumerMessage) int { return int(a.Partition - b.Partition) })
	return records, nil
}

// WaitCommitted waits until group has committed, on every partition of topic, the offset at the
// end of the partition: then every record in topic has been processed and its outputs stored.
func WaitCommitted(t testing.TB, c *kfake.Cluster, group, topic string, timeout time.Duration) {
	t.Helper()
	client := Client(t, c)
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatalf("kafka admin: %v", err)
	}
	Eventually(t, timeout, func() error {
		return committedToEnd(client, admin, group, topic)
	})
}

func committedToEnd(client sarama.Client, admin sarama.ClusterAdmin, group, topic string) error {
	partitions, err := client.Partitions(topic)
	if err != nil {
		return err
	}
	committed, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: partitions})
	if err != nil {
		return err
	}
	behind := map[int32]string{}
	for _, p := range partitions {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return err
		}
		at := int64(-1)
		if b := committed.GetBlock(topic, p); b != nil {
			at = b.Offset
		}
		if end > 0 && at < end {
			behind[p] = fmt.Sprintf("%d of %d", at, end)
		}
	}
	if len(behind) > 0 {
		keys := slices.Sorted(maps.Keys(behind))
		return fmt.Errorf("group %s has committed %s/%v: %v", group, topic, keys, behind)
	}
	return nil
}

// Eventually calls check every 20ms until it returns nil, failing the test with check's last
// error if that takes longer than timeout.
func Eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not within %s: %v", timeout, err)
		case <-tick.C:
		}
	}
}

// Header returns the value of the header key of m, and "" when m has none.
func Header(m *sarama.ConsumerMessage, key string) string {
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// Metric returns the value of the counter or gauge name in reg: the one without labels when
// label is empty, else the one with a label of that value. It fails the test when there is none.
func Metric(t testing.TB, reg prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label == "" && len(m.GetLabel()) == 0 {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{%s} not found", name, label)
	return 0
}

// SaramaConfig returns the functions' Kafka configuration authenticated as auth, with no
// metadata retries, so that a refusal is answered at once.
func SaramaConfig(t testing.TB, auth config.KafkaAuth) *sarama.Config {
	t.Helper()
	cfg := kafka.NewSaramaConfig("secure-test")
	cfg.Metadata.Retry.Max = 0
	if err := kafkaauth.Configure(cfg, auth); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// ProduceAs writes one record to topic as auth and returns the error the broker answers with.
func ProduceAs(t testing.TB, brokers []string, auth config.KafkaAuth, topic string) error {
	producer, err := sarama.NewSyncProducer(brokers, SaramaConfig(t, auth))
	if err != nil {
		return err
	}
	defer producer.Close()
	_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder("v")})
	return err
}

// FetchAs fetches partition 0 of topic from its start as auth, and returns the error the broker
// answers with.
func FetchAs(t testing.TB, brokers []string, auth config.KafkaAuth, topic string) error {
	client, err := sarama.NewClient(brokers, SaramaConfig(t, auth))
	if err != nil {
		return err
	}
	defer client.Close()
	leader, err := client.Leader(topic, 0)
	if err != nil {
		return err
	}
	req := &sarama.FetchRequest{Version: 4, MaxWaitTime: 1, MinBytes: 1, MaxBytes: 1 << 20}
	req.AddBlock(topic, 0, 0, 1<<20, -1)
	resp, err := leader.Fetch(req)
	if err != nil {
		return err
	}
	if block := resp.GetBlock(topic, 0); block == nil {
		return fmt.Errorf("no answer for %s/0", topic)
	} else if block.Err != sarama.ErrNoError {
		return block.Err
	}
	return nil
}

// FetchOffsetAs fetches group's committed offset of partition 0 of topic as auth, which needs
// Read on the group, and returns the error the broker answers with.
func FetchOffsetAs(t testing.TB, brokers []string, auth config.KafkaAuth, group, topic string) error {
	client, err := sarama.NewClient(brokers, SaramaConfig(t, auth))
	if err != nil {
		return err
	}
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	if err != nil {
		return err
	}
	defer om.Close()
	coordinator, err := client.Coordinator(group)
	if err != nil {
		return err
	}
	req := &sarama.OffsetFetchRequest{Version: 1, ConsumerGroup: group}
	req.AddPartition(topic, 0)
	resp, err := coordinator.FetchOffset(req)
	if err != nil {
		return err
	}
	if resp.Err != sarama.ErrNoError {
		return resp.Err
	}
	if block := resp.GetBlock(topic, 0); block != nil && block.Err != sarama.ErrNoError {
		return block.Err
	}
	return nil
}

// Consumed is msg as a consumer reads it back from the topic: key, value and headers encoded, no
// broker in between.
func Consumed(msg *sarama.ProducerMessage) *sarama.ConsumerMessage {
	out := &sarama.ConsumerMessage{Topic: msg.Topic}
	if msg.Key != nil {
		out.Key, _ = msg.Key.Encode()
	}
	if msg.Value != nil {
		out.Value, _ = msg.Value.Encode()
	}
	for i := range msg.Headers {
		out.Headers = append(out.Headers, &msg.Headers[i])
	}
	return out
}
