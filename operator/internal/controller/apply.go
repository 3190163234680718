package controller

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// Reasons of the events the operator records besides condition transitions.
const (
	// ReasonPruned says children no longer desired, such as the autoscalers of another scaling
	// mode, were deleted.
	ReasonPruned = "Pruned"
	// ReasonTopicsRetained says a deleted pipeline left its KafkaTopics, and their data, in place.
	ReasonTopicsRetained = "TopicsRetained"
)

// outcome is what applying a plan left in the cluster.
type outcome struct {
	// live are the children as the API server last returned them, by childKey of the desired
	// child; a child that could not be applied is missing.
	live map[string]client.Object
	// err joins every error met.
	err error
	// kafkaAccess says whether the functions' Kafka credentials and CA are in place.
	kafkaAccess metav1.Condition
}

// apply deletes p's children that are no longer desired, such as its HorizontalPodAutoscalers
// once KEDA scales it, then makes every desired child exist as desired and owned by p.
//
// Pruning comes first: two autoscalers must never target one Deployment, and KEDA's admission
// webhook refuses a ScaledObject for a Deployment that an HPA still scales.
func (r *PipelineReconciler) apply(ctx context.Context, p *v1alpha1.RecommendationPipeline, pl plan) outcome {
	o := outcome{live: make(map[string]client.Object, len(pl.desired))}
	var errs []error
	if err := r.prune(ctx, p, pl); err != nil {
		// Apply what can be: every other child is independent of what is left to prune.
		errs = append(errs, err)
	}
	for _, desired := range pl.desired {
		live, err := r.applyOne(ctx, p, desired)
		if err != nil {
			errs = append(errs, fmt.Errorf("apply %s: %w", childKey(desired), err))
			continue
		}
		o.live[childKey(desired)] = live
	}
	o.err = errors.Join(errs...)
	return o
}

// applyOne applies desired with server-side apply as FieldManager, owned by owner (see ownedBy),
// unless the live object already is what that apply would make it: at steady state it writes
// nothing. Fields the operator applied before and no longer desires are removed by the apply;
// fields other managers own, such as the replica count an autoscaler sets, are left alone. It
// returns the object as the API server last returned it, typed like desired.
func (r *PipelineReconciler) applyOne(ctx context.Context, owner *v1alpha1.RecommendationPipeline, desired client.Object) (client.Object, error) {
	owned := desired.DeepCopyObject().(client.Object)
	if ownedBy(owner, desired) {
		if err := controllerutil.SetControllerReference(owner, owned, r.Scheme); err != nil {
			return nil, err
		}
	}
	applied, err := intent(owned)
	if err != nil {
		return nil, err
	}
	live := newLike(desired)
	switch err := r.cache.Get(ctx, client.ObjectKeyFromObject(desired), live); {
	case err == nil && upToDate(live, applied):
		return live, nil
	case err != nil && !apierrors.IsNotFound(err):
		return nil, err
	}
	err = r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied),
		client.FieldOwner(FieldManager), client.ForceOwnership)
	if err != nil {
		return nil, err
	}
	if _, ok := desired.(*unstructured.Unstructured); ok {
		return applied, nil
	}
	out := newLike(desired)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(applied.Object, out); err != nil {
		return nil, err
	}
	return out, nil
}

// prune deletes p's children that are no longer desired, of every child kind the cluster serves
// but those that hold data: KafkaTopics are never pruned.
func (r *PipelineReconciler) prune(ctx context.Context, p *v1alpha1.RecommendationPipeline, pl plan) error {
	keep := make(map[string]bool, len(pl.desired))
	for _, d := range pl.desired {
		keep[childKey(d)] = true
	}
	var pruned []string
	var errs []error
	for _, k := range childKinds() {
		if k.retained {
			continue
		}
		list, err := r.childList(k)
		if err != nil || list == nil {
			errs = append(errs, err)
			continue
		}
		err = r.cache.List(ctx, list, client.InNamespace(p.Namespace), client.MatchingLabels(manifests.OwnedLabels(p.Name)))
		if err != nil {
			errs = append(errs, fmt.Errorf("list children to prune: %w", err))
			continue
		}
		err = meta.EachListItem(list, func(o runtime.Object) error {
			obj := o.(client.Object)
			name := describe(obj, r.Scheme)
			if keep[name] || !metav1.IsControlledBy(obj, p) {
				return nil
			}
			uid := obj.GetUID()
			if err := r.Client.Delete(ctx, obj, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("prune %s: %w", name, err)
			}
			pruned = append(pruned, name)
			return nil
		})
		errs = append(errs, err)
	}
	if len(pruned) > 0 {
		ctrl.LoggerFrom(ctx).Info("pruned children no longer desired", "children", pruned)
		r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, ReasonPruned, "Prune", "Deleted %s: no longer desired", strings.Join(pruned, ", "))
	}
	return errors.Join(errs...)
}

// childList returns an empty list of kind k to read into, or nil when the cluster does not serve
// the kind, so that there is nothing of it to prune.
func (r *PipelineReconciler) childList(k childKind) (client.ObjectList, error) {
	if k.object == nil {
		served, err := r.optionalAvailable(k.gvk)
		if err != nil || !served {
			return nil, err
		}
		return listOf(k.gvk), nil
	}
	obj, err := r.Scheme.New(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", k.gvk.Kind, err)
	}
	return obj.(client.ObjectList), nil
}

// newLike returns an empty object of obj's kind to read into.
func newLike(obj client.Object) client.Object {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		out := &unstructured.Unstructured{}
		out.SetGroupVersionKind(u.GroupVersionKind())
		return out
	}
	return reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
}

// listOf returns an empty list of gvk's objects to read into, for kinds the operator reads
// unstructured.
func listOf(gvk schema.GroupVersionKind) *unstructured.UnstructuredList {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	return list
}

// childKey names a desired child by kind and name, such as "Deployment shop-ingest". The
// builders set the kind of every object they return.
func childKey(desired client.Object) string {
	return desired.GetObjectKind().GroupVersionKind().Kind + " " + desired.GetName()
}

// describe names any object by kind and name, the way childKey names desired ones.
func describe(obj client.Object, scheme *runtime.Scheme) string {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		gvk = schema.GroupVersionKind{Kind: fmt.Sprintf("%T", obj)}
	}
	return gvk.Kind + " " + obj.GetName()
}
