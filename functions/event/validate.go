package event

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/recoflow/recoflow/functions/contract"
)

// Size limits of the contract, in bytes. They bound every event that passes Validate, so that
// what ingest stores always fits a Kafka record after clean has normalised it, whatever the
// JSON escaping of its text (TestCleanRecordFitsTheTopic measures the worst case).
const (
	// MaxIDBytes is the longest id, subject, data.user_id or data.item_id.
	MaxIDBytes = 256
	// MaxTitleBytes is the longest data.title.
	MaxTitleBytes = 1024
	// MaxCategoryBytes is the longest data.category.
	MaxCategoryBytes = 256
	// MaxGenderBytes is the longest data.user.gender.
	MaxGenderBytes = 64
	// MaxAttributeBytes is the longest value of any other attribute: source, dataschema,
	// datacontenttype and every extension.
	MaxAttributeBytes = 1024
	// MaxExtensions is the most extension attributes an event may carry.
	MaxExtensions = 16
)

// SpecVersion is the only CloudEvents version the contract accepts.
const SpecVersion = cloudevents.CloudEventsVersionV1

// Reason is a stable, machine-readable code for why an event was rejected. It appears in HTTP
// problem responses, in the dead-letter header contract.HeaderDLQReason and as a metrics label.
type Reason string

// The rejection reasons.
const (
	ReasonNotCloudEvent   Reason = "not_cloudevent"
	ReasonMissingField    Reason = "missing_field"
	ReasonInvalidField    Reason = "invalid_field"
	ReasonUnknownType     Reason = "unknown_type"
	ReasonSubjectMismatch Reason = "subject_mismatch"
	ReasonInvalidRating   Reason = "invalid_rating"
	ReasonDataNotJSON     Reason = "data_not_json"
	ReasonTimeInFuture    Reason = "time_in_future"
	ReasonTooOld          Reason = "too_old"
	// ReasonProcessingFailed marks a record a function could not process for a reason other than
	// the event breaking the contract, such as a bug; the record is kept for inspection and replay.
	ReasonProcessingFailed Reason = "processing_failed"
	// ReasonUnproducible marks a record whose outputs Kafka refused, after bounded retries, for a
	// reason that retrying does not cure, such as a record larger than the topic accepts.
	ReasonUnproducible Reason = "unproducible"
)

// Reasons lists every rejection reason, for metrics and documentation.
var Reasons = []Reason{
	ReasonNotCloudEvent, ReasonMissingField, ReasonInvalidField, ReasonUnknownType, ReasonSubjectMismatch,
	ReasonInvalidRating, ReasonDataNotJSON, ReasonTimeInFuture, ReasonTooOld, ReasonProcessingFailed,
	ReasonUnproducible,
}

// Error says why an event breaks the contract and which field is at fault.
type Error struct {
	// Reason is the stable code.
	Reason Reason
	// Field names the offending attribute or data field, e.g. "id" or "data.user_id"; empty when the
	// whole event is at fault.
	Field string
	// Message completes the field's name into a sentence for a person, such as "is required";
	// when Field is empty it is the whole sentence.
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Reason, e.Detail()) }

// Detail is the sentence for a person: the field's name followed by the message.
func (e *Error) Detail() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + " " + e.Message
}

func invalid(reason Reason, field, format string, args ...any) *Error {
	return &Error{Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks that e is a well-formed interaction event and returns its decoded payload. A
// missing subject is allowed (Normalise sets it); a present one must equal data.item_id.
// Extensions that recoflow derives (DerivedExtensions) are refused: only clean sets them. The
// returned error is always an *Error.
func Validate(e cloudevents.Event) (Interaction, error) {
	var in Interaction
	if err := checkAttributes(e); err != nil {
		return in, err
	}
	action, ok := contract.ActionOf(e.Type())
	if !ok {
		return in, invalid(ReasonUnknownType, "type", "%q is not one of the %s*%s interaction types", e.Type(), contract.TypePrefix, contract.TypeSuffix)
	}
	if err := decodeData(e, &in); err != nil {
		return in, err
	}
	if err := checkData(in); err != nil {
		return in, err
	}
	if subject := strings.TrimSpace(e.Subject()); subject != "" && subject != strings.TrimSpace(in.ItemID) {
		return in, invalid(ReasonSubjectMismatch, "subject", "%q differs from data.item_id %q", subject, in.ItemID)
	}
	if err := checkRating(action, in.Rating); err != nil {
		return in, err
	}
	return in, nil
}

// checkAttributes checks the context attributes and extensions of e.
func checkAttributes(e cloudevents.Event) *Error {
	if v := e.SpecVersion(); v != SpecVersion {
		return invalid(ReasonInvalidField, "specversion", "%q is not supported; send %s", v, SpecVersion)
	}
	if err := checkID("id", e.ID()); err != nil {
		return err
	}
	source := e.Source()
	if strings.TrimSpace(source) == "" {
		return invalid(ReasonMissingField, "source", "is required")
	}
	if e.Type() == "" {
		return invalid(ReasonMissingField, "type", "is required")
	}
	for _, a := range []struct {
		field, value string
		limit        int
	}{
		{"source", source, MaxAttributeBytes},
		{"type", e.Type(), MaxAttributeBytes},
		{"subject", e.Subject(), MaxIDBytes},
		{"dataschema", e.DataSchema(), MaxAttributeBytes},
		{"datacontenttype", e.DataContentType(), MaxAttributeBytes},
	} {
		if err := checkText(a.field, a.value, a.limit); err != nil {
			return err
		}
	}
	extensions := e.Extensions()
	if len(extensions) > MaxExtensions {
		return invalid(ReasonInvalidField, "extensions", "are %d; the limit is %d", len(extensions), MaxExtensions)
	}
	for name, value := range extensions {
		if isDerived(name) {
			return invalid(ReasonInvalidField, name, "is derived by recoflow and cannot be sent")
		}
		if s, ok := value.(string); ok {
			if err := checkText(name, s, MaxAttributeBytes); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkData checks the fields of an event's payload.
func checkData(in Interaction) *Error {
	if err := checkID("data.user_id", in.UserID); err != nil {
		return err
	}
	if err := checkID("data.item_id", in.ItemID); err != nil {
		return err
	}
	if err := checkText("data.title", in.Title, MaxTitleBytes); err != nil {
		return err
	}
	if err := checkText("data.category", in.Category, MaxCategoryBytes); err != nil {
		return err
	}
	if in.User == nil {
		return nil
	}
	if in.User.Age != nil && (*in.User.Age < 0 || *in.User.Age > 150) {
		return invalid(ReasonInvalidField, "data.user.age", "%d is not between 0 and 150", *in.User.Age)
	}
	return checkText("data.user.gender", in.User.Gender, MaxGenderBytes)
}

// CheckTime applies the clean function's time rules: an event may be at most maxFuture ahead of
// now and at most maxAge behind it. An event without a time passes.
func CheckTime(e cloudevents.Event, now time.Time, maxAge, maxFuture time.Duration) error {
	t := e.Time()
	if t.IsZero() {
		return nil
	}
	if t.After(now.Add(maxFuture)) {
		return invalid(ReasonTimeInFuture, "time", "%s is more than %s after now", t.UTC().Format(time.RFC3339), maxFuture)
	}
	if t.Before(now.Add(-maxAge)) {
		return invalid(ReasonTooOld, "time", "%s is more than %s before now", t.UTC().Format(time.RFC3339), maxAge)
	}
	return nil
}

// checkID checks a required id: present once trimmed, valid UTF-8, at most MaxIDBytes.
func checkID(field, value string) *Error {
	if strings.TrimSpace(value) == "" {
		return invalid(ReasonMissingField, field, "is required")
	}
	return checkText(field, value, MaxIDBytes)
}

// checkText checks an optional text field: valid UTF-8 and at most limit bytes.
func checkText(field, value string, limit int) *Error {
	switch {
	case len(value) > limit:
		return invalid(ReasonInvalidField, field, "is %d bytes long; the limit is %d", len(value), limit)
	case !utf8.ValidString(value):
		return invalid(ReasonInvalidField, field, "is not valid UTF-8")
	}
	return nil
}

func checkRating(action contract.Action, rating *int) *Error {
	switch {
	case action == contract.ActionRated && rating == nil:
		return invalid(ReasonInvalidRating, "data.rating", "is required on rated events: 1 to 5")
	case action == contract.ActionRated && (*rating < 1 || *rating > 5):
		return invalid(ReasonInvalidRating, "data.rating", "%d is not from 1 to 5", *rating)
	case action != contract.ActionRated && rating != nil:
		return invalid(ReasonInvalidRating, "data.rating", "is only allowed on rated events")
	}
	return nil
}

// IsJSONMediaType reports whether a content type names JSON: application/json or any +json
// type, in any letter case, with any parameters.
func IsJSONMediaType(contentType string) bool {
	if contentType == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func decodeData(e cloudevents.Event, in *Interaction) *Error {
	if ct := e.DataContentType(); ct != "" && !IsJSONMediaType(ct) {
		return invalid(ReasonDataNotJSON, "datacontenttype", "%q is not JSON", ct)
	}
	data := bytes.TrimSpace(e.Data())
	if len(data) == 0 {
		return invalid(ReasonMissingField, "data", "is required")
	}
	if data[0] != '{' {
		return invalid(ReasonDataNotJSON, "data", "must be a JSON object")
	}
	if fast, ok := fastInteraction(data); ok {
		*in = fast
		return nil
	}
	return DecodeObject(data, in, "data", false)
}
