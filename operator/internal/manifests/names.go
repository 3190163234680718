package manifests

import (
	"github.com/recoflow/recoflow/functions/contract"

	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// Role is one of a pipeline's three functions.
type Role string

// The functions of a pipeline, each a Deployment named <pipeline>-<role>.
const (
	RoleIngest     Role = "ingest"
	RoleClean      Role = "clean"
	RolePopularity Role = "popularity"
)

// Roles returns the functions in the order events flow through them.
func Roles() []Role { return []Role{RoleIngest, RoleClean, RolePopularity} }

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

// TopicName returns the Kafka topic name of a role, such as shop.interactions.raw.
func TopicName(pipeline string, role event.TopicRole) string {
	return contract.TopicName(pipeline, role)
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
