package event

import (
	"bytes"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/recoflow/recoflow/functions/contract"
)

// Binary is an event in the shape of the CloudEvents binary content mode: every attribute as the
// text of its header, the data as bytes. It is what a record of the raw topic holds. A nil
// optional attribute (Subject, Time, DataSchema, DataContentType) is absent; ID, Source and Type
// are always written.
type Binary struct {
	ID, Source, Type                           []byte
	Subject, Time, DataSchema, DataContentType []byte
	// Extensions are the extension attributes, each with its value formatted as text.
	Extensions []Extension
	// Data is the event's data; nil when it has none.
	Data []byte
}

// Extension is one extension attribute of a Binary.
type Extension struct {
	Name  string
	Value []byte
}

// ToBinary returns the binary content mode form of a CloudEvents 1.0 event. The header values
// share one new buffer; the data is e's own. The error, an *Error, names an extension whose value
// has no text form, which Validate refuses.
func ToBinary(e *cloudevents.Event) (Binary, error) {
	c := e.Context.AsV1()
	source := c.Source.String()
	var eventTime, schema string
	size := len(c.ID) + len(source) + len(c.Type)
	if c.Subject != nil {
		size += len(*c.Subject)
	}
	if c.Time != nil {
		eventTime = c.Time.String()
		size += len(eventTime)
	}
	if c.DataSchema != nil {
		schema = c.DataSchema.String()
		size += len(schema)
	}
	if c.DataContentType != nil {
		size += len(*c.DataContentType)
	}
	values := make([]byte, 0, size)
	text := func(value string) []byte {
		start := len(values)
		values = append(values, value...)
		return values[start:len(values):len(values)]
	}
	b := Binary{ID: text(c.ID), Source: text(source), Type: text(c.Type), Data: e.DataEncoded}
	if c.Subject != nil {
		b.Subject = text(*c.Subject)
	}
	if c.Time != nil {
		b.Time = text(eventTime)
	}
	if c.DataSchema != nil {
		b.DataSchema = text(schema)
	}
	if c.DataContentType != nil {
		b.DataContentType = text(*c.DataContentType)
	}
	if len(c.Extensions) > 0 {
		b.Extensions = make([]Extension, 0, len(c.Extensions))
		for name, v := range c.Extensions {
			value, err := types.Format(v)
			if err != nil {
				return b, invalid(ReasonInvalidField, name, "has no text form: %v", err)
			}
			b.Extensions = append(b.Extensions, Extension{Name: name, Value: []byte(value)})
		}
	}
	return b, nil
}

// ValidBinaryBatch reads a batch body, a JSON array of events, straight into the binary form of
// its events when every one of them is in the plain subset of the JSON format (see scan.go) and
// passes Validate; a missing subject is set to the item id, as ingest and Normalise set it. The
// result is exactly what FromJSONBatch, Validate and ToBinary give (FuzzValidBinaryBatchMatches),
// without building the events; its text shares the body's bytes. ok false says nothing about the
// body: read it with FromJSONBatch and Validate, which decide and explain.
func ValidBinaryBatch(body []byte) (events []Binary, ok bool) {
	if !utf8.Valid(body) {
		return nil, false
	}
	s := &scanner{b: body}
	if !s.consume('[') || s.next() == ']' {
		return nil, false
	}
	// Each event names its specversion once, so this is enough room, unless data holds the word.
	events = make([]Binary, 0, bytes.Count(body, []byte(`"specversion"`)))
	var sources plainSources
	for {
		var m members
		if !s.members(&m) {
			return nil, false
		}
		b, ok := s.binary(&m, &sources)
		if !ok {
			return nil, false
		}
		events = append(events, b)
		if s.consume(']') {
			break
		}
		if !s.consume(',') {
			return nil, false
		}
	}
	return events, s.end()
}

// binary makes the binary form of the event whose members m holds when that event passes
// Validate; ok false means the event must be read the slow way.
func (s *scanner) binary(m *members, sources *plainSources) (Binary, bool) {
	var b Binary
	var version, subject, contentType []byte
	extensions := 0
	for _, a := range m.attrs[:m.n] {
		value := s.b[a.start:a.end:a.end]
		switch a.name {
		case "specversion":
			version = value
		case "id":
			b.ID = bytes.TrimSpace(value) // as the slow path and the SDK's reader trim it
		case "source":
			b.Source = value
		case "type":
			b.Type = bytes.TrimSpace(value)
		case "subject":
			subject = bytes.TrimSpace(value)
		case "time":
			t, err := time.Parse(time.RFC3339Nano, string(value))
			if err != nil {
				return b, false
			}
			if !t.IsZero() {
				b.Time = []byte(types.FormatTime(t))
			}
		case "datacontenttype":
			contentType = bytes.TrimSpace(value)
		case "dataschema":
			return b, false // rare: its URI is written back the slow way
		default:
			// Extensions in lower case only: the slow path lowers a name's case, so two names
			// could meet there, and it refuses a context attribute's name in another case.
			if !isPlainExtensionName(a.name) || isDerived(a.name) || len(value) > MaxAttributeBytes {
				return b, false
			}
			extensions++
		}
	}
	if string(version) != SpecVersion || extensions > MaxExtensions ||
		len(b.ID) == 0 || len(b.ID) > MaxIDBytes ||
		len(b.Type) == 0 || len(b.Type) > MaxAttributeBytes ||
		len(b.Source) > MaxAttributeBytes || !sources.plain(b.Source) {
		return b, false
	}
	if len(contentType) > 0 {
		if len(contentType) > MaxAttributeBytes || !IsJSONMediaType(string(contentType)) {
			return b, false
		}
		b.DataContentType = contentType
	}
	action, ok := contract.ActionOf(string(b.Type))
	if !ok || !m.hasData || len(m.data) == 0 || m.data[0] != '{' {
		return b, false
	}
	in, ok := fastInteraction(m.data)
	if !ok || checkData(in) != nil || checkRating(action, in.Rating) != nil {
		return b, false
	}
	switch item := strings.TrimSpace(in.ItemID); {
	case len(subject) == 0:
		b.Subject = []byte(item)
	case string(subject) == item:
		b.Subject = subject
	default:
		return b, false
	}
	if extensions > 0 {
		b.Extensions = make([]Extension, 0, extensions)
		for _, a := range m.attrs[:m.n] {
			if _, context := contextAttributes[a.name]; !context {
				b.Extensions = append(b.Extensions, Extension{Name: a.name, Value: s.b[a.start:a.end:a.end]})
			}
		}
	}
	b.Data = m.data
	return b, true
}

// plainSources remembers the last source isPlainSource accepted: the events of a batch usually
// share theirs.
type plainSources struct{ last []byte }

// plain reports whether source is non-empty and written back unchanged (isPlainSource).
func (p *plainSources) plain(source []byte) bool {
	if p.last != nil && bytes.Equal(source, p.last) {
		return true
	}
	if !isPlainSource(source) {
		return false
	}
	p.last = source
	return true
}

// isPlainSource reports whether source is a URI reference, not blank, that url.Parse reads and
// String writes back unchanged: then it is the text the slow path writes in its header.
func isPlainSource(source []byte) bool {
	if len(bytes.TrimSpace(source)) == 0 {
		return false
	}
	u, err := url.Parse(string(source))
	return err == nil && u.String() == string(source)
}

// isPlainExtensionName reports whether name is a valid extension name in lower case.
func isPlainExtensionName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
