package event

import (
	"strings"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

// The fast path. Nearly every event arrives in the plainest JSON: members named in lower case
// without escapes, attributes as plain strings, the data an object. The readers in this file read
// exactly that subset in one pass, with no map, no reflection and no copy of the data, and give
// up (ok false) on anything else; the caller then reads the input with encoding/json, which
// decides, and explains a refusal. A fast read gives the same event as the slow one would
// (FuzzFastEventMatchesSlow, FuzzFastInteractionMatchesSlow), so which path ran is never
// visible.

// maxFastDepth bounds how deeply nested a value the fast path reads; deeper input takes the slow
// path, whose own limit is far higher.
const maxFastDepth = 32

// scanner reads JSON from b, starting at i. text is b as a string, made on first use, so that
// the strings read share one copy of the input.
type scanner struct {
	b    []byte
	i    int
	text string
}

// substring returns b[start:end] as a string.
func (s *scanner) substring(start, end int) string {
	if s.text == "" {
		s.text = string(s.b)
	}
	return s.text[start:end]
}

// space skips white space.
func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte without reading it, or 0 at the end.
func (s *scanner) next() byte {
	s.space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// consume reads c, after white space, and reports whether it was there.
func (s *scanner) consume(c byte) bool {
	if s.next() == c {
		s.i++
		return true
	}
	return false
}

// plainString reads a string without escapes or control characters and returns its content.
func (s *scanner) plainString() ([]byte, bool) {
	start, end, ok := s.plainSpan()
	return s.b[start:end], ok
}

// plainText is plainString as a string that shares the input's copy.
func (s *scanner) plainText() (string, bool) {
	start, end, ok := s.plainSpan()
	if !ok {
		return "", false
	}
	return s.substring(start, end), true
}

// plainSpan reads a string as plainString does and returns where its content starts and ends.
func (s *scanner) plainSpan() (start, end int, ok bool) {
	if s.next() != '"' {
		return 0, 0, false
	}
	start = s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return start, j, true
		case c == '\\' || c < 0x20:
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// value reads any JSON value and returns its bytes. Strings may hold escapes; their bytes are
// not checked for UTF-8 (the caller checks the whole input).
func (s *scanner) value(depth int) ([]byte, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	c := s.next()
	start := s.i
	var ok bool
	switch {
	case c == '{':
		s.i++
		ok = true
		if !s.consume('}') {
			for ok {
				if _, ok = s.string(); !ok || !s.consume(':') {
					return nil, false
				}
				if _, ok = s.value(depth + 1); !ok {
					return nil, false
				}
				if s.consume('}') {
					break
				}
				ok = s.consume(',')
			}
		}
	case c == '[':
		s.i++
		ok = true
		if !s.consume(']') {
			for ok {
				if _, ok = s.value(depth + 1); !ok {
					return nil, false
				}
				if s.consume(']') {
					break
				}
				ok = s.consume(',')
			}
		}
	case c == '"':
		_, ok = s.string()
	case c == 't':
		ok = s.literal("true")
	case c == 'f':
		ok = s.literal("false")
	case c == 'n':
		ok = s.literal("null")
	default:
		ok = s.number()
	}
	if !ok {
		return nil, false
	}
	return s.b[start:s.i], true
}

// string reads a string, escapes included, and returns its bytes with the quotes.
func (s *scanner) string() ([]byte, bool) {
	if s.next() != '"' {
		return nil, false
	}
	start := s.i
	for j := start + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:s.i], true
		case c < 0x20:
			return nil, false
		case c == '\\':
			j++
			if j >= len(s.b) {
				return nil, false
			}
			switch s.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s.b) {
					return nil, false
				}
				for _, h := range s.b[j+1 : j+5] {
					if !isHex(h) {
						return nil, false
					}
				}
				j += 4
			default:
				return nil, false
			}
		}
	}
	return nil, false
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func (s *scanner) literal(word string) bool {
	if strings.HasPrefix(string(s.b[s.i:min(len(s.b), s.i+len(word))]), word) {
		s.i += len(word)
		return true
	}
	return false
}

// number reads a JSON number.
func (s *scanner) number() bool {
	j := s.i
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	switch {
	case j < len(s.b) && s.b[j] == '0':
		j++
	case j < len(s.b) && '1' <= s.b[j] && s.b[j] <= '9':
		j = digits(s.b, j)
	default:
		return false
	}
	if j < len(s.b) && s.b[j] == '.' {
		k := digits(s.b, j+1)
		if k == j+1 {
			return false
		}
		j = k
	}
	if j < len(s.b) && (s.b[j] == 'e' || s.b[j] == 'E') {
		j++
		if j < len(s.b) && (s.b[j] == '+' || s.b[j] == '-') {
			j++
		}
		k := digits(s.b, j)
		if k == j {
			return false
		}
		j = k
	}
	s.i = j
	return true
}

// digits returns the index after the run of decimal digits starting at j.
func digits(b []byte, j int) int {
	for j < len(b) && '0' <= b[j] && b[j] <= '9' {
		j++
	}
	return j
}

// smallInt reads an integer of at most 9 digits, without fraction or exponent, the way
// encoding/json fills an int.
func (s *scanner) smallInt() (int, bool) {
	s.space()
	start := s.i
	if !s.number() {
		return 0, false
	}
	text := s.b[start:s.i]
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	if len(text) == 0 || len(text) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range text {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// fastEvents reads a batch body, a JSON array of events in the plain subset (see above).
func fastEvents(body []byte) ([]cloudevents.Event, bool) {
	if !utf8.Valid(body) {
		return nil, false
	}
	s := &scanner{b: body}
	if !s.consume('[') || s.next() == ']' {
		return nil, false
	}
	events := make([]cloudevents.Event, 0, 16)
	for {
		e, ok := s.event()
		if !ok {
			return nil, false
		}
		events = append(events, e)
		if s.consume(']') {
			break
		}
		if !s.consume(',') {
			return nil, false
		}
	}
	if !s.end() {
		return nil, false
	}
	return events, true
}

// fastEvent reads one event in the plain subset (see above).
func fastEvent(object []byte) (cloudevents.Event, bool) {
	if !utf8.Valid(object) {
		return cloudevents.Event{}, false
	}
	s := &scanner{b: object}
	e, ok := s.event()
	if !ok || !s.end() {
		return cloudevents.Event{}, false
	}
	return e, true
}

// members are the members of one event object in the plain subset: each attribute's name and
// where its value lies in the input, and the data.
type members struct {
	attrs   [maxFastAttributes]span
	n       int
	data    []byte
	hasData bool
}

// span is one attribute of members: its name and where its text starts and ends in the input.
type span struct {
	name       string
	start, end int
}

// members reads one event object; it gives up on any member that is not a plain attribute or
// data, and on an attribute given twice.
func (s *scanner) members(m *members) bool {
	if !s.consume('{') || s.next() == '}' {
		return false
	}
	for {
		nameStart, nameEnd, ok := s.plainSpan()
		if !ok || !s.consume(':') {
			return false
		}
		name := s.b[nameStart:nameEnd]
		if string(name) == memberData {
			if m.hasData {
				return false
			}
			if m.data, ok = s.value(0); !ok {
				return false
			}
			m.hasData = true
		} else {
			start, end, ok := s.plainSpan()
			if !ok || m.n == len(m.attrs) || len(name) == 0 || string(name) == memberDataBase64 {
				return false
			}
			for _, a := range m.attrs[:m.n] {
				if a.name == string(name) {
					return false
				}
			}
			m.attrs[m.n] = span{name: s.attributeName(nameStart, nameEnd), start: start, end: end}
			m.n++
		}
		if s.consume('}') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

// event reads one event object (see members).
func (s *scanner) event() (cloudevents.Event, bool) {
	var m members
	if !s.members(&m) {
		return cloudevents.Event{}, false
	}
	var attrs [maxFastAttributes]attribute
	for i, a := range m.attrs[:m.n] {
		attrs[i] = textAttribute(a.name, s.substring(a.start, a.end))
	}
	e, err := fromAttributes(attrs[:m.n])
	if err != nil {
		return e, false
	}
	if m.hasData && string(m.data) != "null" {
		if ct := e.DataContentType(); ct != "" && !IsJSONMediaType(ct) {
			return e, false
		}
		e.DataEncoded = m.data
	}
	return e, true
}

// maxFastAttributes is the most attributes an event read by the fast path may have: the eight
// context attributes and MaxExtensions extensions.
const maxFastAttributes = 8 + MaxExtensions

// fastInteraction reads an event's data, a JSON object, into an Interaction the way
// json.Unmarshal would, when data is in the plain subset and names each field exactly.
func fastInteraction(data []byte) (Interaction, bool) {
	var in Interaction
	s := &scanner{b: data}
	if !s.consume('{') {
		return in, false
	}
	var seen [6]bool
	if !s.consume('}') {
		for {
			name, ok := s.plainString()
			if !ok || !s.consume(':') {
				return in, false
			}
			field := -1
			switch string(name) {
			case "user_id":
				field = 0
			case "item_id":
				field = 1
			case "title":
				field = 2
			case "category":
				field = 3
			case "rating":
				field = 4
			case "user":
				field = 5
			default:
				// encoding/json matches names in any letter case; leave those to it.
				if foldsToField(string(name), "user_id", "item_id", "title", "category", "rating", "user") {
					return in, false
				}
				if _, ok := s.value(0); !ok {
					return in, false
				}
			}
			if field >= 0 {
				if seen[field] {
					return in, false
				}
				seen[field] = true
				if !s.interactionField(field, &in) {
					return in, false
				}
			}
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return in, false
			}
		}
	}
	return in, s.end() && utf8.Valid(data)
}

// interactionField reads the value of field number field of Interaction.
func (s *scanner) interactionField(field int, in *Interaction) bool {
	if field == 4 {
		rating, ok := s.smallInt()
		in.Rating = &rating
		return ok
	}
	if field == 5 {
		user, ok := s.user()
		in.User = user
		return ok
	}
	v, ok := s.plainText()
	switch field {
	case 0:
		in.UserID = v
	case 1:
		in.ItemID = v
	case 2:
		in.Title = v
	case 3:
		in.Category = v
	}
	return ok
}

// user reads data.user.
func (s *scanner) user() (*User, bool) {
	u := &User{}
	if !s.consume('{') {
		return nil, false
	}
	if s.consume('}') {
		return u, true
	}
	var seenAge, seenGender bool
	for {
		name, ok := s.plainString()
		if !ok || !s.consume(':') {
			return nil, false
		}
		switch string(name) {
		case "age":
			if seenAge {
				return nil, false
			}
			seenAge = true
			age, ok := s.smallInt()
			if !ok {
				return nil, false
			}
			u.Age = &age
		case "gender":
			if seenGender {
				return nil, false
			}
			seenGender = true
			v, ok := s.plainText()
			if !ok {
				return nil, false
			}
			u.Gender = v
		default:
			if foldsToField(string(name), "age", "gender") {
				return nil, false
			}
			if _, ok := s.value(0); !ok {
				return nil, false
			}
		}
		if s.consume('}') {
			return u, true
		}
		if !s.consume(',') {
			return nil, false
		}
	}
}

// foldsToField reports whether name equals one of fields in another letter case, or is not
// plain ASCII (encoding/json also folds some non-ASCII letters, such as the Kelvin sign).
func foldsToField(name string, fields ...string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

// attributeName returns the name of an attribute, without a copy for the context attributes.
func (s *scanner) attributeName(start, end int) string {
	switch string(s.b[start:end]) {
	case "specversion":
		return "specversion"
	case "id":
		return "id"
	case "source":
		return "source"
	case "type":
		return "type"
	case "subject":
		return "subject"
	case "time":
		return "time"
	case "datacontenttype":
		return "datacontenttype"
	case "dataschema":
		return "dataschema"
	}
	return s.substring(start, end)
}
