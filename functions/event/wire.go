package event

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

// The CloudEvents JSON format's members that are not attributes.
const (
	memberData       = "data"
	memberDataBase64 = "data_base64"
)

// FromJSON reads one event in the CloudEvents JSON format: the body of a structured-mode request
// or one element of a batch. Every attribute must have the type the format gives it; a failure
// is an *Error naming the attribute. The event still has to pass Validate.
func FromJSON(object []byte) (cloudevents.Event, error) {
	if e, ok := fastEvent(object); ok {
		return e, nil
	}
	return decodeEvent(object)
}

// decodeEvent is FromJSON through encoding/json.
func decodeEvent(object []byte) (cloudevents.Event, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(object, &members); err != nil || members == nil {
		return cloudevents.Event{}, invalid(ReasonNotCloudEvent, "", "the event is not a JSON object")
	}
	return FromJSONMembers(members)
}

// FromJSONBatch reads a JSON array of events in the CloudEvents JSON format, the body of a batch
// request, with each event's members decoded in the same pass. When the body is an array whose
// element i is not an event, the error is a *BatchError; otherwise an *Error.
func FromJSONBatch(body []byte) ([]cloudevents.Event, error) {
	if events, ok := fastEvents(body); ok {
		return events, nil
	}
	return decodeEvents(body)
}

// decodeEvents is FromJSONBatch through encoding/json.
func decodeEvents(body []byte) ([]cloudevents.Event, error) {
	var objects []map[string]json.RawMessage
	if err := json.Unmarshal(body, &objects); err != nil {
		// Find the element at fault the slow way, or say the body is not an array.
		var elements []json.RawMessage
		if json.Unmarshal(body, &elements) != nil {
			return nil, invalid(ReasonNotCloudEvent, "", "the body is not a JSON array of CloudEvents")
		}
		for i, element := range elements {
			if _, err := FromJSON(element); err != nil {
				return nil, &BatchError{Index: i, Len: len(elements), Err: err.(*Error)}
			}
		}
		return nil, invalid(ReasonNotCloudEvent, "", "the body is not a JSON array of CloudEvents: %v", err)
	}
	events := make([]cloudevents.Event, len(objects))
	for i, members := range objects {
		e, err := FromJSONMembers(members)
		if err != nil {
			return nil, &BatchError{Index: i, Len: len(objects), Err: err.(*Error)}
		}
		events[i] = e
	}
	return events, nil
}

// BatchError says which event of a batch could not be read, and why.
type BatchError struct {
	// Index is the event's position in the batch, Len the number of events in it.
	Index, Len int
	// Err is why the event could not be read.
	Err *Error
}

func (e *BatchError) Error() string { return fmt.Sprintf("event %d: %v", e.Index, e.Err) }

// Unwrap returns the event's error.
func (e *BatchError) Unwrap() error { return e.Err }

// FromJSONMembers reads one event from the members of its JSON object, as FromJSON does.
func FromJSONMembers(members map[string]json.RawMessage) (cloudevents.Event, error) {
	if members == nil {
		return cloudevents.Event{}, invalid(ReasonNotCloudEvent, "", "the event is not a JSON object")
	}
	version, ok := members["specversion"]
	if !ok {
		return cloudevents.Event{}, invalid(ReasonMissingField, "specversion", "is required")
	}
	attrs := make([]attribute, 0, len(members))
	specversion := false
	for name, raw := range members {
		switch name {
		case memberData, memberDataBase64:
			continue
		case "":
			return cloudevents.Event{}, invalid(ReasonInvalidField, "extensions", "hold an attribute with an empty name")
		}
		if !utf8.Valid(raw) {
			return cloudevents.Event{}, invalid(ReasonInvalidField, name, "is not valid UTF-8")
		}
		v, err := attributeValue(name, raw)
		if err != nil {
			return cloudevents.Event{}, err
		}
		attrs = append(attrs, newAttribute(name, v))
		if name == "specversion" {
			_, specversion = v.(string)
		}
	}
	if !specversion {
		return cloudevents.Event{}, invalid(ReasonInvalidField, "specversion", "must be the JSON string %q, not %s", SpecVersion, version)
	}
	e, err := fromAttributes(attrs)
	if err != nil {
		return e, err
	}
	data, hasData := members[memberData]
	data64, hasData64 := members[memberDataBase64]
	switch {
	case hasData && hasData64:
		return e, invalid(ReasonInvalidField, memberDataBase64, "cannot be sent with data")
	case hasData64:
		var s string
		if json.Unmarshal(data64, &s) != nil {
			return e, invalid(ReasonInvalidField, memberDataBase64, "must be a JSON string")
		}
		decoded, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return e, invalid(ReasonInvalidField, memberDataBase64, "is not base64: %v", err)
		}
		e.DataEncoded = decoded
	case hasData && !bytes.Equal(bytes.TrimSpace(data), []byte("null")):
		if ct := e.DataContentType(); ct != "" && !IsJSONMediaType(ct) {
			// Data of a non-JSON media type travels as a JSON string.
			var s string
			if json.Unmarshal(data, &s) != nil {
				return e, invalid(ReasonDataNotJSON, "datacontenttype", "%q is not JSON", ct)
			}
			data = []byte(s)
		}
		e.DataEncoded = data
	}
	return e, nil
}

// attributeValue converts the JSON value of one attribute: a string for the context attributes,
// a string, integer or boolean for an extension.
func attributeValue(name string, raw json.RawMessage) (any, *Error) {
	if s, ok := plainString(raw); ok {
		return s, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, invalid(ReasonInvalidField, name, "is not a JSON value")
	}
	if _, context := contextAttributes[name]; context {
		s, ok := v.(string)
		if !ok {
			return nil, invalid(ReasonInvalidField, name, "must be a JSON string, not %s", raw)
		}
		return s, nil
	}
	switch v := v.(type) {
	case string, bool:
		return v, nil
	case float64:
		if v != math.Trunc(v) || v < math.MinInt32 || v > math.MaxInt32 {
			return nil, invalid(ReasonInvalidField, name, "must be a string, a boolean or a 32-bit integer, not %s", raw)
		}
		return int32(v), nil
	case nil:
		return nil, nil
	}
	return nil, invalid(ReasonInvalidField, name, "must be a string, a boolean or a 32-bit integer, not %s", raw)
}

// plainString returns the value of a JSON string without escapes, the common case, without the
// cost of a JSON decoder.
func plainString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	return string(inner), true
}

// FromHeaders reads an event in binary content mode: attrs maps each attribute's name to its
// value as the transport carried it (the ce- headers of HTTP), contentType is the data's
// media type and data the body. A failure is an *Error naming the attribute. The event still has
// to pass Validate.
func FromHeaders(attrs map[string]string, contentType string, data []byte) (cloudevents.Event, error) {
	values := make([]attribute, 0, len(attrs)+1)
	for name, v := range attrs {
		if name != "datacontenttype" || contentType == "" {
			values = append(values, textAttribute(name, v))
		}
	}
	if contentType != "" {
		values = append(values, textAttribute("datacontenttype", contentType))
	}
	e, err := fromAttributes(values)
	if err != nil {
		return e, err
	}
	if len(data) > 0 {
		e.DataEncoded = data
	}
	return e, nil
}

// contextAttributes are the CloudEvents 1.0 context attributes, all strings on the wire.
var contextAttributes = map[string]struct{}{
	"specversion": {}, "id": {}, "source": {}, "type": {}, "subject": {}, "time": {},
	"datacontenttype": {}, "dataschema": {},
}

// attribute is one attribute of an event as read from the wire.
type attribute struct {
	name string
	// text is the value of an attribute sent as a string (isText); value holds any other: for an
	// extension a boolean or an int32, or nil for a JSON null.
	text   string
	value  any
	isText bool
}

// textAttribute is an attribute sent as a string.
func textAttribute(name, text string) attribute {
	return attribute{name: name, text: text, isText: true}
}

// newAttribute is an attribute with the value attributeValue read.
func newAttribute(name string, v any) attribute {
	if s, ok := v.(string); ok {
		return textAttribute(name, s)
	}
	return attribute{name: name, value: v}
}

// fromAttributes builds an event from its attribute values; each name appears at most once.
func fromAttributes(attrs []attribute) (cloudevents.Event, *Error) {
	e := cloudevents.New(SpecVersion)
	var version string
	for _, a := range attrs {
		if a.name == "specversion" {
			version = a.text
		}
	}
	if version == "" {
		return e, invalid(ReasonMissingField, "specversion", "is required")
	}
	if version != SpecVersion {
		return e, invalid(ReasonInvalidField, "specversion", "%q is not supported; send %s", version, SpecVersion)
	}
	ctx := e.Context.AsV1()
	for _, a := range attrs {
		name, s := a.name, a.text
		var err error
		switch name {
		case "specversion":
		case "id":
			// Trimmed as the SDK's setters trim when they read the event back from Kafka.
			ctx.ID = strings.TrimSpace(s)
		case "source":
			err = ctx.SetSource(s)
		case "type":
			ctx.Type = strings.TrimSpace(s)
		case "subject":
			err = ctx.SetSubject(s)
		case "time":
			var t time.Time
			if t, err = time.Parse(time.RFC3339Nano, s); err == nil {
				err = ctx.SetTime(t)
			} else {
				err = fmt.Errorf("%q is not an RFC 3339 time", s)
			}
		case "datacontenttype":
			err = ctx.SetDataContentType(s)
		case "dataschema":
			err = ctx.SetDataSchema(s)
		case "":
			return e, invalid(ReasonInvalidField, "extensions", "hold an attribute with an empty name")
		default:
			// CloudEvents names are lower case; the SDK also takes upper case and folds it, so
			// that "iA" and "ia" would name one attribute twice.
			if !isAttributeName(name) {
				return e, invalid(ReasonInvalidField, name, "is not a valid attribute name: use only a-z and 0-9")
			}
			v := a.value
			if a.isText {
				v = s
			}
			err = ctx.SetExtension(name, v)
		}
		if err != nil {
			return e, invalid(ReasonInvalidField, name, "is invalid: %v", err)
		}
	}
	e.Context = ctx
	return e, nil
}

// isAttributeName reports whether name is a CloudEvents attribute name: lower-case ASCII
// letters and digits.
func isAttributeName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
