package manifests

import (
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/recoflow/recoflow/functions/contract"
)

// ScaledObjectGVK is the KEDA ScaledObject kind.
var ScaledObjectGVK = schema.GroupVersionKind{Group: "keda.sh", Version: "v1alpha1", Kind: "ScaledObject"}

// AnnotationKEDAPausedReplicas pauses a ScaledObject at a fixed replica count; a suspended
// pipeline pauses its ScaledObjects at zero so KEDA does not scale the functions back up.
const AnnotationKEDAPausedReplicas = "autoscaling.keda.sh/paused-replicas"

// ScaledObjects returns a KEDA ScaledObject per role, in Roles order. Clean and popularity
// scoring scale on their consumer group's lag on the topic they read, spec.scaling.lagThreshold
// per replica and never beyond the partition count, counting from the earliest offset as the
// functions do; with replicas.min 0 they scale to zero once they have had no lag for
// spec.scaling.cooldownPeriod, and the first record wakes them (see ActivationLagThreshold).
// Ingest and popularity serving, which consume nothing, scale on CPU.
// It returns none unless Params.Autoscaler is AutoscalerKEDA.
func ScaledObjects(p Params) []*unstructured.Unstructured {
	if p.Autoscaler != AutoscalerKEDA {
		return nil
	}
	pl := p.Pipeline
	lag := strconv.Itoa(int(pl.Spec.Scaling.LagThreshold))
	kafka := func(r Role, topic contract.TopicRole) map[string]any {
		metadata := map[string]any{
			"bootstrapServers": p.BootstrapServers(),
			"consumerGroup":    ConsumerGroup(pl.Name, r),
			"topic":            TopicName(pl.Name, topic),
			"lagThreshold":     lag,
			// Where the functions start reading a partition their group has no offset for: a
			// backlog on a new group is lag, to scale out on.
			"offsetResetPolicy": "earliest",
			// Any lag at all wakes a consumer scaled to zero.
			"activationLagThreshold": strconv.Itoa(ActivationLagThreshold),
		}
		trigger := map[string]any{"type": "kafka", "metadata": metadata}
		security, authRef := kafkaTriggerSecurity(pl, r)
		for k, v := range security {
			metadata[k] = v
		}
		if authRef != nil {
			trigger["authenticationRef"] = authRef
		}
		return trigger
	}
	cpu := map[string]any{
		"type":       "cpu",
		"metricType": "Utilization",
		"metadata":   map[string]any{"value": strconv.Itoa(TargetCPUUtilization)},
	}
	return []*unstructured.Unstructured{
		scaledObject(p, contract.FunctionIngest, cpu),
		scaledObject(p, contract.FunctionClean, kafka(contract.FunctionClean, contract.TopicRaw)),
		scaledObject(p, contract.FunctionPopularity, kafka(contract.FunctionPopularity, contract.TopicClean)),
		scaledObject(p, contract.FunctionPopularityServing, cpu),
	}
}

func scaledObject(p Params, r Role, trigger map[string]any) *unstructured.Unstructured {
	pl := p.Pipeline
	lo, hi := p.replicaRange(r)
	polling, cooldown := kedaTiming(pl)
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"scaleTargetRef":  map[string]any{"name": DeploymentName(pl.Name, r)},
			"pollingInterval": polling,
			"cooldownPeriod":  cooldown,
			"minReplicaCount": int64(lo),
			"maxReplicaCount": int64(hi),
			"triggers":        []any{trigger},
		},
	}}
	u.SetGroupVersionKind(ScaledObjectGVK)
	u.SetName(DeploymentName(pl.Name, r))
	u.SetNamespace(pl.Namespace)
	u.SetLabels(Labels(pl.Name, string(r)))
	if pl.Spec.Suspend {
		u.SetAnnotations(map[string]string{AnnotationKEDAPausedReplicas: "0"})
	}
	return u
}
