package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

// MaxIDBytes is the longest id, user_id or item_id accepted, in bytes.
const MaxIDBytes = 256

// Reason is a stable, machine-readable code for why an event was rejected. It appears in HTTP
// problem responses, in the dead-letter header HeaderDLQReason and as a metrics label.
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
	// Message is a sentence for a person.
	Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Reason, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.Reason, e.Field, e.Message)
}

func invalid(reason Reason, field, format string, args ...any) *Error {
	return &Error{Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks that e is a well-formed interaction event and returns its decoded payload. A
// missing subject is allowed (Normalise sets it); a present one must equal data.item_id. The
// returned error is always an *Error.
func Validate(e cloudevents.Event) (Interaction, error) {
	var in Interaction
	if err := checkID("id", e.ID()); err != nil {
		return in, err
	}
	if strings.TrimSpace(e.Source()) == "" {
		return in, invalid(ReasonMissingField, "source", "source is required")
	}
	if e.Type() == "" {
		return in, invalid(ReasonMissingField, "type", "type is required")
	}
	action, ok := ActionOf(e.Type())
	if !ok {
		return in, invalid(ReasonUnknownType, "type", "type %q is not one of the dev.recoflow.item.*.v1 interaction types", e.Type())
	}
	if err := decodeData(e, &in); err != nil {
		return in, err
	}
	if err := checkID("data.user_id", in.UserID); err != nil {
		return in, err
	}
	if err := checkID("data.item_id", in.ItemID); err != nil {
		return in, err
	}
	if subject := strings.TrimSpace(e.Subject()); subject != "" && subject != strings.TrimSpace(in.ItemID) {
		return in, invalid(ReasonSubjectMismatch, "subject", "subject %q differs from data.item_id %q", subject, in.ItemID)
	}
	if err := checkRating(action, in.Rating); err != nil {
		return in, err
	}
	if in.User != nil && in.User.Age != nil && (*in.User.Age < 0 || *in.User.Age > 150) {
		return in, invalid(ReasonInvalidField, "data.user.age", "age %d is not between 0 and 150", *in.User.Age)
	}
	return in, nil
}

// CheckTime applies the clean function's time rules: an event may be at most maxFuture ahead of
// now and at most maxAge behind it. An event without a time passes.
func CheckTime(e cloudevents.Event, now time.Time, maxAge, maxFuture time.Duration) error {
	t := e.Time()
	if t.IsZero() {
		return nil
	}
	if t.After(now.Add(maxFuture)) {
		return invalid(ReasonTimeInFuture, "time", "time %s is more than %s after now", t.UTC().Format(time.RFC3339), maxFuture)
	}
	if t.Before(now.Add(-maxAge)) {
		return invalid(ReasonTooOld, "time", "time %s is more than %s before now", t.UTC().Format(time.RFC3339), maxAge)
	}
	return nil
}

func checkID(field, value string) *Error {
	switch trimmed := strings.TrimSpace(value); {
	case trimmed == "":
		return invalid(ReasonMissingField, field, "%s is required", field)
	case len(trimmed) > MaxIDBytes:
		return invalid(ReasonInvalidField, field, "%s is %d bytes long, the limit is %d", field, len(trimmed), MaxIDBytes)
	case !utf8.ValidString(trimmed):
		return invalid(ReasonInvalidField, field, "%s is not valid UTF-8", field)
	}
	return nil
}

func checkRating(action Action, rating *int) *Error {
	switch {
	case action == ActionRated && rating == nil:
		return invalid(ReasonInvalidRating, "data.rating", "rated events need a rating from 1 to 5")
	case action == ActionRated && (*rating < 1 || *rating > 5):
		return invalid(ReasonInvalidRating, "data.rating", "rating %d is not from 1 to 5", *rating)
	case action != ActionRated && rating != nil:
		return invalid(ReasonInvalidRating, "data.rating", "only rated events carry a rating")
	}
	return nil
}

func decodeData(e cloudevents.Event, in *Interaction) *Error {
	if mt := e.DataMediaType(); mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return invalid(ReasonDataNotJSON, "datacontenttype", "datacontenttype %q is not JSON", mt)
	}
	data := bytes.TrimSpace(e.Data())
	if len(data) == 0 {
		return invalid(ReasonMissingField, "data", "data is required")
	}
	if data[0] != '{' {
		return invalid(ReasonDataNotJSON, "data", "data must be a JSON object")
	}
	if err := json.Unmarshal(data, in); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return invalid(ReasonInvalidField, "data."+typeErr.Field, "data.%s cannot be a JSON %s", typeErr.Field, typeErr.Value)
		}
		return invalid(ReasonDataNotJSON, "data", "data is not valid JSON: %v", err)
	}
	if !utf8.Valid(data) {
		return utf8Error(in)
	}
	return nil
}

// utf8Error names the id field of in that holds the invalid bytes of its data, or the data as a
// whole. JSON decoding turns invalid bytes into U+FFFD without complaint, so the check runs on the
// raw data and this only finds where the bytes were.
func utf8Error(in *Interaction) *Error {
	for _, id := range []struct{ field, value string }{{"data.user_id", in.UserID}, {"data.item_id", in.ItemID}} {
		if strings.ContainsRune(id.value, utf8.RuneError) {
			return invalid(ReasonInvalidField, id.field, "%s is not valid UTF-8", id.field)
		}
	}
	return invalid(ReasonDataNotJSON, "data", "data is not valid UTF-8")
}
