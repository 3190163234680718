package event_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

// newEvent returns a valid liked event; mutate adjusts it per case.
func newEvent(t *testing.T, data string, mutate func(*cloudevents.Event)) cloudevents.Event {
	t.Helper()
	e := cloudevents.New()
	e.SetID("evt-1")
	e.SetSource("urn:test")
	e.SetType(contract.TypeLiked)
	e.SetSubject("item-1")
	if err := e.SetData(cloudevents.ApplicationJSON, []byte(data)); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&e)
	}
	return e
}

func TestValidate(t *testing.T) {
	const valid = `{"user_id":"u1","item_id":"item-1","title":"A song","category":"Music"}`
	long := strings.Repeat("x", event.MaxIDBytes+1)
	tests := []struct {
		name   string
		data   string
		mutate func(*cloudevents.Event)
		reason event.Reason // "" means valid
		field  string
	}{
		{name: "valid like", data: valid},
		{name: "valid without subject", data: valid, mutate: func(e *cloudevents.Event) { e.SetSubject("") }},
		{name: "valid rating", data: `{"user_id":"u1","item_id":"item-1","rating":5}`, mutate: func(e *cloudevents.Event) { e.SetType(contract.TypeRated) }},
		{name: "valid with user", data: `{"user_id":"u1","item_id":"item-1","user":{"age":30,"gender":"f"}}`},
		{name: "missing id", data: valid, mutate: func(e *cloudevents.Event) { ctx := e.Context.AsV1(); ctx.ID = ""; e.Context = ctx }, reason: event.ReasonMissingField, field: "id"},
		{name: "id too long", data: valid, mutate: func(e *cloudevents.Event) { e.SetID(long) }, reason: event.ReasonInvalidField, field: "id"},
		{name: "id not utf-8", data: valid, mutate: func(e *cloudevents.Event) { e.SetID("a\xffb") }, reason: event.ReasonInvalidField, field: "id"},
		{name: "missing source", data: valid, mutate: func(e *cloudevents.Event) { e.SetSource("") }, reason: event.ReasonMissingField, field: "source"},
		{name: "missing type", data: valid, mutate: func(e *cloudevents.Event) { e.SetType("") }, reason: event.ReasonMissingField, field: "type"},
		{name: "unknown type", data: valid, mutate: func(e *cloudevents.Event) { e.SetType("com.example.clicked") }, reason: event.ReasonUnknownType, field: "type"},
		{name: "missing data", data: "", reason: event.ReasonMissingField, field: "data"},
		{name: "data not an object", data: `"hello"`, reason: event.ReasonDataNotJSON, field: "data"},
		{name: "data not json", data: `{"user_id":`, reason: event.ReasonDataNotJSON, field: "data"},
		{name: "data content type not json", data: valid, mutate: func(e *cloudevents.Event) { e.SetDataContentType("text/plain") }, reason: event.ReasonDataNotJSON, field: "datacontenttype"},
		{name: "user_id wrong type", data: `{"user_id":7,"item_id":"item-1"}`, reason: event.ReasonInvalidField, field: "data.user_id"},
		{name: "missing user_id", data: `{"item_id":"item-1"}`, reason: event.ReasonMissingField, field: "data.user_id"},
		{name: "missing item_id", data: `{"user_id":"u1"}`, mutate: func(e *cloudevents.Event) { e.SetSubject("") }, reason: event.ReasonMissingField, field: "data.item_id"},
		{name: "item_id too long", data: `{"user_id":"u1","item_id":"` + long + `"}`, mutate: func(e *cloudevents.Event) { e.SetSubject("") }, reason: event.ReasonInvalidField, field: "data.item_id"},
		{name: "user_id not utf-8", data: "{\"user_id\":\"u\xff\",\"item_id\":\"item-1\"}", reason: event.ReasonInvalidField, field: "data.user_id"},
		{name: "item_id not utf-8", data: "{\"user_id\":\"u\",\"item_id\":\"\xc3\"}", mutate: func(e *cloudevents.Event) { e.SetSubject("") }, reason: event.ReasonInvalidField, field: "data.item_id"},
		{name: "title not utf-8", data: "{\"user_id\":\"u\",\"item_id\":\"item-1\",\"title\":\"\xfe\"}", reason: event.ReasonInvalidField, field: "data.title"},
		{name: "gender not utf-8", data: "{\"user_id\":\"u\",\"item_id\":\"item-1\",\"user\":{\"gender\":\"\xfe\"}}", reason: event.ReasonInvalidField, field: "data.user.gender"},
		{name: "specversion 0.3", data: valid, mutate: func(e *cloudevents.Event) { e.SetSpecVersion("0.3") }, reason: event.ReasonInvalidField, field: "specversion"},
		{name: "title too long", data: `{"user_id":"u1","item_id":"item-1","title":"` + strings.Repeat("<", event.MaxTitleBytes+1) + `"}`, reason: event.ReasonInvalidField, field: "data.title"},
		{name: "title at the limit", data: `{"user_id":"u1","item_id":"item-1","title":"` + strings.Repeat("<", event.MaxTitleBytes) + `"}`},
		{name: "category too long", data: `{"user_id":"u1","item_id":"item-1","category":"` + strings.Repeat("c", event.MaxCategoryBytes+1) + `"}`, reason: event.ReasonInvalidField, field: "data.category"},
		{name: "gender too long", data: `{"user_id":"u1","item_id":"item-1","user":{"gender":"` + strings.Repeat("g", event.MaxGenderBytes+1) + `"}}`, reason: event.ReasonInvalidField, field: "data.user.gender"},
		{name: "source too long", data: valid, mutate: func(e *cloudevents.Event) { e.SetSource("urn:" + strings.Repeat("s", event.MaxAttributeBytes)) }, reason: event.ReasonInvalidField, field: "source"},
		{name: "subject too long", data: valid, mutate: func(e *cloudevents.Event) { e.SetSubject(long) }, reason: event.ReasonInvalidField, field: "subject"},
		{name: "extension too long", data: valid, mutate: func(e *cloudevents.Event) { e.SetExtension("note", strings.Repeat("n", event.MaxAttributeBytes+1)) }, reason: event.ReasonInvalidField, field: "note"},
		{name: "too many extensions", data: valid, mutate: func(e *cloudevents.Event) {
			for i := range event.MaxExtensions + 1 {
				e.SetExtension("x"+strings.Repeat("a", i), "v")
			}
		}, reason: event.ReasonInvalidField, field: "extensions"},
		{name: "a client's segment", data: valid, mutate: func(e *cloudevents.Event) { e.SetExtension(event.ExtensionSegment, "25-34.f") }, reason: event.ReasonInvalidField, field: "segment"},
		{name: "data content type in capitals", data: valid, mutate: func(e *cloudevents.Event) { e.SetDataContentType("Application/JSON; charset=UTF-8") }},
		{name: "data content type +json", data: valid, mutate: func(e *cloudevents.Event) { e.SetDataContentType("application/vnd.shop+JSON") }},
		{name: "subject mismatch", data: `{"user_id":"u1","item_id":"item-2"}`, reason: event.ReasonSubjectMismatch, field: "subject"},
		{name: "rated without rating", data: valid, mutate: func(e *cloudevents.Event) { e.SetType(contract.TypeRated) }, reason: event.ReasonInvalidRating, field: "data.rating"},
		{name: "rating out of range", data: `{"user_id":"u1","item_id":"item-1","rating":6}`, mutate: func(e *cloudevents.Event) { e.SetType(contract.TypeRated) }, reason: event.ReasonInvalidRating, field: "data.rating"},
		{name: "rating on a like", data: `{"user_id":"u1","item_id":"item-1","rating":4}`, reason: event.ReasonInvalidRating, field: "data.rating"},
		{name: "negative age", data: `{"user_id":"u1","item_id":"item-1","user":{"age":-1}}`, reason: event.ReasonInvalidField, field: "data.user.age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.Validate(newEvent(t, tt.data, tt.mutate))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want no error", err)
				}
				return
			}
			var verr *event.Error
			if !errors.As(err, &verr) {
				t.Fatalf("Validate() = %v, want an *event.Error with reason %s", err, tt.reason)
			}
			if verr.Reason != tt.reason || verr.Field != tt.field {
				t.Errorf("Validate() reason %s field %q, want %s %q (%v)", verr.Reason, verr.Field, tt.reason, tt.field, err)
			}
			if verr.Message == "" {
				t.Error("error has no message for a person")
			}
		})
	}
}

func TestCheckTime(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		at     time.Time
		reason event.Reason
	}{
		{name: "no time", at: time.Time{}},
		{name: "now", at: now},
		{name: "slightly ahead", at: now.Add(4 * time.Minute)},
		{name: "too far ahead", at: now.Add(6 * time.Minute), reason: event.ReasonTimeInFuture},
		{name: "six days old", at: now.Add(-6 * 24 * time.Hour)},
		{name: "too old", at: now.Add(-8 * 24 * time.Hour), reason: event.ReasonTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cloudevents.New()
			if !tt.at.IsZero() {
				e.SetTime(tt.at)
			}
			err := event.CheckTime(e, now, 7*24*time.Hour, 5*time.Minute)
			var verr *event.Error
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("CheckTime() = %v, want nil", err)
			case tt.reason != "" && (!errors.As(err, &verr) || verr.Reason != tt.reason):
				t.Fatalf("CheckTime() = %v, want reason %s", err, tt.reason)
			}
		})
	}
}
