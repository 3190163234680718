package controller

import (
	"encoding/json"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// mutate copies onto live the fields of desired that the operator owns, kind by kind. It leaves
// everything else alone: the defaults the API server filled in, the fields other controllers and
// people set, and the replica count an autoscaler chose. So mutating a live object that already
// matches desired changes nothing, and apply then writes nothing.
//
// Most fields are owned as a whole but compared leniently (see own): the API server defaults
// fields inside them. Selectors are owned exactly, since an extra label changes what they select.
func mutate(live, desired client.Object) {
	live.SetLabels(merged(live.GetLabels(), desired.GetLabels()))
	annotations := merged(live.GetAnnotations(), desired.GetAnnotations())
	for _, key := range manifests.ConditionalAnnotations() {
		if _, ok := desired.GetAnnotations()[key]; !ok {
			delete(annotations, key)
		}
	}
	live.SetAnnotations(annotations)

	switch d := desired.(type) {
	case *appsv1.Deployment:
		l := live.(*appsv1.Deployment)
		l.Spec.Replicas = manifests.Replicas(d, l.Spec.Replicas)
		own(&l.Spec.Strategy, d.Spec.Strategy)
		own(&l.Spec.Template, d.Spec.Template)
	case *corev1.Service:
		l := live.(*corev1.Service)
		own(&l.Spec.Type, d.Spec.Type)
		own(&l.Spec.Ports, d.Spec.Ports)
		ownExactly(&l.Spec.Selector, d.Spec.Selector)
	case *policyv1.PodDisruptionBudget:
		l := live.(*policyv1.PodDisruptionBudget)
		own(&l.Spec.MaxUnavailable, d.Spec.MaxUnavailable)
		own(&l.Spec.UnhealthyPodEvictionPolicy, d.Spec.UnhealthyPodEvictionPolicy)
		ownExactly(&l.Spec.Selector, d.Spec.Selector)
	case *autoscalingv2.HorizontalPodAutoscaler:
		l := live.(*autoscalingv2.HorizontalPodAutoscaler)
		own(&l.Spec, d.Spec)
	case *unstructured.Unstructured: // KafkaTopic, ScaledObject: the operator owns their spec.
		l := live.(*unstructured.Unstructured)
		spec := l.Object["spec"]
		own(&spec, d.Object["spec"])
		l.Object["spec"] = spec
	}
}

// merged returns live with every entry of desired set, or nil when both are empty.
func merged(live, desired map[string]string) map[string]string {
	if len(desired) == 0 {
		return live
	}
	out := make(map[string]string, len(live)+len(desired))
	for k, v := range live {
		out[k] = v
	}
	for k, v := range desired {
		out[k] = v
	}
	return out
}

// own sets *live to desired unless live already has every value desired sets. Fields desired
// leaves empty, which the API server may default, do not count; a list must have desired's
// length, element by element. A live value that already covers desired stays untouched, defaults
// and all.
func own[T any](live *T, desired T) {
	if !covers(asJSON(*live), asJSON(desired)) {
		*live = deepCopy(desired)
	}
}

// ownExactly sets *live to desired unless they are equal.
func ownExactly[T any](live *T, desired T) {
	if !equality.Semantic.DeepEqual(*live, desired) {
		*live = deepCopy(desired)
	}
}

// covers reports whether the JSON value live has every value desired sets.
func covers(live, desired any) bool {
	switch d := desired.(type) {
	case nil:
		return true
	case string:
		return d == "" || live == d
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return len(d) == 0 && live == nil
		}
		for k, dv := range d {
			if !covers(l[k], dv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok {
			return len(d) == 0 && live == nil
		}
		if len(l) != len(d) {
			return false
		}
		for i := range d {
			if !covers(l[i], d[i]) {
				return false
			}
		}
		return true
	default:
		return live == desired
	}
}

// asJSON returns v as the generic JSON value it encodes to, decoded the way the API server
// decodes objects: the fields it sets, with Kubernetes' JSON names, quantities in canonical form
// and whole numbers as int64.
func asJSON(v any) any {
	return deepCopy[any](v)
}

// deepCopy returns a copy of v through its JSON encoding, sharing no memory with v.
func deepCopy[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // Kubernetes API types and unstructured content always encode.
	}
	var out T
	if err := utiljson.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
