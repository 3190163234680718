package manifests

import (
	"fmt"
	"time"

	"github.com/recoflow/recoflow/functions/contract"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// KafkaTopicGVK is the Strimzi KafkaTopic kind; Strimzi 1.x serves only v1.
var KafkaTopicGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaTopic"}

// KafkaGVK is the Strimzi Kafka cluster kind that spec.kafka.clusterRef names.
var KafkaGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "Kafka"}

// KafkaTopics returns the pipeline's four KafkaTopics, in event.TopicRoles order: raw and clean
// keep events for spec.topics.retention, the dead-letter topic for deadLetterRetention, and the
// popularity topic is compacted, keeping the latest score of every item.
func KafkaTopics(p Params) ([]*unstructured.Unstructured, error) {
	t := p.Pipeline.Spec.Topics
	retention, err := milliseconds(t.Retention)
	if err != nil {
		return nil, fmt.Errorf("spec.topics.retention: %w", err)
	}
	dlqRetention, err := milliseconds(t.DeadLetterRetention)
	if err != nil {
		return nil, fmt.Errorf("spec.topics.deadLetterRetention: %w", err)
	}
	topics := make([]*unstructured.Unstructured, 0, len(event.TopicRoles))
	for _, role := range event.TopicRoles {
		config := map[string]any{"cleanup.policy": contract.CleanupPolicy(role)}
		switch role {
		case event.TopicDeadLetter:
			config["retention.ms"] = dlqRetention
		case event.TopicRaw, event.TopicClean:
			config["retention.ms"] = retention
		}
		if t.MinInSyncReplicas != nil {
			config["min.insync.replicas"] = int64(*t.MinInSyncReplicas)
		}
		topics = append(topics, kafkaTopic(p.Pipeline, role, config))
	}
	return topics, nil
}

func kafkaTopic(pl *v1alpha1.RecommendationPipeline, role event.TopicRole, config map[string]any) *unstructured.Unstructured {
	labels := Labels(pl.Name, ComponentTopic)
	labels[LabelStrimziCluster] = pl.Spec.Kafka.ClusterRef.Name
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"topicName":  TopicName(pl.Name, role),
			"partitions": int64(pl.Spec.Topics.Partitions),
			"replicas":   int64(pl.Spec.Topics.Replicas),
			"config":     config,
		},
	}}
	u.SetGroupVersionKind(KafkaTopicGVK)
	u.SetName(TopicResourceName(pl.Name, role))
	u.SetNamespace(pl.Namespace)
	u.SetLabels(labels)
	return u
}

// milliseconds converts a duration the CRD validated into Kafka's milliseconds.
func milliseconds(d v1alpha1.Duration) (int64, error) {
	parsed, err := time.ParseDuration(string(d))
	if err != nil {
		return 0, err
	}
	return parsed.Milliseconds(), nil
}
