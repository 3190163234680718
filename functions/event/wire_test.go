package event_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

// TestFromJSONNamesTheField checks that every structured event refused for one attribute names
// that attribute.
func TestFromJSONNamesTheField(t *testing.T) {
	const data = `"data":{"user_id":"u1","item_id":"i1"}`
	tests := []struct {
		name   string
		object string
		reason event.Reason // "" means the event is read and valid
		field  string
	}{
		{name: "valid", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1",` + data + `}`},
		{name: "valid with base64 data", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data_base64":"eyJ1c2VyX2lkIjoidTEiLCJpdGVtX2lkIjoiaTEifQ=="}`},
		{name: "valid, media type in capitals", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","datacontenttype":"Application/JSON",` + data + `}`},
		{name: "valid with extensions", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","traceparent":"00-1","n":7,"flag":true,` + data + `}`},
		{name: "not an object", object: `[1]`, reason: event.ReasonNotCloudEvent},
		{name: "no specversion", object: `{"id":"e1",` + data + `}`, reason: event.ReasonMissingField, field: "specversion"},
		{name: "specversion 2.0", object: `{"specversion":"2.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1",` + data + `}`, reason: event.ReasonInvalidField, field: "specversion"},
		{name: "specversion 1.0 as a number", object: `{"specversion":1.0,"id":"e1","source":"s","type":"dev.recoflow.item.liked.v1",` + data + `}`, reason: event.ReasonInvalidField, field: "specversion"},
		{name: "specversion 0.3", object: `{"specversion":"0.3","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1",` + data + `}`, reason: event.ReasonInvalidField, field: "specversion"},
		{name: "id a number", object: `{"specversion":"1.0","id":5,"source":"s","type":"dev.recoflow.item.liked.v1",` + data + `}`, reason: event.ReasonInvalidField, field: "id"},
		{name: "type null", object: `{"specversion":"1.0","id":"e1","source":"s","type":null,` + data + `}`, reason: event.ReasonInvalidField, field: "type"},
		{name: "bad time", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","time":"yesterday",` + data + `}`, reason: event.ReasonInvalidField, field: "time"},
		{name: "bad source", object: `{"specversion":"1.0","id":"e1","source":"%zz","type":"dev.recoflow.item.liked.v1",` + data + `}`, reason: event.ReasonInvalidField, field: "source"},
		{name: "bad dataschema", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","dataschema":"::",` + data + `}`, reason: event.ReasonInvalidField, field: "dataschema"},
		{name: "text/plain data", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","datacontenttype":"text/plain",` + data + `}`, reason: event.ReasonDataNotJSON, field: "datacontenttype"},
		{name: "text/plain string data", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","datacontenttype":"text/plain","data":"hi"}`, reason: event.ReasonDataNotJSON, field: "datacontenttype"},
		{name: "extension an object", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","note":{"a":1},` + data + `}`, reason: event.ReasonInvalidField, field: "note"},
		{name: "extension a fraction", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","note":1.5,` + data + `}`, reason: event.ReasonInvalidField, field: "note"},
		{name: "bad extension name", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","bad-name":"x",` + data + `}`, reason: event.ReasonInvalidField, field: "bad-name"},
		{name: "extension name in upper case", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","Tier":"x",` + data + `}`, reason: event.ReasonInvalidField, field: "Tier"},
		{name: "two names that fold to one", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","tier":"a","tIer":"b",` + data + `}`, reason: event.ReasonInvalidField, field: "tIer"},
		{name: "a context attribute in upper case", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","ID":"e2",` + data + `}`, reason: event.ReasonInvalidField, field: "ID"},
		{name: "a client's segment", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","segment":"25-34.f",` + data + `}`, reason: event.ReasonInvalidField, field: "segment"},
		{name: "data and data_base64", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data_base64":"e30=",` + data + `}`, reason: event.ReasonInvalidField, field: "data_base64"},
		{name: "data_base64 not base64", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data_base64":"!!"}`, reason: event.ReasonInvalidField, field: "data_base64"},
		{name: "data user_id a number", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":1,"item_id":"i1"}}`, reason: event.ReasonInvalidField, field: "data.user_id"},
		{name: "data user.age a string", object: `{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u","item_id":"i1","user":{"age":"x"}}}`, reason: event.ReasonInvalidField, field: "data.user.age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := event.FromJSON([]byte(tt.object))
			if err == nil {
				_, err = event.Validate(e)
			}
			checkError(t, err, tt.reason, tt.field)
		})
	}
}

// TestFromHeadersNamesTheField is TestFromJSONNamesTheField for binary content mode.
func TestFromHeadersNamesTheField(t *testing.T) {
	base := func(kv ...string) map[string]string {
		attrs := map[string]string{"specversion": "1.0", "id": "e1", "source": "s", "type": contract.TypeLiked}
		for i := 0; i < len(kv); i += 2 {
			attrs[kv[i]] = kv[i+1]
		}
		return attrs
	}
	tests := []struct {
		name        string
		attrs       map[string]string
		contentType string
		reason      event.Reason
		field       string
	}{
		{name: "valid", attrs: base(), contentType: "application/json"},
		{name: "valid, media type in capitals", attrs: base(), contentType: "Application/JSON"},
		{name: "valid, no content type", attrs: base()},
		{name: "valid time", attrs: base("time", "2026-05-01T12:00:00.5+02:00"), contentType: "application/json"},
		{name: "bad time", attrs: base("time", "yesterday"), contentType: "application/json", reason: event.ReasonInvalidField, field: "time"},
		{name: "specversion 0.3", attrs: base("specversion", "0.3"), reason: event.ReasonInvalidField, field: "specversion"},
		{name: "text/plain", attrs: base(), contentType: "text/plain", reason: event.ReasonDataNotJSON, field: "datacontenttype"},
		{name: "bad source", attrs: base("source", "%zz"), reason: event.ReasonInvalidField, field: "source"},
		{name: "blank id", attrs: base("id", " "), reason: event.ReasonMissingField, field: "id"},
		{name: "bad extension name", attrs: base("user-id", "x"), reason: event.ReasonInvalidField, field: "user-id"},
		{name: "a client's segment", attrs: base("segment", "x"), reason: event.ReasonInvalidField, field: "segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := event.FromHeaders(tt.attrs, tt.contentType, []byte(`{"user_id":"u1","item_id":"i1"}`))
			if err == nil {
				_, err = event.Validate(e)
			}
			checkError(t, err, tt.reason, tt.field)
		})
	}
}

func checkError(t *testing.T, err error, reason event.Reason, field string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("refused a valid event: %v", err)
		}
		return
	}
	var verr *event.Error
	if !errors.As(err, &verr) {
		t.Fatalf("error %v, want an *event.Error %s %q", err, reason, field)
	}
	if verr.Reason != reason || verr.Field != field || verr.Message == "" {
		t.Errorf("error reason %s field %q message %q, want %s %q", verr.Reason, verr.Field, verr.Message, reason, field)
	}
}

func TestMarshalJSONDoesNotEscapeHTML(t *testing.T) {
	title := strings.Repeat("<>&", 100)
	b, err := event.MarshalJSON(event.Interaction{UserID: "u", ItemID: "i", Title: title})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"user_id":"u","item_id":"i","title":"` + title + `"}`; string(b) != want {
		t.Errorf("MarshalJSON = %s, want %s", b, want)
	}
}

func TestDecodeObjectLocatesInvalidUTF8(t *testing.T) {
	tests := []struct{ data, field string }{
		{"{\"user_id\":\"\xff\"}", "data.user_id"},
		{"{\"a\":[\"x\",{\"b\":1}],\"user\":{\"gender\":\"\xc3\"}}", "data.user.gender"},
		{"{\"\xff\":1}", "data"},
	}
	for _, tt := range tests {
		var in event.Interaction
		err := event.DecodeObject([]byte(tt.data), &in, "data", false)
		if err == nil || err.Field != tt.field || err.Reason != event.ReasonInvalidField {
			t.Errorf("DecodeObject(%q) = %v, want invalid_field %s", tt.data, err, tt.field)
		}
	}
}

// TestIDAndTypeAreReadAsKafkaReadsThemBack checks that white space around the id and type is
// dropped on the way in, as the SDK drops it when clean reads the record from Kafka: an event
// keeps one id from ingest's answer to clean's de-duplication.
func TestIDAndTypeAreReadAsKafkaReadsThemBack(t *testing.T) {
	const data = `{"user_id":"u1","item_id":"i1"}`
	tests := []struct {
		name, id, eventType string
	}{
		{"plain", "e1", contract.TypeLiked},
		{"spaces", " e1 ", " " + contract.TypeLiked + " "},
		{"tab and no-break space", "\te1\u00a0", contract.TypeLiked + "\t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			structured, err := event.FromJSON([]byte(`{"specversion":"1.0","id":` + strconv.Quote(tt.id) +
				`,"source":"s","type":` + strconv.Quote(tt.eventType) + `,"data":` + data + `}`))
			if err != nil {
				t.Fatal(err)
			}
			binary, err := event.FromHeaders(map[string]string{"specversion": "1.0", "id": tt.id, "source": "s", "type": tt.eventType}, "application/json", []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			for mode, e := range map[string]cloudevents.Event{"structured": structured, "binary": binary} {
				if e.ID() != "e1" || e.Type() != contract.TypeLiked {
					t.Errorf("%s mode read id %q, type %q; want %q, %q", mode, e.ID(), e.Type(), "e1", contract.TypeLiked)
				}
			}
		})
	}
}
