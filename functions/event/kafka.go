package event

// ExtensionSegment is the CloudEvent extension attribute that clean attaches: the audience segment
// of the acting user, "<age band>.<gender>" such as "25-34.f", when the event carries data.user.
const ExtensionSegment = "segment"

// Headers that clean adds to a record it sends to the dead-letter topic. The record's own value and
// headers are kept unchanged beside them.
const (
	// HeaderDLQReason is the stable, machine-readable reason code (see Reason).
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

// TopicRole names the part a Kafka topic plays in the pipeline.
type TopicRole string

// The topic roles, and the local default topic name of each.
const (
	TopicRaw        TopicRole = "raw"
	TopicClean      TopicRole = "clean"
	TopicDeadLetter TopicRole = "dlq"
	TopicPopularity TopicRole = "popularity"
)

// TopicRoles lists every role in pipeline order.
var TopicRoles = []TopicRole{TopicRaw, TopicClean, TopicDeadLetter, TopicPopularity}

// DefaultTopic returns the topic name the local pipeline uses for a role.
func DefaultTopic(role TopicRole) string {
	switch role {
	case TopicRaw:
		return "recoflow.interactions.raw"
	case TopicClean:
		return "recoflow.interactions.clean"
	case TopicDeadLetter:
		return "recoflow.interactions.dlq"
	case TopicPopularity:
		return "recoflow.popularity"
	}
	return ""
}
