package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/recoflow/recoflow/test/standin/broker"
)

// topicFinalizer is the finalizer Strimzi's Topic Operator puts on KafkaTopics, so that deleting one
// deletes its topic.
const topicFinalizer = "strimzi.io/topic-operator"

// Strimzi's reasons on a KafkaTopic's Ready condition.
const (
	// reasonKafkaError: Kafka refused the change; the message is the Kafka exception.
	reasonKafkaError = "KafkaError"
	// reasonNotSupported: the change cannot be made to an existing topic (fewer partitions).
	reasonNotSupported = "NotSupported"
)

// kafkaExceptions are the Java exception classes Kafka answers these errors with, as Strimzi's
// messages name them.
var kafkaExceptions = map[sarama.KError]string{
	sarama.ErrInvalidReplicationFactor: "org.apache.kafka.common.errors.InvalidReplicationFactorException",
	sarama.ErrInvalidPartitions:        "org.apache.kafka.common.errors.InvalidPartitionsException",
	sarama.ErrInvalidConfig:            "org.apache.kafka.common.errors.InvalidConfigurationException",
	sarama.ErrPolicyViolation:          "org.apache.kafka.common.errors.PolicyViolationException",
}

// topicReconciler keeps the topics of one Kafka cluster's KafkaTopics on its broker and reports them
// in status.observedGeneration, status.topicName and a Ready condition, as Strimzi's Topic Operator does.
type topicReconciler struct {
	client  client.Client
	broker  *broker.Admin
	cluster string
}

// topicSpec is what a KafkaTopic asks for.
type topicSpec struct {
	name       string
	partitions int32
	replicas   int16
	config     map[string]*string
}

// Reconcile makes the KafkaTopic's topic and reports it.
func (r *topicReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	kt := object(kafkaTopicGVK)
	if err := r.client.Get(ctx, req.NamespacedName, kt); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	spec := readTopicSpec(kt)
	if !kt.GetDeletionTimestamp().IsZero() {
		if !controllerutil.ContainsFinalizer(kt, topicFinalizer) {
			return ctrl.Result{}, nil
		}
		err := r.broker.Do(func(a sarama.ClusterAdmin) error { return a.DeleteTopic(spec.name) })
		if err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			return ctrl.Result{}, fmt.Errorf("delete topic %s: %w", spec.name, err)
		}
		controllerutil.RemoveFinalizer(kt, topicFinalizer)
		return ctrl.Result{}, client.IgnoreNotFound(r.client.Update(ctx, kt))
	}
	if controllerutil.AddFinalizer(kt, topicFinalizer) {
		if err := r.client.Update(ctx, kt); err != nil {
			return ctrl.Result{}, err
		}
	}

	ready := condition{Type: "Ready", Status: "True"}
	err := r.broker.Do(func(a sarama.ClusterAdmin) error { return ensureTopic(a, spec) })
	var refused *refusal
	switch {
	case errors.As(err, &refused):
		ready = condition{Type: "Ready", Status: "False", Reason: refused.reason, Message: refused.message}
	case err != nil:
		// The broker cannot be reached: Strimzi keeps the last status and retries.
		return ctrl.Result{}, err
	}
	status := map[string]any{
		"observedGeneration": kt.GetGeneration(),
		"topicName":          spec.name,
		"conditions":         []any{ready.merge(kt)},
	}
	if err := setStatus(ctx, r.client, kt, status); err != nil {
		return ctrl.Result{}, err
	}
	if refused != nil {
		// Strimzi retries failed topics on its periodic reconciliation.
		return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
	}
	return ctrl.Result{}, nil
}

func readTopicSpec(kt *unstructured.Unstructured) topicSpec {
	s := topicSpec{name: kt.GetName(), partitions: 1, replicas: 1, config: map[string]*string{}}
	if n, _, _ := unstructured.NestedString(kt.Object, "spec", "topicName"); n != "" {
		s.name = n
	}
	if p, ok, _ := unstructured.NestedInt64(kt.Object, "spec", "partitions"); ok {
		s.partitions = int32(p)
	}
	if r, ok, _ := unstructured.NestedInt64(kt.Object, "spec", "replicas"); ok {
		s.replicas = int16(r)
	}
	config, _, _ := unstructured.NestedMap(kt.Object, "spec", "config")
	for k, v := range config {
		value := fmt.Sprint(v)
		if f, ok := v.(float64); ok {
			value = strconv.FormatFloat(f, 'f', -1, 64)
		}
		s.config[k] = &value
	}
	return s
}

// refusal is Kafka or Strimzi refusing a topic, reported on the KafkaTopic instead of retried.
type refusal struct{ reason, message string }

func (r *refusal) Error() string { return r.reason + ": " + r.message }

// ensureTopic creates the topic, or grows its partitions and sets its configuration.
func ensureTopic(a sarama.ClusterAdmin, s topicSpec) error {
	metas, err := a.DescribeTopics([]string{s.name})
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", s.name, err)
	}
	if len(metas) != 1 {
		return fmt.Errorf("describe topic %s: %d answers", s.name, len(metas))
	}
	switch meta := metas[0]; {
	case errors.Is(meta.Err, sarama.ErrUnknownTopicOrPartition):
		err := a.CreateTopic(s.name, &sarama.TopicDetail{NumPartitions: s.partitions, ReplicationFactor: s.replicas, ConfigEntries: s.config}, false)
		return kafkaRefusal(err, s)
	case meta.Err != sarama.ErrNoError:
		return fmt.Errorf("describe topic %s: %w", s.name, meta.Err)
	case int32(len(meta.Partitions)) > s.partitions:
		return &refusal{reasonNotSupported, "Decreasing partitions not supported"}
	case int32(len(meta.Partitions)) < s.partitions:
		if err := kafkaRefusal(a.CreatePartitions(s.name, s.partitions, nil, false), s); err != nil {
			return err
		}
	}
	entries := map[string]sarama.IncrementalAlterConfigsEntry{}
	for _, k := range sortedKeys(s.config) {
		entries[k] = sarama.IncrementalAlterConfigsEntry{Operation: sarama.IncrementalAlterConfigsOperationSet, Value: s.config[k]}
	}
	if len(entries) == 0 {
		return nil
	}
	return kafkaRefusal(a.IncrementalAlterConfig(sarama.TopicResource, s.name, entries, false), s)
}

// kafkaRefusal turns Kafka's answer to a topic change into Strimzi's KafkaError, naming the Kafka
// exception and its message as Kafka writes it.
func kafkaRefusal(err error, s topicSpec) error {
	var kerr sarama.KError
	var terr *sarama.TopicError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &terr):
		kerr = terr.Err
	case !errors.As(err, &kerr):
		return err
	}
	if kerr == sarama.ErrTopicAlreadyExists {
		return nil
	}
	exception, ok := kafkaExceptions[kerr]
	if !ok {
		return err
	}
	message := kerr.Error()
	if kerr == sarama.ErrInvalidReplicationFactor {
		message = fmt.Sprintf("Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only 1 broker(s) are registered.", s.replicas, s.replicas)
	}
	return &refusal{reasonKafkaError, exception + ": " + message}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// condition is a Strimzi status condition.
type condition struct {
	Type, Status, Reason, Message string
}

// merge returns the condition as Strimzi writes it, keeping the last transition time of obj's
// condition of the same type and status.
func (c condition) merge(obj *unstructured.Unstructured) map[string]any {
	transition := time.Now().UTC().Format(time.RFC3339)
	old, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, o := range old {
		if m, ok := o.(map[string]any); ok && m["type"] == c.Type && m["status"] == c.Status {
			if t, ok := m["lastTransitionTime"].(string); ok {
				transition = t
			}
		}
	}
	out := map[string]any{"type": c.Type, "status": c.Status, "lastTransitionTime": transition}
	if c.Reason != "" {
		out["reason"] = c.Reason
	}
	if c.Message != "" {
		out["message"] = c.Message
	}
	return out
}

// setStatus replaces obj's status with status, unless it already is.
func setStatus(ctx context.Context, c client.Client, obj *unstructured.Unstructured, status map[string]any) error {
	if old, ok := obj.Object["status"]; ok && fmt.Sprint(old) == fmt.Sprint(status) {
		return nil
	}
	obj.Object["status"] = status
	if err := c.Status().Update(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("status of %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}
