package controller_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// TestCacheHoldsOnlyWhatTheOperatorMade checks that the operator's informers hold the children it
// made and not the cluster's other Deployments, Services or KafkaTopics, while it still sees
// every Kafka cluster and node pool, which are not its own.
func TestCacheHoldsOnlyWhatTheOperatorMade(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	ctx := context.Background()
	p := createPipeline(t, c, "cached")
	ns := p.Namespace
	newNodePool(t, c, ns, "kafka", "brokers", 3, "broker")

	labels := map[string]string{"app": "someone-else"}
	foreign := []client.Object{
		&appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "someone-else", Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Replicas: ptr.To[int32](0),
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}},
				},
			},
		},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "someone-else", Labels: labels},
			Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}},
		},
		foreignTopic(ns),
	}
	for _, o := range foreign {
		if err := c.admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// Once the operator's cache holds a child made after the foreign objects, it has seen them.
	eventually(t, waitFor, func() error {
		var list appsv1.DeploymentList
		if err := c.cache.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(list.Items) != perRole {
			return fmt.Errorf("the operator's cache holds %d Deployments, want the pipeline's %d", len(list.Items), perRole)
		}
		return nil
	})
	for _, o := range foreign {
		got := o.DeepCopyObject().(client.Object)
		if err := c.cache.Get(ctx, client.ObjectKeyFromObject(o), got); err == nil {
			t.Errorf("the operator's cache holds %T %s, which it did not make", o, o.GetName())
		}
	}
	pools := &unstructured.UnstructuredList{}
	pools.SetGroupVersionKind(manifests.KafkaNodePoolGVK.GroupVersion().WithKind("KafkaNodePoolList"))
	eventually(t, waitFor, func() error {
		if err := c.cache.List(ctx, pools, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(pools.Items) != 1 {
			return fmt.Errorf("the operator's cache holds %d KafkaNodePools, want 1", len(pools.Items))
		}
		return nil
	})
}

// foreignTopic returns a KafkaTopic someone else made in ns.
func foreignTopic(ns string) *unstructured.Unstructured {
	u := topicRef(ns, "someone-else")
	u.SetLabels(map[string]string{manifests.LabelStrimziCluster: "kafka"})
	u.Object["spec"] = map[string]any{"partitions": int64(1), "replicas": int64(1)}
	return u
}
