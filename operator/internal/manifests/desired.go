package manifests

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Desired returns every object the pipeline is made of, in a stable order: KafkaTopics,
// KafkaUsers (when the pipeline authenticates to Kafka), Deployments, Services,
// PodDisruptionBudgets, NetworkPolicies (unless disabled), then the TriggerAuthentications and
// ScaledObjects, or HorizontalPodAutoscalers, of Params.Autoscaler. Each carries its apiVersion, kind, namespace and the pipeline's labels;
// the apply path adds the owner reference.
func Desired(p Params) ([]client.Object, error) {
	topics, err := KafkaTopics(p)
	if err != nil {
		return nil, err
	}
	var out []client.Object
	out = appendObjects(out, topics)
	out = appendObjects(out, KafkaUsers(p))
	out = appendObjects(out, Deployments(p))
	out = appendObjects(out, Services(p))
	out = appendObjects(out, PodDisruptionBudgets(p))
	out = appendObjects(out, NetworkPolicies(p))
	out = appendObjects(out, TriggerAuthentications(p))
	out = appendObjects(out, ScaledObjects(p))
	out = appendObjects(out, HorizontalPodAutoscalers(p))
	return out, nil
}

func appendObjects[T client.Object](out []client.Object, objs []T) []client.Object {
	for _, o := range objs {
		out = append(out, o)
	}
	return out
}
