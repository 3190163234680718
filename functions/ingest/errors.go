package ingest

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/recoflow/recoflow/functions/event"
)

// Code is the stable, machine-readable reason ingest refuses a request: an event.Reason when an
// event breaks the contract, otherwise one of the codes below. It appears in the problem's
// code and type, and as the rejected-events metric's reason.
type Code string

// The codes of refusals that are not about one event's content.
const (
	CodeBodyTooLarge     Code = "body_too_large"
	CodeBatchTooLarge    Code = "batch_too_large"
	CodeRecordTooLarge   Code = "record_too_large"
	CodeUnsupportedMedia Code = "unsupported_media_type"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeUnauthorized     Code = "unauthorized"
	CodeUnavailable      Code = "unavailable"
	CodeMalformedBody    Code = "malformed_body"
	CodeTimeout          Code = "request_timeout"
)

// statuses is the one table from a refusal's code to its HTTP status. Every code not in it is
// an event.Reason: the client sent an event that breaks the contract, 400.
var statuses = map[Code]int{
	CodeBodyTooLarge:     http.StatusRequestEntityTooLarge,
	CodeBatchTooLarge:    http.StatusRequestEntityTooLarge,
	CodeRecordTooLarge:   http.StatusRequestEntityTooLarge,
	CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	CodeUnauthorized:     http.StatusUnauthorized,
	CodeUnavailable:      http.StatusServiceUnavailable,
	CodeMalformedBody:    http.StatusBadRequest,
	CodeTimeout:          http.StatusRequestTimeout,
}

// Status returns the HTTP status of a refusal with code.
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusBadRequest
}

// Error says why ingest refuses a request.
type Error struct {
	// Code is the stable reason.
	Code Code
	// Field names the request field at fault, such as "data.user_id", or is empty.
	Field string
	// Index is the position of the offending event in a batch, or -1.
	Index int
	// Detail is a sentence for a person.
	Detail string
	// Events is how many events the refused request carried, when known; at least one counts.
	Events int
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Detail) }

func refuse(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Index: -1, Detail: fmt.Sprintf(format, args...)}
}

// invalidEvent explains why an event breaks the contract. index is its position in a batch, or
// -1; rename maps the contract's field names to the request's own, for the routes whose body is
// not a CloudEvent.
func invalidEvent(err error, index int, rename func(string) string) *Error {
	var invalid *event.Error
	if !errors.As(err, &invalid) {
		invalid = &event.Error{Reason: event.ReasonNotCloudEvent, Message: err.Error()}
	}
	field := invalid.Field
	if rename != nil && field != "" {
		field = rename(field)
	}
	detail := (&event.Error{Field: field, Message: invalid.Message}).Detail()
	if index >= 0 {
		detail = fmt.Sprintf("event %d: %s", index, detail)
	}
	return &Error{Code: Code(invalid.Reason), Field: field, Index: index, Detail: detail}
}
