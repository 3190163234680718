package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// childKind is a kind of object a pipeline is made of. The controller owns and watches it, caches
// only the objects of it that carry the managed-by label, and prunes those a pipeline no longer
// desires. Adding a kind to the operator is a builder in package manifests, added to
// manifests.Desired, and one entry in childKinds.
type childKind struct {
	gvk schema.GroupVersionKind
	// object is an empty object of a built-in kind, which every cluster serves, watched from the
	// start; nil for the kinds of other operators, read unstructured and watched from the moment
	// the cluster serves them.
	object client.Object
	// retained is set for kinds that hold data: they are never pruned, and a pipeline with
	// deletionPolicy Retain does not own them, so that garbage collection leaves them in place.
	retained bool
}

// childKinds are every kind of child, in the order the builders return them.
func childKinds() []childKind {
	return []childKind{
		{gvk: manifests.KafkaTopicGVK, retained: true},
		{gvk: manifests.KafkaUserGVK},
		{gvk: appsv1.SchemeGroupVersion.WithKind("Deployment"), object: &appsv1.Deployment{}},
		{gvk: corev1.SchemeGroupVersion.WithKind("Service"), object: &corev1.Service{}},
		{gvk: policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"), object: &policyv1.PodDisruptionBudget{}},
		{gvk: networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), object: &networkingv1.NetworkPolicy{}},
		{gvk: manifests.TriggerAuthenticationGVK},
		{gvk: manifests.ScaledObjectGVK},
		{gvk: autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"), object: &autoscalingv2.HorizontalPodAutoscaler{}},
	}
}

// ownedBy reports whether the pipeline p owns its child desired: every child, but those of a
// retained kind only with deletionPolicy Delete.
func ownedBy(p *v1alpha1.RecommendationPipeline, desired client.Object) bool {
	gvk := desired.GetObjectKind().GroupVersionKind()
	for _, k := range childKinds() {
		if k.gvk == gvk && k.retained {
			return p.Spec.DeletionPolicy == v1alpha1.DeletionDelete
		}
	}
	return true
}
