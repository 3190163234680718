package manifests

import (
	"strings"

	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// Role is one of a pipeline's Deployments: ingest, clean, and popularity's two tiers.
type Role string

// The roles of a pipeline, each a Deployment named <pipeline>-<role>. RolePopularity is
// popularity's scoring tier, the consumer; RoleServing is its serving tier, the HTTP API.
const (
	RoleIngest     Role = "ingest"
	RoleClean      Role = "clean"
	RolePopularity Role = "popularity"
	RoleServing    Role = "popularity-serving"
)

// Roles returns the roles in the order events flow through them.
func Roles() []Role { return []Role{RoleIngest, RoleClean, RolePopularity, RoleServing} }

// Labels every child carries, and the values the operator gives them.
const (
	// LabelPipeline names the pipeline a child belongs to; the apply path lists children by it
	// to prune the ones no longer desired.
	LabelPipeline = "recoflow.dev/pipeline"
	// LabelStrimziCluster tells Strimzi's topic operator which Kafka cluster a KafkaTopic is for.
	LabelStrimziCluster = "strimzi.io/cluster"

	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelManagedBy = "app.kubernetes.io/managed-by"

	// AppName is the app.kubernetes.io/name and part-of of every child.
	AppName = "recoflow"
	// ManagedBy is the app.kubernetes.io/managed-by of every child.
	ManagedBy = "recoflow-operator"
	// ComponentTopic is the app.kubernetes.io/component of the KafkaTopics.
	ComponentTopic = "topic"
)

// ClusterDomain is the DNS suffix of in-cluster Service names.
const ClusterDomain = "cluster.local"

// Name returns the name of a pipeline's child: <pipeline>-<part>.
func Name(pipeline, part string) string { return pipeline + "-" + part }

// DeploymentName returns the name of a function's Deployment, which its Service, PDB and
// autoscaler share.
func DeploymentName(pipeline string, role Role) string { return Name(pipeline, string(role)) }

// TopicResourceName returns the name of the KafkaTopic resource of a topic role.
func TopicResourceName(pipeline string, role event.TopicRole) string {
	return Name(pipeline, string(role))
}

// TopicName returns the Kafka topic name of a role: the local default with the pipeline's name in
// place of "recoflow", such as shop.interactions.raw.
func TopicName(pipeline string, role event.TopicRole) string {
	return pipeline + strings.TrimPrefix(event.DefaultTopic(role), "recoflow")
}

// ConsumerGroup returns the Kafka consumer group of a consuming function: <pipeline>-<role>.
func ConsumerGroup(pipeline string, role Role) string { return Name(pipeline, string(role)) }

// OwnedLabels returns the label that marks every child of a pipeline, for listing them.
func OwnedLabels(pipeline string) map[string]string {
	return map[string]string{LabelPipeline: pipeline}
}

// Labels returns the labels of a pipeline's child that plays the given component.
func Labels(pipeline, component string) map[string]string {
	return map[string]string{
		LabelName:      AppName,
		LabelInstance:  pipeline,
		LabelComponent: component,
		LabelPartOf:    AppName,
		LabelManagedBy: ManagedBy,
		LabelPipeline:  pipeline,
	}
}

// SelectorLabels returns the labels that select a function's pods. They never change, since a
// Deployment's selector cannot.
func SelectorLabels(pipeline string, role Role) map[string]string {
	return map[string]string{
		LabelName:      AppName,
		LabelInstance:  pipeline,
		LabelComponent: string(role),
	}
}

// BootstrapServers returns the Kafka bootstrap servers of a pipeline: spec.kafka.bootstrapServers,
// or by Strimzi's convention <cluster>-kafka-bootstrap:9092.
func BootstrapServers(p *v1alpha1.RecommendationPipeline) string {
	if s := p.Spec.Kafka.BootstrapServers; s != "" {
		return s
	}
	return p.Spec.Kafka.ClusterRef.Name + "-kafka-bootstrap:9092"
}

// Endpoints returns the in-cluster URLs of a pipeline's ingest and popularity Services.
func Endpoints(p *v1alpha1.RecommendationPipeline) v1alpha1.Endpoints {
	url := func(role Role) string {
		return "http://" + DeploymentName(p.Name, role) + "." + p.Namespace + ".svc." + ClusterDomain
	}
	return v1alpha1.Endpoints{Ingest: url(RoleIngest), Popularity: url(RolePopularity)}
}
