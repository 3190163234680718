package event

import (
	"strings"

	"github.com/recoflow/recoflow/functions/contract"
)

// ExtensionSegment is the CloudEvent extension attribute that clean attaches: the audience segment
// of the acting user, "<age band>.<gender>" such as "25-34.f", when the event carries data.user.
const ExtensionSegment = "segment"

// DerivedExtensions lists the extension attributes only recoflow sets. Validate refuses an event
// that arrives with one of them, so a client cannot choose its own segment.
var DerivedExtensions = []string{ExtensionSegment}

func isDerived(name string) bool {
	for _, d := range DerivedExtensions {
		if strings.EqualFold(name, d) {
			return true
		}
	}
	return false
}

// Names from the contract, kept here for the functions' code that reads them beside the event
// types; package contract defines them.
const (
	HeaderDLQReason    = contract.HeaderDLQReason
	HeaderDLQMessage   = contract.HeaderDLQMessage
	HeaderDLQTopic     = contract.HeaderDLQTopic
	HeaderDLQPartition = contract.HeaderDLQPartition
	HeaderDLQOffset    = contract.HeaderDLQOffset
	HeaderRedrivenFrom = contract.HeaderRedrivenFrom
)

// TopicRole names the part a Kafka topic plays in the pipeline (see contract.TopicRole).
type TopicRole = contract.TopicRole

// The topic roles.
const (
	TopicRaw        = contract.TopicRaw
	TopicClean      = contract.TopicClean
	TopicDeadLetter = contract.TopicDeadLetter
	TopicPopularity = contract.TopicPopularity
)

// TopicRoles lists every role in pipeline order.
var TopicRoles = contract.TopicRoles

// DefaultTopic returns the topic name the local pipeline uses for a role.
func DefaultTopic(role TopicRole) string { return contract.DefaultTopic(role) }
