package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// newNodePool creates a KafkaNodePool of the Kafka cluster in ns with the given roles.
func newNodePool(t testing.TB, c *cluster, ns, cluster, name string, replicas int64, roles ...string) {
	t.Helper()
	pool := &unstructured.Unstructured{}
	pool.SetGroupVersionKind(manifests.KafkaNodePoolGVK)
	pool.SetNamespace(ns)
	pool.SetName(name)
	pool.SetLabels(map[string]string{manifests.LabelStrimziCluster: cluster})
	r := make([]any, len(roles))
	for i, role := range roles {
		r[i] = role
	}
	pool.Object["spec"] = map[string]any{"replicas": replicas, "roles": r}
	if err := c.admin.Create(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
}

// wantTopicReplicas checks the replicas and min.insync.replicas of every KafkaTopic of p.
func wantTopicReplicas(c *cluster, p *v1alpha1.RecommendationPipeline, replicas, minISR int64) error {
	return eachTopic(c, p, func(topic *unstructured.Unstructured) error {
		r, _, _ := unstructured.NestedInt64(topic.Object, "spec", "replicas")
		m, _, _ := unstructured.NestedInt64(topic.Object, "spec", "config", "min.insync.replicas")
		if r != replicas || m != minISR {
			return fmt.Errorf("%s has %d replicas, min.insync.replicas %d; want %d, %d", topic.GetName(), r, m, replicas, minISR)
		}
		return nil
	})
}

// TestTopicsFitTheBrokers runs a pipeline with default topic replicas on the single-broker
// development Kafka the documentation points at, and grows the cluster under it.
func TestTopicsFitTheBrokers(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	ns := newNamespace(t, c, nil)
	newKafka(t, c, ns, "kafka")
	newNodePool(t, c, ns, "kafka", "controllers", 3, "controller")
	newNodePool(t, c, ns, "kafka", "dual-role", 1, "controller", "broker")
	newNodePool(t, c, ns, "other", "other-brokers", 5, "broker")
	p := newPipeline(ns, "single")
	if err := c.admin.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitFor, func() error { return wantTopicReplicas(c, p, 1, 1) })
	makeReady(t, c, p)

	newNodePool(t, c, ns, "kafka", "brokers", 2, "broker")
	eventually(t, waitFor, func() error { return wantTopicReplicas(c, p, 3, 2) })
}

// TestStatusSaysWhatOthersReport checks that the pipeline's conditions carry what Strimzi, KEDA
// and the HPA controller report about its children, in their words.
func TestStatusSaysWhatOthersReport(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	ctx := context.Background()

	t.Run("Strimzi cannot make a topic", func(t *testing.T) {
		t.Parallel()
		p := readyPipeline(t, c, "topics")
		const strimzi = "org.apache.kafka.common.errors.InvalidReplicationFactorException: Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered."
		eventually(t, waitFor, func() error {
			topic := topicRef(p.Namespace, "topics-raw")
			if err := c.admin.Get(ctx, client.ObjectKeyFromObject(topic), topic); err != nil {
				return err
			}
			topic.Object["status"] = map[string]any{
				"observedGeneration": topic.GetGeneration(),
				"conditions": []any{map[string]any{
					"type": "Ready", "status": "False", "reason": "KafkaError", "message": strimzi,
					"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
				}},
			}
			return c.admin.Status().Update(ctx, topic)
		})
		eventually(t, waitFor, func() error {
			if err := wantCondition(c, p, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonTopicNotReady); err != nil {
				return err
			}
			return wantMessage(c, p, v1alpha1.ConditionTopicsReady, "KafkaTopic topics-raw: Strimzi reports it not ready: KafkaError: "+strimzi)
		})
		got, err := getPipeline(c, p)
		if err != nil {
			t.Fatal(err)
		}
		if s := got.Status.Topics[0]; s.Name != "topics-raw" || s.Ready || !strings.Contains(s.Message, "InvalidReplicationFactorException") {
			t.Errorf("status.topics[0] = %+v, want topics-raw not ready with Strimzi's message", s)
		}
	})

	t.Run("KEDA reports a ScaledObject not ready", func(t *testing.T) {
		t.Parallel()
		p := readyPipeline(t, c, "keda")
		eventually(t, waitFor, func() error {
			so := &unstructured.Unstructured{}
			so.SetGroupVersionKind(manifests.ScaledObjectGVK)
			if err := c.admin.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: "keda-clean"}, so); err != nil {
				return err
			}
			so.Object["status"] = map[string]any{"conditions": []any{map[string]any{
				"type": "Ready", "status": "False", "reason": "ScaledObjectCheckFailed", "message": "ScaledObject doesn't have correct triggers specification",
				"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			}}}
			return c.admin.Status().Update(ctx, so)
		})
		eventually(t, waitFor, func() error {
			if err := wantCondition(c, p, v1alpha1.ConditionScalingReady, metav1.ConditionFalse, v1alpha1.ReasonAutoscalerNotReady); err != nil {
				return err
			}
			return wantMessage(c, p, v1alpha1.ConditionScalingReady, "ScaledObject keda-clean: KEDA reports it not ready: ScaledObjectCheckFailed: ScaledObject doesn't have correct triggers specification.")
		})
		if err := wantCondition(c, p, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonAutoscalerNotReady); err != nil {
			t.Error(err)
		}
	})

	t.Run("an HPA cannot read its metric", func(t *testing.T) {
		t.Parallel()
		p := readyPipeline(t, c, "hpa", func(p *v1alpha1.RecommendationPipeline) { p.Spec.Scaling.Mode = v1alpha1.ScalingHPA })
		const reason, message = "FailedGetResourceMetric", "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"
		eventually(t, waitFor, func() error {
			var h autoscalingv2.HorizontalPodAutoscaler
			if err := c.admin.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: "hpa-popularity"}, &h); err != nil {
				return err
			}
			return markHPA(c, &h, corev1.ConditionFalse, reason, message)
		})
		eventually(t, waitFor, func() error {
			if err := wantCondition(c, p, v1alpha1.ConditionScalingReady, metav1.ConditionFalse, v1alpha1.ReasonAutoscalerNotReady); err != nil {
				return err
			}
			return wantMessage(c, p, v1alpha1.ConditionScalingReady, "HorizontalPodAutoscaler hpa-popularity: the HPA controller reports ScalingActive False: "+reason+": "+message+".")
		})
	})
}

// wantMessage checks that p's condition typ says message.
func wantMessage(c *cluster, p *v1alpha1.RecommendationPipeline, typ, message string) error {
	got, err := getPipeline(c, p)
	if err != nil {
		return err
	}
	if cond := meta.FindStatusCondition(got.Status.Conditions, typ); cond == nil || cond.Message != message {
		return fmt.Errorf("%s says %+v, want the message %q", typ, cond, message)
	}
	return nil
}
