package controller

import (
	"context"
	"fmt"
	"math"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// plan is what one reconcile sets out to do: the children a pipeline should have, or why it
// cannot have them yet.
type plan struct {
	// blocked says why nothing can be applied yet; nil when the children can be.
	blocked *blocker
	// params built desired.
	params manifests.Params
	// desired are the children, in the builders' order.
	desired []client.Object
	// kedaMissing is set when scaling.mode is KEDA and the cluster does not serve ScaledObjects.
	kedaMissing bool
	// recheck is set when a kind was found not served just after its CRD changed: the plan may
	// be out of date as soon as the API server catches up.
	recheck bool
}

// blocker is something outside the operator's reach that a pipeline waits for.
type blocker struct {
	reason, message string
}

// plan checks what the pipeline needs from the cluster, Strimzi and its Kafka cluster, and
// builds the children it should have.
func (r *PipelineReconciler) plan(ctx context.Context, p *v1alpha1.RecommendationPipeline) (plan, error) {
	var recheck bool
	available := func(gvk schema.GroupVersionKind) (bool, error) {
		served, settling, err := r.apis.available(gvk)
		recheck = recheck || settling
		return served, err
	}
	for _, gvk := range []schema.GroupVersionKind{manifests.KafkaTopicGVK, manifests.KafkaGVK} {
		served, err := available(gvk)
		if err != nil {
			return plan{}, err
		}
		if !served {
			return plan{recheck: recheck, blocked: &blocker{v1alpha1.ReasonStrimziNotInstalled, fmt.Sprintf(
				"the cluster does not serve %s: install Strimzi (1.x, API kafka.strimzi.io/v1)", gvk.Kind)}}, nil
		}
	}

	cluster := &metav1.PartialObjectMetadata{}
	cluster.SetGroupVersionKind(manifests.KafkaGVK)
	key := client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Kafka.ClusterRef.Name}
	switch err := r.cache.Get(ctx, key, cluster); {
	case apierrors.IsNotFound(err):
		return plan{blocked: &blocker{v1alpha1.ReasonKafkaClusterNotFound, fmt.Sprintf(
			"no Kafka %q in namespace %q: spec.kafka.clusterRef must name a Strimzi Kafka cluster",
			key.Name, key.Namespace)}}, nil
	case err != nil:
		return plan{}, fmt.Errorf("get Kafka %s: %w", key, err)
	}

	keda, err := available(manifests.ScaledObjectGVK)
	if err != nil {
		return plan{}, err
	}
	brokers, err := r.brokers(ctx, p)
	if err != nil {
		return plan{}, err
	}
	autoscaler, ok := manifests.ResolveAutoscaler(p.Spec.Scaling.Mode, keda)
	params := manifests.Params{
		Pipeline: p, Images: r.Images, Autoscaler: autoscaler, Brokers: brokers,
		ClusterDomain: r.ClusterDomain, ImagePullSecrets: r.ImagePullSecrets,
	}
	desired, err := manifests.Desired(params)
	if err != nil {
		// The CRD's validation admits no spec the builders refuse; say so if one slips through.
		return plan{blocked: &blocker{v1alpha1.ReasonApplyFailed, err.Error()}}, nil
	}
	return plan{params: params, desired: desired, kedaMissing: !ok, recheck: recheck}, nil
}

// brokers returns how many brokers the pipeline's Kafka cluster has: the replicas of its
// KafkaNodePools with the broker role. It is 0 when the cluster serves no KafkaNodePools or the
// Kafka has none, and the builders then assume a cluster large enough for the defaults.
func (r *PipelineReconciler) brokers(ctx context.Context, p *v1alpha1.RecommendationPipeline) (int32, error) {
	served, err := r.optionalAvailable(manifests.KafkaNodePoolGVK)
	if err != nil || !served {
		return 0, err
	}
	pools := listOf(manifests.KafkaNodePoolGVK)
	err = r.cache.List(ctx, pools, client.InNamespace(p.Namespace),
		client.MatchingLabels{manifests.LabelStrimziCluster: p.Spec.Kafka.ClusterRef.Name})
	if err != nil {
		return 0, fmt.Errorf("list the KafkaNodePools of Kafka %s: %w", p.Spec.Kafka.ClusterRef.Name, err)
	}
	var brokers int64
	for _, pool := range pools.Items {
		roles, _, _ := unstructured.NestedStringSlice(pool.Object, "spec", "roles")
		if replicas, _, _ := unstructured.NestedInt64(pool.Object, "spec", "replicas"); slices.Contains(roles, "broker") {
			brokers += replicas
		}
	}
	return int32(min(brokers, math.MaxInt32)), nil
}

// optionalAvailable reports whether the cluster serves gvk, watching it from then on.
func (r *PipelineReconciler) optionalAvailable(gvk schema.GroupVersionKind) (bool, error) {
	served, _, err := r.apis.available(gvk)
	return served, err
}
