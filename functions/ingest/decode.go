package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

// The content modes of POST /, by media type; anything else with a ce-specversion header is
// binary mode.
const (
	mediaStructured = "application/cloudevents+json"
	mediaBatch      = "application/cloudevents-batch+json"
	mediaJSON       = "application/json"
)

// headerPrefix starts the name of every HTTP header that carries a CloudEvents attribute in
// binary content mode.
const headerPrefix = "ce-"

// decodeBinary reads the CloudEvents of a POST / request, as decodeCloudEvents does, in their
// binary form, ready to store. A batch of plain, valid events, the common case, is read straight
// from the body into that form (event.ValidBinaryBatch).
func decodeBinary(header http.Header, body []byte, maxBatch int) ([]event.Binary, *Error) {
	if mediaType(header.Get("Content-Type")) == mediaBatch {
		if events, ok := event.ValidBinaryBatch(body); ok && len(events) <= maxBatch {
			return events, nil
		}
	}
	events, rej := decodeCloudEvents(header, body, maxBatch)
	if rej != nil {
		return nil, rej
	}
	return toBinary(events)
}

// toBinary returns the binary form of checked events.
func toBinary(events []cloudevents.Event) ([]event.Binary, *Error) {
	out := make([]event.Binary, len(events))
	for i := range events {
		var err error
		if out[i], err = event.ToBinary(&events[i]); err != nil {
			index := -1
			if len(events) > 1 {
				index = i
			}
			r := invalidEvent(err, index, nil)
			r.Events = len(events)
			return nil, r
		}
	}
	return out, nil
}

// decodeCloudEvents reads the CloudEvents of a POST / request, whose body is already read:
// one event in binary or structured content mode, or a batch. It checks every event against the
// contract and sets a missing subject to the item id, so each event is ready to store.
func decodeCloudEvents(header http.Header, body []byte, maxBatch int) ([]cloudevents.Event, *Error) {
	media := mediaType(header.Get("Content-Type"))
	var events []cloudevents.Event
	batch := false
	switch {
	case media == mediaStructured:
		e, err := event.FromJSON(body)
		if err != nil {
			return nil, invalidEvent(err, -1, nil)
		}
		events = []cloudevents.Event{e}
	case media == mediaBatch:
		var err error
		events, err = event.FromJSONBatch(body)
		count := len(events)
		var bad *event.BatchError
		if errors.As(err, &bad) {
			count = bad.Len
		}
		if count > maxBatch {
			r := refuse(CodeBatchTooLarge, "the batch has %d events; the limit is %d", count, maxBatch)
			r.Events = count
			return nil, r
		}
		switch {
		case bad != nil:
			r := invalidEvent(bad.Err, bad.Index, nil)
			r.Events = bad.Len
			return nil, r
		case err != nil:
			return nil, invalidEvent(err, -1, nil)
		}
		batch = true
	case hasHeader(header, "Ce-Specversion"):
		e, err := binaryEvent(header, body)
		if err != nil {
			return nil, err
		}
		events = []cloudevents.Event{e}
	default:
		return nil, refuse(CodeUnsupportedMedia,
			"content type %q is not a CloudEvent: send binary mode (ce-* headers), %s or %s",
			header.Get("Content-Type"), mediaStructured, mediaBatch)
	}
	for i := range events {
		if err := checkEvent(&events[i]); err != nil {
			index := -1
			if batch {
				index = i
			}
			r := invalidEvent(err, index, nil)
			r.Events = len(events)
			return nil, r
		}
	}
	return events, nil
}

// binaryEvent reads an event in binary content mode: the attributes in ce-* headers, the data
// in the body and its media type in Content-Type.
func binaryEvent(header http.Header, body []byte) (cloudevents.Event, *Error) {
	attrs := make(map[string]string, len(header))
	for name, values := range header {
		attr, ok := strings.CutPrefix(strings.ToLower(name), headerPrefix)
		if !ok {
			continue
		}
		if len(values) > 1 {
			r := refuse(Code(event.ReasonInvalidField), "%s is given %d times", attr, len(values))
			r.Field = attr
			return cloudevents.Event{}, r
		}
		attrs[attr] = values[0]
	}
	e, err := event.FromHeaders(attrs, header.Get("Content-Type"), body)
	if err != nil {
		return e, invalidEvent(err, -1, nil)
	}
	return e, nil
}

// checkEvent validates e against the contract and sets its subject to the item id when it has
// none, so that the record key is always the item id.
func checkEvent(e *cloudevents.Event) error {
	in, err := event.Validate(*e)
	if err != nil {
		return err
	}
	if strings.TrimSpace(e.Subject()) == "" {
		e.SetSubject(strings.TrimSpace(in.ItemID))
	}
	return nil
}

// LegacyLike is the body the older Flask recommendation service took on POST
// /recommendation/likes. Its ids may be JSON strings or integers, as that service accepted both.
type LegacyLike struct {
	UserID    legacyID `json:"user_id"`
	ContentID legacyID `json:"content_id"`
	Title     string   `json:"title"`
}

// legacyID is an id sent as a JSON string or integer.
type legacyID string

func (id *legacyID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = legacyID(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "number " + string(b), Type: reflect.TypeFor[int64]()}
	}
	*id = legacyID(strconv.FormatInt(n, 10))
	return nil
}

// decodeLike reads a POST /v1/likes body: the payload of a liked event, event.Interaction, at
// the top level. Unknown fields are refused, so that a misspelt field is reported rather than
// ignored.
func decodeLike(body []byte) (event.Interaction, *Error) {
	var in event.Interaction
	if err := event.DecodeObject(body, &in, "", true); err != nil {
		return in, bodyError(err)
	}
	return in, nil
}

// decodeLegacyLike reads a POST /recommendation/likes body. Unknown fields are ignored, as the
// Flask service ignored them.
func decodeLegacyLike(body []byte) (event.Interaction, *Error) {
	var like LegacyLike
	if err := event.DecodeObject(body, &like, "", false); err != nil {
		return event.Interaction{}, bodyError(err)
	}
	return event.Interaction{UserID: string(like.UserID), ItemID: string(like.ContentID), Title: like.Title}, nil
}

// bodyError explains why a plain JSON body cannot be read: a malformed body, or a field.
func bodyError(err *event.Error) *Error {
	if err.Field == "" {
		return refuse(CodeMalformedBody, "the body %s", err.Message)
	}
	return invalidEvent(err, -1, nil)
}

// likeFields maps the contract's field names to those of the plain like bodies, whose fields are
// the event's data at the top level.
func likeFields(field string) string { return strings.TrimPrefix(field, "data.") }

// legacyFields is likeFields for the Flask service's body, which names the item content_id.
func legacyFields(field string) string {
	if field = likeFields(field); field == "item_id" {
		return "content_id"
	}
	return field
}

// likeEvent makes the liked CloudEvent of a plain like received at now and checks it against
// the contract; rename names the fields at fault as the request did.
func likeEvent(id, source string, now time.Time, in event.Interaction, rename func(string) string) (cloudevents.Event, *Error) {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource(source)
	e.SetType(contract.TypeLiked)
	e.SetTime(now.UTC())
	data, err := event.MarshalJSON(in)
	if err != nil {
		return e, refuse(CodeMalformedBody, "%v", err)
	}
	e.SetDataContentType(cloudevents.ApplicationJSON)
	e.DataEncoded = data
	if _, err := event.Validate(e); err != nil {
		return e, invalidEvent(err, -1, rename)
	}
	e.SetSubject(strings.TrimSpace(in.ItemID))
	return e, nil
}

// mediaType returns the media type of a Content-Type value in lower case, without parameters,
// or "" when it cannot be parsed.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// hasHeader reports whether header carries name, even with an empty value.
func hasHeader(header http.Header, name string) bool {
	_, ok := header[http.CanonicalHeaderKey(name)]
	return ok
}
