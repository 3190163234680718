package event

import "strings"

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
