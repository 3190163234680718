// Package contract holds, once, the names that cross a boundary between the recoflow functions,
// the operator and Kafka: the pipeline's functions, the actions table and the CloudEvent types
// made from it, topic roles, topic names and their cleanup policies, the record header names
// recoflow writes, the health paths the kubelet probes, the environment variables the operator
// sets and the functions read, the Secret keys of Kafka credentials and the popularity modes. It
// uses the standard library only, so the operator imports it without the functions'
// dependencies.
package contract

// TopicRole names the part a Kafka topic plays in the pipeline.
type TopicRole string

// The topic roles.
const (
	TopicRaw        TopicRole = "raw"
	TopicClean      TopicRole = "clean"
	TopicDeadLetter TopicRole = "dlq"
	TopicPopularity TopicRole = "popularity"
)

// TopicRoles lists every role in pipeline order.
var TopicRoles = []TopicRole{TopicRaw, TopicClean, TopicDeadLetter, TopicPopularity}

// LocalPipeline is the pipeline name of the local pipeline (`make run`), whose topics are the
// functions' defaults.
const LocalPipeline = "recoflow"

// TopicName returns the Kafka topic name of a role in a pipeline, such as
// shop.interactions.raw or shop.popularity.
func TopicName(pipeline string, role TopicRole) string {
	switch role {
	case TopicRaw, TopicClean, TopicDeadLetter:
		return pipeline + ".interactions." + string(role)
	}
	return pipeline + "." + string(role)
}

// DefaultTopic returns the topic name the local pipeline uses for a role.
func DefaultTopic(role TopicRole) string { return TopicName(LocalPipeline, role) }

// CleanupPolicy returns the cleanup.policy of a role's topic: the popularity topic is compacted,
// keeping the latest state of every item (it is popularity's changelog); the others delete old
// records.
func CleanupPolicy(role TopicRole) string {
	if role == TopicPopularity {
		return "compact"
	}
	return "delete"
}

// Health paths every function serves.
const (
	// PathHealthz answers 200 while the process is up: the liveness probe.
	PathHealthz = "/healthz"
	// PathReadyz answers 200 when the function can do its work: the readiness probe.
	PathReadyz = "/readyz"
	// PathMetrics serves the function's Prometheus metrics.
	PathMetrics = "/metrics"
)

// HeaderSubject is the Kafka header the CloudEvents Kafka binding writes the subject attribute
// to (binary content mode); recoflow keys records by it.
const HeaderSubject = "ce_subject"

// Headers that clean adds to a record it sends to the dead-letter topic. The record's own value
// and headers are kept unchanged beside them.
const (
	// HeaderDLQReason is the stable, machine-readable reason code.
	HeaderDLQReason = "recoflow_dlq_reason"
	// HeaderDLQMessage is a human-readable explanation.
	HeaderDLQMessage = "recoflow_dlq_message"
	// HeaderDLQTopic is the topic the record was read from.
	HeaderDLQTopic = "recoflow_dlq_topic"
	// HeaderDLQPartition is the partition the record was read from, in decimal.
	HeaderDLQPartition = "recoflow_dlq_partition"
	// HeaderDLQOffset is the offset the record had, in decimal.
	HeaderDLQOffset = "recoflow_dlq_offset"
	// HeaderRedrivenFrom marks a raw record that `kubectl recoflow dlq redrive` put back from the
	// dead-letter topic, naming the dead letter as topic/partition@offset.
	HeaderRedrivenFrom = "recoflow_redriven_from"
)
