package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/IBM/sarama"
)

// NewSaramaConfig returns the sarama settings every recoflow Kafka client starts from. clientID
// names the client in broker logs and quotas; it is usually InstanceID plus a role.
//
// The producer is idempotent with acks=all and one request in flight per broker, so a retried
// batch is neither duplicated nor reordered. Every recoflow producer uses the same partitioner,
// so one item id maps to the same partition number on every topic of equal size (the clean and
// popularity topics rely on this to be co-partitioned). Consumers start a new group at the
// oldest offset and commit only offsets the caller marks. Callers may adjust the result, for
// example to add a transactional id.
func NewSaramaConfig(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	// A Kafka 4.x protocol level turns on the idempotent and transactional producers; sarama still
	// negotiates each request down to what the broker supports.
	c.Version = sarama.V4_1_0_0
	c.ClientID = clientID

	c.Net.DialTimeout = 5 * time.Second
	c.Net.MaxOpenRequests = 1
	c.Metadata.AllowAutoTopicCreation = false
	c.Metadata.Retry.Max = 3
	c.Metadata.Retry.Backoff = 250 * time.Millisecond

	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Retry.Max = 10
	c.Producer.Retry.BackoffFunc = func(retries, _ int) time.Duration { return backoff(retries, 50*time.Millisecond, time.Second) }
	c.Producer.Partitioner = sarama.NewHashPartitioner

	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.AutoCommit.Enable = true
	c.Consumer.Offsets.AutoCommit.Interval = time.Second
	c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	return c
}

// ClientID returns the Kafka client id of one client of a function replica: the instance id (the
// host name when it is empty) followed by the client's role, such as "clean-7f9c-consumer".
func ClientID(instance, role string) string {
	return instanceID(instance) + "-" + role
}

// instanceID returns id, or the host name when id is empty, or "recoflow" when that is unknown.
func instanceID(id string) string {
	if id == "" {
		id, _ = os.Hostname()
	}
	if id == "" {
		return "recoflow"
	}
	return id
}

// Connect opens a sarama client to brokers, retrying with backoff while no broker answers, until
// it succeeds or ctx ends. Each failed attempt is logged.
func Connect(ctx context.Context, brokers []string, cfg *sarama.Config, log *slog.Logger) (sarama.Client, error) {
	for attempt := 0; ; attempt++ {
		client, err := sarama.NewClient(brokers, cfg)
		if err == nil {
			return client, nil
		}
		wait := backoff(attempt, 250*time.Millisecond, 10*time.Second)
		log.WarnContext(ctx, "kafka not reachable yet", "brokers", brokers, "client", cfg.ClientID, "retry_in", wait, "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to kafka %v: %w", brokers, err)
		case <-time.After(wait):
		}
	}
}

// backoff returns the exponential delay before retry number attempt (from 0), starting at base
// and capped at limit.
func backoff(attempt int, base, limit time.Duration) time.Duration {
	d := base
	for range attempt {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}
