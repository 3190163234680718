package manifests

import (
	"strconv"
	"strings"

	"github.com/recoflow/recoflow/functions/contract"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// Role is one of a pipeline's Deployments, each named <pipeline>-<role>: a function of the
// contract (ingest, clean, and popularity's scoring and serving tiers).
type Role = contract.Function

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

// DefaultClusterDomain is the DNS suffix of in-cluster Service names in most clusters; the
// operator's --cluster-domain flag names another.
const DefaultClusterDomain = "cluster.local"

// Name returns the name of a pipeline's child: <pipeline>-<part>.
func Name(pipeline, part string) string { return pipeline + "-" + part }

// DeploymentName returns the name of a function's Deployment, which its Service, PDB and
// autoscaler share.
func DeploymentName(pipeline string, role Role) string { return Name(pipeline, string(role)) }

// TopicResourceName returns the name of the KafkaTopic resource of a topic role.
func TopicResourceName(pipeline string, role contract.TopicRole) string {
	return Name(pipeline, string(role))
}

// TopicName returns the Kafka topic name of a role, such as shop.interactions.raw.
func TopicName(pipeline string, role contract.TopicRole) string {
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

// BootstrapServers returns the Kafka bootstrap servers of the pipeline, every host a fully
// qualified Service name, so that clients in any namespace (KEDA's scaler runs in KEDA's) reach
// it: spec.kafka.bootstrapServers with each bare host name completed to
// <host>.<namespace>.svc.<cluster domain>, or by Strimzi's convention
// <cluster>-kafka-bootstrap.<namespace>.svc.<cluster domain>:9092.
func (p Params) BootstrapServers() string {
	pl := p.Pipeline
	servers := pl.Spec.Kafka.BootstrapServers
	if servers == "" {
		port := StrimziPlainPort
		if pl.Spec.Kafka.TLSEnabled() {
			port = StrimziTLSPort
		}
		servers = pl.Spec.Kafka.ClusterRef.Name + "-kafka-bootstrap:" + strconv.Itoa(port)
	}
	hosts := strings.Split(servers, ",")
	for i, hostPort := range hosts {
		hostPort = strings.TrimSpace(hostPort)
		host, port, found := strings.Cut(hostPort, ":")
		if !strings.Contains(host, ".") && host != "localhost" {
			host = p.serviceHost(host)
		}
		if found {
			host += ":" + port
		}
		hosts[i] = host
	}
	return strings.Join(hosts, ",")
}

// serviceHost returns the fully qualified name of the Service name in the pipeline's namespace.
func (p Params) serviceHost(name string) string {
	return name + "." + p.Pipeline.Namespace + ".svc." + p.clusterDomain()
}

// clusterDomain returns Params.ClusterDomain, or DefaultClusterDomain when it is empty.
func (p Params) clusterDomain() string {
	if p.ClusterDomain != "" {
		return p.ClusterDomain
	}
	return DefaultClusterDomain
}

// Endpoints returns the in-cluster URLs of the pipeline's ingest and popularity Services.
func (p Params) Endpoints() v1alpha1.Endpoints {
	url := func(role Role) string { return "http://" + p.serviceHost(DeploymentName(p.Pipeline.Name, role)) }
	return v1alpha1.Endpoints{Ingest: url(contract.FunctionIngest), Popularity: url(contract.FunctionPopularity)}
}
