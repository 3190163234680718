package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/recoflow/recoflow/functions/event"
)

// Codes of rejections that are not about one event's content; the event.Reason values cover the
// rest.
const (
	codeBodyTooLarge     = "body_too_large"
	codeBatchTooLarge    = "batch_too_large"
	codeRecordTooLarge   = "record_too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnauthorized     = "unauthorized"
	codeUnavailable      = "unavailable"
	codeMalformedBody    = "malformed_body"
)

// rejection says why ingest refuses a request: the HTTP status, a stable code (an event.Reason
// for an invalid event) and, where one is at fault, the field and the event's index in a batch.
type rejection struct {
	status int
	code   string
	field  string
	index  int // -1 unless the request is a batch
	detail string
	events int // how many events the refused request carried, when known
}

func reject(status int, code, format string, args ...any) *rejection {
	return &rejection{status: status, code: code, index: -1, detail: fmt.Sprintf(format, args...)}
}

// invalidEvent turns a validation error into a 400 rejection naming the field. An event in a
// batch is named by its index.
func invalidEvent(err error, index int) *rejection {
	var invalid *event.Error
	if !errors.As(err, &invalid) {
		invalid = &event.Error{Reason: event.ReasonNotCloudEvent, Message: err.Error()}
	}
	r := &rejection{status: http.StatusBadRequest, code: string(invalid.Reason), field: invalid.Field, index: index, detail: invalid.Message}
	if index >= 0 {
		r.detail = fmt.Sprintf("event %d: %s", index, invalid.Message)
	}
	return r
}

// decodeCloudEvents reads the CloudEvents of a POST / request, whose body is already read:
// one event in binary or structured content mode, or a batch. It checks every event against the
// contract and sets a missing subject to the item id, so each event is ready to store.
func decodeCloudEvents(ctx context.Context, header http.Header, body []byte, maxBatch int) ([]cloudevents.Event, *rejection) {
	msg := cehttp.NewMessage(header, io.NopCloser(bytes.NewReader(body)))
	var events []cloudevents.Event
	batch := false
	encoding := msg.ReadEncoding()
	if encoding == binding.EncodingBinary {
		if r := blankAttribute(header); r != nil {
			return nil, r
		}
	}
	switch encoding {
	case binding.EncodingBinary, binding.EncodingStructured:
		e, err := binding.ToEvent(ctx, msg)
		if err != nil {
			return nil, reject(http.StatusBadRequest, string(event.ReasonNotCloudEvent), "the request is not a readable CloudEvent: %v", err)
		}
		events = []cloudevents.Event{*e}
	case binding.EncodingBatch:
		var err error
		if events, err = binding.ToEvents(ctx, msg, msg.BodyReader); err != nil {
			return nil, reject(http.StatusBadRequest, string(event.ReasonNotCloudEvent), "the body is not a JSON array of CloudEvents: %v", err)
		}
		if len(events) > maxBatch {
			r := reject(http.StatusRequestEntityTooLarge, codeBatchTooLarge, "the batch has %d events, the limit is %d", len(events), maxBatch)
			r.events = len(events)
			return nil, r
		}
		batch = true
	default:
		return nil, unknownEncoding(header)
	}
	for i := range events {
		index := -1
		if batch {
			index = i
		}
		if err := checkEvent(&events[i]); err != nil {
			r := invalidEvent(err, index)
			r.events = len(events)
			return nil, r
		}
	}
	return events, nil
}

// blankAttribute reports a required attribute sent as an empty header in binary mode, which the
// sdk refuses before the contract's checks could name it.
func blankAttribute(header http.Header) *rejection {
	for _, attr := range [][2]string{{"id", "Ce-Id"}, {"source", "Ce-Source"}, {"type", "Ce-Type"}} {
		if values, ok := header[attr[1]]; ok && (len(values) == 0 || strings.TrimSpace(values[0]) == "") {
			r := reject(http.StatusBadRequest, string(event.ReasonMissingField), "%s is required", attr[0])
			r.field = attr[0]
			return r
		}
	}
	return nil
}

// unknownEncoding explains a request that is not a CloudEvent in any content mode ingest reads.
func unknownEncoding(header http.Header) *rejection {
	if v := header.Get("Ce-Specversion"); v != "" {
		r := reject(http.StatusBadRequest, string(event.ReasonInvalidField), "specversion %q is not supported, send 1.0", v)
		r.field = "specversion"
		return r
	}
	return reject(http.StatusUnsupportedMediaType, codeUnsupportedMedia,
		"content type %q is not a CloudEvent: send binary mode (ce-* headers), %s or %s",
		header.Get("Content-Type"), cloudevents.ApplicationCloudEventsJSON, cloudevents.ApplicationCloudEventsBatchJSON)
}

// checkEvent validates e against the contract and sets its subject to the item id when it has
// none, so that the record key is always the item id.
func checkEvent(e *cloudevents.Event) error {
	if v := e.SpecVersion(); v != cloudevents.VersionV1 {
		return &event.Error{Reason: event.ReasonInvalidField, Field: "specversion", Message: fmt.Sprintf("specversion %q is not supported, send 1.0", v)}
	}
	in, err := event.Validate(*e)
	if err != nil {
		return err
	}
	if strings.TrimSpace(e.Subject()) == "" {
		e.SetSubject(strings.TrimSpace(in.ItemID))
	}
	return nil
}

// Like is the body of POST /v1/likes.
type Like struct {
	// UserID identifies who liked the item. Required.
	UserID string `json:"user_id"`
	// ItemID identifies the liked item. Required.
	ItemID string `json:"item_id"`
	// Title is the item's display title.
	Title string `json:"title,omitempty"`
	// Category is the item's category.
	Category string `json:"category,omitempty"`
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
		return &json.UnmarshalTypeError{Value: "non-integer", Type: reflect.TypeFor[string]()}
	}
	*id = legacyID(strconv.FormatInt(n, 10))
	return nil
}

// decodeLike reads a POST /v1/likes body. Unknown fields are refused, so that a misspelt field
// is reported rather than ignored.
func decodeLike(body []byte) (Like, *rejection) {
	var like Like
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&like); err != nil {
		return like, jsonRejection(err)
	}
	if dec.More() {
		return like, reject(http.StatusBadRequest, codeMalformedBody, "the body holds more than one JSON value")
	}
	return like, invalidUTF8(body, [2]string{"user_id", like.UserID}, [2]string{"item_id", like.ItemID})
}

// decodeLegacyLike reads a POST /recommendation/likes body. Unknown fields are ignored, as the
// Flask service ignored them.
func decodeLegacyLike(body []byte) (LegacyLike, *rejection) {
	var like LegacyLike
	if err := json.Unmarshal(body, &like); err != nil {
		return like, jsonRejection(err)
	}
	return like, invalidUTF8(body, [2]string{"user_id", string(like.UserID)}, [2]string{"content_id", string(like.ContentID)})
}

// invalidUTF8 refuses a body that is not valid UTF-8, which JSON decoding would otherwise repair
// silently. It names the first of fields (name and decoded value) that held invalid bytes.
func invalidUTF8(body []byte, fields ...[2]string) *rejection {
	if utf8.Valid(body) {
		return nil
	}
	for _, f := range fields {
		if strings.ContainsRune(f[1], utf8.RuneError) {
			r := reject(http.StatusBadRequest, string(event.ReasonInvalidField), "%s is not valid UTF-8", f[0])
			r.field = f[0]
			return r
		}
	}
	return reject(http.StatusBadRequest, codeMalformedBody, "the body is not valid UTF-8")
}

// jsonRejection explains why a plain JSON body could not be read, naming the field when the
// JSON decoder does.
func jsonRejection(err error) *rejection {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		r := reject(http.StatusBadRequest, string(event.ReasonInvalidField), "%s must be a JSON %s", typeErr.Field, expectedType(typeErr))
		r.field = typeErr.Field
		return r
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		r := reject(http.StatusBadRequest, string(event.ReasonInvalidField), "unknown field %s", name)
		r.field = strings.Trim(name, `"`)
		return r
	}
	return reject(http.StatusBadRequest, codeMalformedBody, "the body is not a JSON object: %v", err)
}

func expectedType(err *json.UnmarshalTypeError) string {
	if err.Type == nil {
		return "value"
	}
	return err.Type.Kind().String()
}

// likeEvent makes the liked CloudEvent of a plain like received at now and checks it against
// the contract. Rejections name the fields of the plain body.
func likeEvent(id, source string, now time.Time, in event.Interaction) (cloudevents.Event, *rejection) {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource(source)
	e.SetType(event.TypeLiked)
	e.SetSubject(strings.TrimSpace(in.ItemID))
	e.SetTime(now.UTC())
	if err := e.SetData(cloudevents.ApplicationJSON, in); err != nil {
		return e, reject(http.StatusBadRequest, codeMalformedBody, "%v", err)
	}
	if _, err := event.Validate(e); err != nil {
		// The plain body has the payload's fields at its top level.
		r := invalidEvent(err, -1)
		r.field = strings.TrimPrefix(r.field, "data.")
		r.detail = strings.ReplaceAll(r.detail, "data.", "")
		return e, r
	}
	return e, nil
}

// isMediaType reports whether the Content-Type header value names mediaType, ignoring
// parameters such as charset.
func isMediaType(contentType, mediaType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && strings.EqualFold(mt, mediaType)
}
