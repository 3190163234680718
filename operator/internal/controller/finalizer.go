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

// FinalizerRetainTopics is the finalizer earlier builds of the operator put on pipelines with
// deletionPolicy Retain, to release their KafkaTopics before the pipeline went. The operator no
// longer adds it: a retained topic carries no owner reference at all, so garbage collection never
// deletes it, and deleting a pipeline never waits for the operator (not even when the operator was
// uninstalled first). The operator still honours it on pipelines that carry it, and removes it
// once their topics are applied without the owner reference.
const FinalizerRetainTopics = "recoflow.dev/retain-topics"

// dropFinalizer removes FinalizerRetainTopics from p, whose children have just been applied.
func (r *PipelineReconciler) dropFinalizer(ctx context.Context, p *v1alpha1.RecommendationPipeline) error {
	if !controllerutil.ContainsFinalizer(p, FinalizerRetainTopics) {
		return nil
	}
	before := p.DeepCopy()
	controllerutil.RemoveFinalizer(p, FinalizerRetainTopics)
	if err := r.Client.Patch(ctx, p, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	return nil
}

// finalize lets a deleted pipeline that still carries FinalizerRetainTopics go: with
// deletionPolicy Retain it first releases its topics.
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
