package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/contract"
)

// CreateTopics creates the pipeline's topics on brokers, names maps each role to its topic
// name, each with partitions partitions and replicas replicas (-1: the broker's default), with
// the cleanup policy the contract gives the role. Topics that exist already are left as they
// are. It retries until Kafka answers or ctx ends.
func CreateTopics(ctx context.Context, brokers []string, names map[contract.TopicRole]string, partitions int32, replicas int16) error {
	client, err := Connect(ctx, brokers, NewSaramaConfig("recoflow-topics-admin"), slog.New(slog.DiscardHandler))
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
