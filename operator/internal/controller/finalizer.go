package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// FinalizerRetainTopics holds a pipeline with deletionPolicy Retain back from deletion until its
// KafkaTopics no longer name it as their owner, so that garbage collection leaves them, and the
// data in them, in place. A pipeline with deletionPolicy Delete has no finalizer: its topics go
// with it.
const FinalizerRetainTopics = "recoflow.dev/retain-topics"

// syncFinalizer adds the finalizer to a pipeline that retains its topics and removes it from one
// that does not.
func (r *PipelineReconciler) syncFinalizer(ctx context.Context, p *v1alpha1.RecommendationPipeline) error {
	retain := p.Spec.DeletionPolicy != v1alpha1.DeletionDelete
	if controllerutil.ContainsFinalizer(p, FinalizerRetainTopics) == retain {
		return nil
	}
	before := p.DeepCopy()
	if retain {
		controllerutil.AddFinalizer(p, FinalizerRetainTopics)
	} else {
		controllerutil.RemoveFinalizer(p, FinalizerRetainTopics)
	}
	if err := r.Client.Patch(ctx, p, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("update finalizers: %w", err)
	}
	return nil
}

// finalize lets a deleted pipeline go: with deletionPolicy Retain it first releases its topics.
func (r *PipelineReconciler) finalize(ctx context.Context, p *v1alpha1.RecommendationPipeline) error {
	if !controllerutil.ContainsFinalizer(p, FinalizerRetainTopics) {
		return nil
	}
	if p.Spec.DeletionPolicy != v1alpha1.DeletionDelete {
		if err := r.releaseTopics(ctx, p); err != nil {
			return err
		}
	}
	before := p.DeepCopy()
	controllerutil.RemoveFinalizer(p, FinalizerRetainTopics)
	err := r.Client.Patch(ctx, p, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	return nil
}

// releaseTopics removes p from the owners of its KafkaTopics. It reads them from the API server,
// not the cache: a topic the cache has not seen yet would otherwise be garbage collected.
func (r *PipelineReconciler) releaseTopics(ctx context.Context, p *v1alpha1.RecommendationPipeline) error {
	served, _, err := r.apis.available(manifests.KafkaTopicGVK)
	if err != nil || !served {
		return err
	}
	topics := listOf(manifests.KafkaTopicGVK)
	err = r.apiReader.List(ctx, topics, client.InNamespace(p.Namespace), client.MatchingLabels(manifests.OwnedLabels(p.Name)))
	if err != nil {
		return fmt.Errorf("list KafkaTopics to retain: %w", err)
	}
	var released []string
	for i := range topics.Items {
		t := &topics.Items[i]
		owned := false
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			refs := withoutOwner(t.GetOwnerReferences(), p.UID)
			if owned = len(refs) < len(t.GetOwnerReferences()); !owned {
				return nil
			}
			t.SetOwnerReferences(refs)
			err := r.Client.Update(ctx, t)
			if apierrors.IsConflict(err) {
				if err := r.apiReader.Get(ctx, client.ObjectKeyFromObject(t), t); err != nil {
					return err
				}
			}
			return err
		})
		if client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("release KafkaTopic %s: %w", t.GetName(), err)
		}
		if owned && err == nil {
			released = append(released, t.GetName())
		}
	}
	if len(released) > 0 {
		r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, ReasonTopicsRetained, "Delete",
			"Kept KafkaTopics %s and their data: deletionPolicy is Retain", strings.Join(released, ", "))
	}
	return nil
}

// withoutOwner returns refs without the reference to the owner with uid.
func withoutOwner(refs []metav1.OwnerReference, uid types.UID) []metav1.OwnerReference {
	out := make([]metav1.OwnerReference, 0, len(refs))
	for _, ref := range refs {
		if ref.UID != uid {
			out = append(out, ref)
		}
	}
	return out
}
