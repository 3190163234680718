package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafkaauth"
)

// CreateTopics creates the pipeline's topics on brokers, connecting as auth says; names maps each role to its topic
// name, each with partitions partitions and replicas replicas (-1: the broker's default), with
// the cleanup policy the contract gives the role. Topics that exist already are left as they
// are. It retries until Kafka answers or ctx ends.
func CreateTopics(ctx context.Context, brokers []string, auth config.KafkaAuth, names map[contract.TopicRole]string, partitions int32, replicas int16) error {
	cfg := NewSaramaConfig("recoflow-topics-admin")
	if err := kafkaauth.Configure(cfg, auth); err != nil {
		return err
	}
	client, err := Connect(ctx, brokers, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	for _, role := range contract.TopicRoles {
		policy := contract.CleanupPolicy(role)
		detail := &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: replicas,
			ConfigEntries: map[string]*string{"cleanup.policy": &policy}}
		if err := admin.CreateTopic(names[role], detail, false); err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", names[role], err)
		}
	}
	return nil
}
