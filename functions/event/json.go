package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MarshalJSON encodes v as compact JSON without HTML escaping: '<', '>' and '&' stay one byte
// each, so re-encoding an event's data never makes it larger than its fields' limits allow.
func MarshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// DecodeObject decodes data, one JSON object, into v and explains a failure as an *Error that
// names the field at fault, written as field (the name of data itself, such as "data", or ""
// for a request body) and the path inside it, such as "data.user.age". With strict, a field v
// does not have is refused. Invalid UTF-8, which JSON decoding would silently replace, is
// refused and located too.
func DecodeObject(data []byte, v any, field string, strict bool) *Error {
	var err error
	if strict {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err = dec.Decode(v); err == nil {
			if _, more := dec.Token(); more != io.EOF {
				return invalid(ReasonDataNotJSON, field, "holds more than one JSON value")
			}
		}
	} else {
		err = json.Unmarshal(data, v)
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return invalid(ReasonInvalidField, joinField(field, typeErr.Field), "must be a JSON %s, not %s", jsonKind(typeErr), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return invalid(ReasonInvalidField, joinField(field, name), "is not a known field")
	default:
		return invalid(ReasonDataNotJSON, field, "is not a valid JSON object: %v", err)
	}
	if !utf8.Valid(data) {
		return invalid(ReasonInvalidField, joinField(field, invalidUTF8Path(data)), "is not valid UTF-8")
	}
	return nil
}

// joinField appends a JSON path to the name of the object it is in.
func joinField(field, path string) string {
	switch {
	case field == "":
		return path
	case path == "":
		return field
	}
	return field + "." + path
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(err *json.UnmarshalTypeError) string {
	if err.Type == nil {
		return "value"
	}
	switch k := err.Type.Kind().String(); {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "number"
	case k == "struct", k == "map":
		return "object"
	case k == "slice", k == "array":
		return "array"
	case k == "bool":
		return "boolean"
	default:
		return k
	}
}

// invalidUTF8Path returns the dotted path of the first member of the JSON object data whose key
// or string value holds invalid UTF-8, or "" when it is not found. data must be valid JSON.
func invalidUTF8Path(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	// path holds one entry per open object: the key being read or read last; "" in arrays.
	var path []string
	expectKey := false
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		raw := data[start:dec.InputOffset()]
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				path = append(path, "")
				expectKey = true
			case '}':
				path = path[:len(path)-1]
				expectKey = len(path) > 0 && path[len(path)-1] != "\x00"
			case '[':
				path = append(path, "\x00")
			case ']':
				path = path[:len(path)-1]
				expectKey = len(path) > 0 && path[len(path)-1] != "\x00"
			}
			continue
		case string:
			if expectKey {
				if !utf8.Valid(raw) {
					return dottedPath(path[:len(path)-1]) // the object holding the key
				}
				path[len(path)-1] = t
				expectKey = false
				continue
			}
			if !utf8.Valid(raw) {
				return dottedPath(path)
			}
		}
		expectKey = len(path) > 0 && path[len(path)-1] != "\x00"
	}
}

func dottedPath(path []string) string {
	var parts []string
	for _, p := range path {
		if p != "\x00" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}
