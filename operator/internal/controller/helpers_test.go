package controller_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// waitFor bounds how long the operator may take to react to a change in these tests.
const waitFor = 30 * time.Second

// namespaces numbers the namespaces tests create, so that every test has its own.
var namespaces atomic.Int64

// newNamespace creates a namespace with labels for one test.
func newNamespace(t testing.TB, c *cluster, labels map[string]string) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", namespaces.Add(1), strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))
	name = strings.TrimRight(name[:min(len(name), 63)], "-")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.admin.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return name
}

// newKafka creates the Strimzi Kafka cluster name in namespace ns.
func newKafka(t testing.TB, c *cluster, ns, name string) {
	t.Helper()
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(manifests.KafkaGVK)
	k.SetNamespace(ns)
	k.SetName(name)
	k.Object["spec"] = map[string]any{"kafka": map[string]any{"replicas": int64(3)}}
	if err := c.admin.Create(context.Background(), k); err != nil {
		t.Fatal(err)
	}
}

// newPipeline returns a pipeline on the Kafka cluster "kafka", changed by opts.
func newPipeline(ns, name string, opts ...func(*v1alpha1.RecommendationPipeline)) *v1alpha1.RecommendationPipeline {
	p := &v1alpha1.RecommendationPipeline{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.RecommendationPipelineSpec{
			Kafka: v1alpha1.KafkaSpec{ClusterRef: v1alpha1.ClusterReference{Name: "kafka"}},
		},
	}
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// createPipeline creates a pipeline on a new Kafka cluster in a new namespace.
func createPipeline(t testing.TB, c *cluster, name string, opts ...func(*v1alpha1.RecommendationPipeline)) *v1alpha1.RecommendationPipeline {
	t.Helper()
	ns := newNamespace(t, c, nil)
	newKafka(t, c, ns, "kafka")
	p := newPipeline(ns, name, opts...)
	if err := c.admin.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// readyPipeline creates a pipeline and plays Strimzi and the Deployment controller until it is
// Ready.
func readyPipeline(t testing.TB, c *cluster, name string, opts ...func(*v1alpha1.RecommendationPipeline)) *v1alpha1.RecommendationPipeline {
	t.Helper()
	p := createPipeline(t, c, name, opts...)
	makeReady(t, c, p)
	return p
}

// makeReady plays Strimzi and the Deployment controller for p until p is Ready.
func makeReady(t testing.TB, c *cluster, p *v1alpha1.RecommendationPipeline) {
	t.Helper()
	eventually(t, waitFor, func() error {
		if err := markTopicsReady(c, p); err != nil {
			return err
		}
		if err := markDeploymentsAvailable(c, p); err != nil {
			return err
		}
		if err := markAutoscalersReady(c, p); err != nil {
			return err
		}
		return wantCondition(c, p, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled)
	})
}

// markAutoscalersReady reports p's ScaledObjects Ready, as KEDA does, and its
// HorizontalPodAutoscalers able to scale, as the HPA controller does.
func markAutoscalersReady(c *cluster, p *v1alpha1.RecommendationPipeline) error {
	ctx := context.Background()
	scaledObjects, err := children(c, p, manifests.ScaledObjectGVK)
	if err != nil && !meta.IsNoMatchError(err) {
		return err
	}
	for _, so := range scaledObjects {
		if err := markScaledObjectReady(c, so); err != nil {
			return err
		}
	}
	var hpas autoscalingv2.HorizontalPodAutoscalerList
	if err := c.admin.List(ctx, &hpas, client.InNamespace(p.Namespace), client.MatchingLabels(manifests.OwnedLabels(p.Name))); err != nil {
		return err
	}
	for i := range hpas.Items {
		if err := markHPA(c, &hpas.Items[i], corev1.ConditionTrue, "ValidMetricFound", "the HPA was able to compute the replica count"); err != nil {
			return err
		}
	}
	return nil
}

// markScaledObjectReady reports so Ready and not active, as KEDA does for a ScaledObject it
// accepted whose triggers have nothing to scale on.
func markScaledObjectReady(c *cluster, so *unstructured.Unstructured) error {
	if ready, _ := conditionStatus(so, "Ready"); ready == "True" {
		return nil
	}
	now := time.Now().UTC().Format(time.RFC3339)
	so.Object["status"] = map[string]any{"conditions": []any{
		map[string]any{"type": "Ready", "status": "True", "reason": "ScaledObjectReady", "message": "ScaledObject is defined correctly and is ready for scaling", "lastTransitionTime": now},
		map[string]any{"type": "Active", "status": "False", "reason": "ScalerNotActive", "message": "Scaling is not performed because triggers are not active", "lastTransitionTime": now},
	}}
	return c.admin.Status().Update(context.Background(), so)
}

// markHPA sets the HPA's ScalingActive condition as the HPA controller would, and AbleToScale True.
func markHPA(c *cluster, h *autoscalingv2.HorizontalPodAutoscaler, active corev1.ConditionStatus, reason, message string) error {
	for _, cond := range h.Status.Conditions {
		if cond.Type == autoscalingv2.ScalingActive && cond.Status == active && cond.Reason == reason {
			return nil
		}
	}
	now := metav1.Now()
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: 1, DesiredReplicas: 1,
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale", LastTransitionTime: now},
			{Type: autoscalingv2.ScalingActive, Status: active, Reason: reason, Message: message, LastTransitionTime: now},
		},
	}
	return c.admin.Status().Update(context.Background(), h)
}

// conditionStatus returns the status and reason of the condition typ of an object another
// controller reports on.
func conditionStatus(u *unstructured.Unstructured, typ string) (status, reason string) {
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		if c, _ := c.(map[string]any); c["type"] == typ {
			status, _ = c["status"].(string)
			reason, _ = c["reason"].(string)
		}
	}
	return status, reason
}

// markTopicsReady reports p's KafkaTopics Ready, as Strimzi's topic operator does.
func markTopicsReady(c *cluster, p *v1alpha1.RecommendationPipeline) error {
	return eachTopic(c, p, func(t *unstructured.Unstructured) error { return markTopicReady(c, t) })
}

// eachTopic calls check with each of p's four KafkaTopics, and returns its first error.
func eachTopic(c *cluster, p *v1alpha1.RecommendationPipeline, check func(*unstructured.Unstructured) error) error {
	topics, err := children(c, p, manifests.KafkaTopicGVK)
	if err != nil {
		return err
	}
	if len(topics) != 4 {
		return fmt.Errorf("%d KafkaTopics, want 4", len(topics))
	}
	for _, t := range topics {
		if err := check(t); err != nil {
			return err
		}
	}
	return nil
}

func markTopicReady(c *cluster, t *unstructured.Unstructured) error {
	observed, _, _ := unstructured.NestedInt64(t.Object, "status", "observedGeneration")
	if observed == t.GetGeneration() {
		return nil
	}
	t.Object["status"] = map[string]any{
		"observedGeneration": t.GetGeneration(),
		"topicName":          t.Object["spec"].(map[string]any)["topicName"],
		"conditions": []any{map[string]any{
			"type": "Ready", "status": "True", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
		}},
	}
	return c.admin.Status().Update(context.Background(), t)
}

// markDeploymentsAvailable reports p's Deployments rolled out and available, as the Deployment
// controller does.
// perRole is how many of each per-role child a pipeline has: Deployments, PDBs, autoscalers.
var perRole = len(contract.Functions())

func markDeploymentsAvailable(c *cluster, p *v1alpha1.RecommendationPipeline) error {
	var list appsv1.DeploymentList
	if err := c.admin.List(context.Background(), &list, client.InNamespace(p.Namespace),
		client.MatchingLabels(manifests.OwnedLabels(p.Name))); err != nil {
		return err
	}
	if len(list.Items) != perRole {
		return fmt.Errorf("%d Deployments, want %d", len(list.Items), perRole)
	}
	for i := range list.Items {
		if err := markDeploymentAvailable(c, &list.Items[i]); err != nil {
			return err
		}
	}
	return nil
}

func markDeploymentAvailable(c *cluster, d *appsv1.Deployment) error {
	n := *d.Spec.Replicas
	if d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas == n {
		return nil
	}
	now := metav1.Now()
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: now, LastTransitionTime: now},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: now, LastTransitionTime: now},
		},
	}
	return c.admin.Status().Update(context.Background(), d)
}

// children returns p's children of kind gvk, found by their pipeline label.
func children(c *cluster, p *v1alpha1.RecommendationPipeline, gvk schema.GroupVersionKind) ([]*unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.admin.List(context.Background(), list, client.InNamespace(p.Namespace),
		client.MatchingLabels(manifests.OwnedLabels(p.Name))); err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// Kinds of the children, for listing them.
var (
	deploymentGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")
	serviceGVK    = corev1.SchemeGroupVersion.WithKind("Service")
	pdbGVK        = schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}
	hpaGVK        = schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}
)

// childKinds are every kind of child a pipeline may have.
func childKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{manifests.KafkaTopicGVK, deploymentGVK, serviceGVK, pdbGVK, hpaGVK, manifests.ScaledObjectGVK}
}

// countChildren returns how many children of kind gvk p has.
func countChildren(c *cluster, p *v1alpha1.RecommendationPipeline, gvk schema.GroupVersionKind) (int, error) {
	objs, err := children(c, p, gvk)
	return len(objs), err
}

// wantChildren checks that p has exactly want children of each kind in it.
func wantChildren(c *cluster, p *v1alpha1.RecommendationPipeline, want map[schema.GroupVersionKind]int) error {
	for gvk, n := range want {
		got, err := countChildren(c, p, gvk)
		if err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("%d %ss, want %d", got, gvk.Kind, n)
		}
	}
	return nil
}

// getPipeline reads p afresh.
func getPipeline(c *cluster, p *v1alpha1.RecommendationPipeline) (*v1alpha1.RecommendationPipeline, error) {
	var got v1alpha1.RecommendationPipeline
	err := c.admin.Get(context.Background(), client.ObjectKeyFromObject(p), &got)
	return &got, err
}

// wantCondition checks that p's condition typ has status and reason, for p's current generation.
func wantCondition(c *cluster, p *v1alpha1.RecommendationPipeline, typ string, status metav1.ConditionStatus, reason string) error {
	got, err := getPipeline(c, p)
	if err != nil {
		return err
	}
	if got.Status.ObservedGeneration != got.Generation {
		return fmt.Errorf("status.observedGeneration %d, generation %d", got.Status.ObservedGeneration, got.Generation)
	}
	cond := meta.FindStatusCondition(got.Status.Conditions, typ)
	if cond == nil {
		return fmt.Errorf("no %s condition in %+v", typ, got.Status.Conditions)
	}
	if cond.Status != status || cond.Reason != reason || cond.ObservedGeneration != got.Generation {
		return fmt.Errorf("%s = %s/%s (generation %d): %q, want %s/%s (generation %d)",
			typ, cond.Status, cond.Reason, cond.ObservedGeneration, cond.Message, status, reason, got.Generation)
	}
	return nil
}

// updatePipeline changes p with change, retrying on conflicts, and returns the updated pipeline.
func updatePipeline(t testing.TB, c *cluster, p *v1alpha1.RecommendationPipeline, change func(*v1alpha1.RecommendationPipeline)) *v1alpha1.RecommendationPipeline {
	t.Helper()
	var got *v1alpha1.RecommendationPipeline
	eventually(t, waitFor, func() error {
		var err error
		if got, err = getPipeline(c, p); err != nil {
			return err
		}
		change(got)
		return c.admin.Update(context.Background(), got)
	})
	return got
}

// wantEvent checks that an event with reason and type was recorded on p.
func wantEvent(c *cluster, p *v1alpha1.RecommendationPipeline, eventType, reason string) error {
	var list eventsv1.EventList
	if err := c.admin.List(context.Background(), &list, client.InNamespace(p.Namespace)); err != nil {
		return err
	}
	var seen []string
	for _, e := range list.Items {
		if e.Regarding.Name != p.Name || e.Regarding.Kind != "RecommendationPipeline" {
			continue
		}
		if e.Type == eventType && e.Reason == reason {
			return nil
		}
		seen = append(seen, e.Type+"/"+e.Reason)
	}
	return fmt.Errorf("no %s event %s on %s; events: %v", eventType, reason, p.Name, seen)
}

// ownedBy checks that obj is controlled by p.
func ownedBy(obj metav1.Object, p *v1alpha1.RecommendationPipeline) error {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.UID != p.UID || ref.Kind != "RecommendationPipeline" || ref.Name != p.Name {
		return fmt.Errorf("%s: controller reference %+v, want pipeline %s (%s)", obj.GetName(), ref, p.Name, p.UID)
	}
	return nil
}
