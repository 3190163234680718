// Package controller reconciles RecommendationPipelines: it applies the objects the manifests
// builders describe through one path, prunes the autoscalers no longer described, and reports
// what it observed in the pipeline's status.
package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// ControllerName names the controller in logs and metrics, and is the reporting controller of
// the events it records.
const ControllerName = "recommendationpipeline"

// PipelineReconciler makes the cluster match each RecommendationPipeline: Strimzi KafkaTopics,
// the functions' Deployments, Services, PodDisruptionBudgets and NetworkPolicies, KafkaUsers when
// the pipeline authenticates to Kafka, and KEDA ScaledObjects (with TriggerAuthentications) or
// HorizontalPodAutoscalers, all owned by the pipeline.
//
// Set the exported fields, then call SetupWithManager before the manager starts. Client, Scheme
// and Recorder default to the manager's.
type PipelineReconciler struct {
	// Client reads pipelines and writes every object.
	Client client.Client
	// Scheme knows the pipeline and the built-in child kinds; it sets owner references.
	Scheme *runtime.Scheme
	// Recorder records events on pipelines.
	Recorder events.EventRecorder
	// Images are the function images of pipelines that name none.
	Images manifests.Images
	// ImagePullSecrets are the pull secrets of the function images of pipelines that name none.
	ImagePullSecrets []corev1.LocalObjectReference
	// ClusterDomain is the DNS suffix of the cluster's Service names; empty means
	// manifests.DefaultClusterDomain.
	ClusterDomain string
	// MaxConcurrentReconciles is how many pipelines are reconciled at once; 0 means 1.
	MaxConcurrentReconciles int
	// Wrap, when set, wraps the reconciler the controller runs, to observe every reconcile, as
	// tests that count reconciles do.
	Wrap func(reconcile.Reconciler) reconcile.Reconciler
	// Freshness reads how fresh a pipeline's rankings are; nil leaves freshness unreported.
	Freshness FreshnessReader
	// FreshnessInterval is how often freshness is measured; 0 means DefaultFreshnessInterval.
	FreshnessInterval time.Duration

	// cache reads children, typed or not, from the manager's informers.
	cache client.Reader
	// apiReader reads around the cache, where being behind is not an option.
	apiReader client.Reader
	// apis tells which Strimzi and KEDA kinds the cluster serves, and watches them.
	apis *optionalAPIs
}

// The operator's permissions, from which controller-gen generates its ClusterRole. Children are
// applied server-side (patch, and create for the first apply); only KafkaTopics are updated, to
// release them from a deleted pipeline, and never deleted: every other child a pipeline no longer
// desires is pruned.
//
// +kubebuilder:rbac:groups=recoflow.dev,resources=recommendationpipelines,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=recoflow.dev,resources=recommendationpipelines/status,verbs=patch
// +kubebuilder:rbac:groups=recoflow.dev,resources=recommendationpipelines/finalizers,verbs=update
// +kubebuilder:rbac:groups=kafka.strimzi.io,resources=kafkatopics,verbs=get;list;watch;create;patch;update
// +kubebuilder:rbac:groups=kafka.strimzi.io,resources=kafkas;kafkanodepools,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=keda.sh,resources=scaledobjects,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=kafka.strimzi.io,resources=kafkausers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=keda.sh,resources=triggerauthentications,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
//
// Secrets: only get, and only of their metadata (PartialObjectMetadata), to say in the status
// which Kafka credentials or CA Secret a pipeline still waits for. The operator never reads a
// Secret's data: the kubelet mounts them into the functions' pods.
//
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
//
// Leader election takes a lease and records core events.
//
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile brings one pipeline's children to what its spec describes and reports their state.
func (r *PipelineReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var p v1alpha1.RecommendationPipeline
	if err := r.Client.Get(ctx, req.NamespacedName, &p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, ignoreStale(r.finalize(ctx, &p))
	}
	pl, err := r.plan(ctx, &p)
	if err != nil {
		return ctrl.Result{}, err
	}
	var o outcome
	if pl.blocked == nil {
		o = r.apply(ctx, &p, pl)
		o.kafkaAccess = r.kafkaAccess(ctx, &p, o)
		if o.err == nil {
			if err := r.dropFinalizer(ctx, &p); err != nil {
				return ctrl.Result{}, ignoreStale(err)
			}
		}
	}
	return r.report(ctx, &p, pl, o)
}

// SetupWithManager registers the reconciler with mgr. It watches pipelines and every child kind,
// so that a deleted or edited child is restored, and the CRDs of the Strimzi and KEDA kinds, which
// it watches from the moment the cluster serves them, even when that is after the manager started.
func (r *PipelineReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.Scheme == nil {
		r.Scheme = mgr.GetScheme()
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder(ControllerName)
	}
	r.cache = mgr.GetCache()
	r.apiReader = mgr.GetAPIReader()
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.RecommendationPipeline{},
		clusterRefField, clusterRefOf); err != nil {
		return fmt.Errorf("index pipelines by Kafka cluster: %w", err)
	}

	// Children found by their pipeline label: a retained KafkaTopic has no owner reference.
	labelled := handler.EnqueueRequestsFromMapFunc(pipelineOfChild)
	optional := map[schema.GroupVersionKind]kindWatch{
		manifests.KafkaGVK: {
			handler:      handler.EnqueueRequestsFromMapFunc(r.pipelinesOnCluster),
			metadataOnly: true,
		},
		manifests.KafkaNodePoolGVK: {handler: handler.EnqueueRequestsFromMapFunc(r.pipelinesOnPool)},
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&v1alpha1.RecommendationPipeline{})
	for _, k := range childKinds() {
		if k.object != nil {
			b = b.Owns(k.object)
		} else {
			optional[k.gvk] = kindWatch{handler: labelled}
		}
	}
	r.apis = newOptionalAPIs(mgr.GetRESTMapper(), mgr.GetCache(), optional)
	c, err := b.
		Watches(crdMetadata(), r.apis.crdHandler(r.allPipelines),
			builder.WithPredicates(predicate.NewPredicateFuncs(isOptionalCRD))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Build(r.reconciler())
	if err != nil {
		return fmt.Errorf("build the %s controller: %w", ControllerName, err)
	}
	r.apis.controller = c
	return nil
}

// reconciler returns r, wrapped by Wrap when it is set.
func (r *PipelineReconciler) reconciler() reconcile.Reconciler {
	if r.Wrap != nil {
		return r.Wrap(r)
	}
	return r
}

// ignoreStale drops a conflict: the pipeline changed since the cache saw it, and its watch brings
// the new version to be reconciled.
func ignoreStale(err error) error {
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// clusterRefField indexes pipelines by the name of their Strimzi Kafka cluster.
const clusterRefField = "spec.kafka.clusterRef.name"

func clusterRefOf(obj client.Object) []string {
	return []string{obj.(*v1alpha1.RecommendationPipeline).Spec.Kafka.ClusterRef.Name}
}

// pipelinesOnCluster returns the pipelines that run on the Kafka cluster kafka.
func (r *PipelineReconciler) pipelinesOnCluster(ctx context.Context, kafka client.Object) []reconcile.Request {
	return r.pipelines(ctx, client.InNamespace(kafka.GetNamespace()),
		client.MatchingFields{clusterRefField: kafka.GetName()})
}

// pipelineOfChild returns the pipeline whose label child carries.
func pipelineOfChild(_ context.Context, child client.Object) []reconcile.Request {
	name := child.GetLabels()[manifests.LabelPipeline]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: child.GetNamespace(), Name: name}}}
}

// pipelinesOnPool returns the pipelines that run on the Kafka cluster of the KafkaNodePool pool.
func (r *PipelineReconciler) pipelinesOnPool(ctx context.Context, pool client.Object) []reconcile.Request {
	return r.pipelines(ctx, client.InNamespace(pool.GetNamespace()),
		client.MatchingFields{clusterRefField: pool.GetLabels()[manifests.LabelStrimziCluster]})
}

// allPipelines returns every pipeline.
func (r *PipelineReconciler) allPipelines(ctx context.Context) []reconcile.Request {
	return r.pipelines(ctx)
}

func (r *PipelineReconciler) pipelines(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var list v1alpha1.RecommendationPipelineList
	if err := r.cache.List(ctx, &list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list pipelines")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}
