package manifests

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafkaacl"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// KafkaUserGVK is the Strimzi KafkaUser kind; Strimzi 1.x serves only v1.
var KafkaUserGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaUser"}

// KafkaUserName returns the name of a function's KafkaUser, which is also the name of the Secret
// Strimzi's User Operator writes its credentials to and, for SCRAM, the Kafka user name.
func KafkaUserName(pipeline string, role Role) string { return DeploymentName(pipeline, role) }

// KafkaUsers returns a Strimzi KafkaUser per function, in Roles order, when the pipeline
// authenticates to Kafka, and none otherwise. Each authenticates as spec.kafka.authentication
// says and is allowed, by simple-authorization ACLs, exactly what its function does
// (kafkaacl.Rules), on this pipeline's topics, groups and transactional ids only.
func KafkaUsers(p Params) []*unstructured.Unstructured {
	pl := p.Pipeline
	if !pl.Spec.Kafka.Authenticates() {
		return nil
	}
	names := ACLNames(pl)
	out := make([]*unstructured.Unstructured, 0, len(contract.Functions()))
	for _, r := range contract.Functions() {
		out = append(out, kafkaUser(pl, KafkaUserName(pl.Name, r), Labels(pl.Name, string(r)), kafkaacl.Rules(contract.Function(r), names)))
	}
	return out
}

// PluginKafkaUser returns a Strimzi KafkaUser named name that kubectl-recoflow can connect as to
// the Kafka of pipeline pl (`kubectl recoflow --kafka-user NAME`), authenticating as the
// pipeline's functions do and allowed exactly kafkaacl.PluginRules. The operator does not create
// it: a person who operates the pipeline applies it (manifests/kafka/kafkauser-plugin.yaml).
func PluginKafkaUser(pl *v1alpha1.RecommendationPipeline, name string) *unstructured.Unstructured {
	return kafkaUser(pl, name, map[string]string{LabelName: AppName, LabelInstance: pl.Name}, kafkaacl.PluginRules(ACLNames(pl)))
}

// kafkaUser returns a KafkaUser of pl's Kafka cluster named name, with labels, authenticating as
// the pipeline says and allowed rules by simple-authorization ACLs.
func kafkaUser(pl *v1alpha1.RecommendationPipeline, name string, labels map[string]string, rules []kafkaacl.Rule) *unstructured.Unstructured {
	var acls []any
	for _, rule := range rules {
		ops := make([]any, len(rule.Operations))
		for i, op := range rule.Operations {
			ops[i] = string(op)
		}
		acls = append(acls, map[string]any{
			"type":       "allow",
			"resource":   map[string]any{"type": string(rule.Type), "name": rule.Name, "patternType": string(rule.Pattern)},
			"operations": ops,
		})
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"authentication": map[string]any{"type": string(pl.Spec.Kafka.Authentication)},
			"authorization":  map[string]any{"type": "simple", "acls": acls},
		},
	}}
	u.SetGroupVersionKind(KafkaUserGVK)
	u.SetName(name)
	u.SetNamespace(pl.Namespace)
	labels[LabelStrimziCluster] = pl.Spec.Kafka.ClusterRef.Name
	u.SetLabels(labels)
	return u
}

// ACLNames returns the names of the pipeline's Kafka resources that its functions' ACLs refer to.
func ACLNames(pl *v1alpha1.RecommendationPipeline) kafkaacl.Pipeline {
	return kafkaacl.Pipeline{
		Topics: config.Topics{
			Raw:        TopicName(pl.Name, contract.TopicRaw),
			Clean:      TopicName(pl.Name, contract.TopicClean),
			DeadLetter: TopicName(pl.Name, contract.TopicDeadLetter),
			Popularity: TopicName(pl.Name, contract.TopicPopularity),
		},
		CleanGroup:      ConsumerGroup(pl.Name, contract.FunctionClean),
		PopularityGroup: ConsumerGroup(pl.Name, contract.FunctionPopularity),
	}
}
