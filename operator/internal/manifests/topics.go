package manifests

import (
	"fmt"
	"time"

	"github.com/recoflow/recoflow/functions/contract"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// KafkaTopicGVK is the Strimzi KafkaTopic kind; Strimzi 1.x serves only v1.
var KafkaTopicGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaTopic"}

// KafkaGVK is the Strimzi Kafka cluster kind that spec.kafka.clusterRef names.
var KafkaGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "Kafka"}

// KafkaNodePoolGVK is the Strimzi kind of a Kafka cluster's groups of nodes, labelled
// strimzi.io/cluster with the cluster's name; the replicas of those with the broker role are its
// brokers.
var KafkaNodePoolGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaNodePool"}

// KafkaTopics returns the pipeline's four KafkaTopics, in contract.TopicRoles order: raw and clean
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
	replicas, minISR := p.TopicReplicas(), p.MinInSyncReplicas()
	if minISR > replicas {
		return nil, fmt.Errorf("spec.topics.minInSyncReplicas %d exceeds the %d replicas of each partition: no write could ever be acknowledged", minISR, replicas)
	}
	topics := make([]*unstructured.Unstructured, 0, len(contract.TopicRoles))
	for _, role := range contract.TopicRoles {
		config := map[string]any{"cleanup.policy": contract.CleanupPolicy(role)}
		switch role {
		case contract.TopicDeadLetter:
			config["retention.ms"] = dlqRetention
		case contract.TopicRaw, contract.TopicClean:
			config["retention.ms"] = retention
		}
		config["min.insync.replicas"] = int64(minISR)
		topics = append(topics, kafkaTopic(p.Pipeline, role, replicas, config))
	}
	return topics, nil
}

// TopicReplicas returns how many brokers hold a copy of each partition: spec.topics.replicas, or
// else v1alpha1.DefaultTopicReplicas capped at the brokers of the Kafka cluster when they are
// known, so that the default works on a single-broker development cluster too.
func (p Params) TopicReplicas() int32 {
	if r := p.Pipeline.Spec.Topics.Replicas; r > 0 {
		return r
	}
	if p.Brokers > 0 {
		return min(v1alpha1.DefaultTopicReplicas, p.Brokers)
	}
	return v1alpha1.DefaultTopicReplicas
}

// MinInSyncReplicas returns how many copies must have a write before Kafka acknowledges it to a
// producer with acks=all, as ingest's is: spec.topics.minInSyncReplicas, or else one less than
// the replicas and at most 2, so that an acknowledged write survives the loss of a broker
// whenever there are at least 2 replicas, and one broker can be down without stopping writes.
func (p Params) MinInSyncReplicas() int32 {
	if m := p.Pipeline.Spec.Topics.MinInSyncReplicas; m != nil {
		return *m
	}
	return max(1, min(2, p.TopicReplicas()-1))
}

func kafkaTopic(pl *v1alpha1.RecommendationPipeline, role contract.TopicRole, replicas int32, config map[string]any) *unstructured.Unstructured {
	labels := Labels(pl.Name, ComponentTopic)
	labels[LabelStrimziCluster] = pl.Spec.Kafka.ClusterRef.Name
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"topicName":  TopicName(pl.Name, role),
			"partitions": int64(pl.Spec.Topics.Partitions),
			"replicas":   int64(replicas),
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
