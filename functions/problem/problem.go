// Package problem writes RFC 9457 problem details, the one form in which every recoflow HTTP
// edge refuses a request.
package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType is the media type of RFC 9457 problem details.
const ContentType = "application/problem+json"

// TypePrefix starts the type URI of every recoflow problem; a stable code follows, such
// as an event.Reason.
const TypePrefix = "urn:recoflow:problem:"

// Problem is an RFC 9457 problem detail: what the HTTP edge answers when it refuses a request.
type Problem struct {
	// Type is a URI naming the kind of problem: TypePrefix and Code, or "about:blank".
	Type string `json:"type"`
	// Title is a short summary of the kind of problem.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence for a person.
	Detail string `json:"detail,omitempty"`
	// Instance is a URI naming this occurrence, such as the request path.
	Instance string `json:"instance,omitempty"`
	// Code is the stable, machine-readable reason (an extension member).
	Code string `json:"code,omitempty"`
	// Field names the request field at fault, such as "data.user_id" (an extension member).
	Field string `json:"field,omitempty"`
	// Index is the position of the offending event in a batch (an extension member).
	Index *int `json:"index,omitempty"`
}

// New returns the Problem of the given status and stable code with a detail message. The
// title is the status text.
func New(status int, code, detail string) Problem {
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
	if code != "" {
		p.Type = TypePrefix + code
	}
	return p
}

// Write answers with p as application/problem+json.
func Write(w http.ResponseWriter, p Problem) {
	body, err := json.Marshal(p)
	if err != nil {
		http.Error(w, p.Detail, p.Status)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}
