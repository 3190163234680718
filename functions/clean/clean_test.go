package clean

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newFunction(t *testing.T) *Function {
	t.Helper()
	f := New(config.DefaultClean(), prometheus.NewRegistry())
	f.now = func() time.Time { return now }
	return f
}

// raw returns a raw liked event; change adjusts it.
func raw(id string, change func(e *cloudevents.Event)) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("test")
	e.SetType(contract.TypeLiked)
	e.SetTime(now.Add(-time.Minute))
	_ = e.SetData(cloudevents.ApplicationJSON, map[string]any{"user_id": "u1", "item_id": "i1"})
	if change != nil {
		change(&e)
	}
	return e
}

func data(v string) func(*cloudevents.Event) {
	return func(e *cloudevents.Event) { _ = e.SetData(cloudevents.ApplicationJSON, json.RawMessage(v)) }
}

// rated makes an event a rating of stars.
func rated(stars int) func(*cloudevents.Event) {
	return func(e *cloudevents.Event) {
		e.SetType(contract.TypeRated)
		_ = e.SetData(cloudevents.ApplicationJSON, map[string]any{"user_id": "u1", "item_id": "i1", "rating": stars})
	}
}

func TestHandleNormalises(t *testing.T) {
	tests := []struct {
		name        string
		in          cloudevents.Event
		wantSubject string
		wantTime    time.Time
		wantSegment any
		wantData    string
	}{
		{
			name: "trims ids, lower-cases the category, attaches the segment",
			in: raw(" e1 ", func(e *cloudevents.Event) {
				e.SetTime(time.Date(2026, 5, 1, 13, 30, 0, 0, time.FixedZone("CEST", 2*3600)))
				data(`{"user_id":" u1 ","item_id":" i1 ","category":" Books ","title":" Dune ","user":{"age":30,"gender":"Female"}}`)(e)
			}),
			wantSubject: "i1",
			wantTime:    time.Date(2026, 5, 1, 11, 30, 0, 0, time.UTC),
			wantSegment: "25-34.f",
			wantData:    `{"user_id":"u1","item_id":"i1","title":"Dune","category":"books","user":{"age":30,"gender":"Female"}}`,
		},
		{
			name:        "an event without time gets the time it was cleaned",
			in:          raw("e2", func(e *cloudevents.Event) { e.SetTime(time.Time{}) }),
			wantSubject: "i1",
			wantTime:    now,
			wantData:    `{"user_id":"u1","item_id":"i1"}`,
		},
		{
			name:        "text is re-encoded without HTML escaping",
			in:          raw("e4", data(`{"user_id":"u1","item_id":"i1","title":"<b>Tom & Jerry</b>","category":"\u003cx\u003e"}`)),
			wantSubject: "i1",
			wantTime:    now.Add(-time.Minute),
			wantData:    `{"user_id":"u1","item_id":"i1","title":"<b>Tom & Jerry</b>","category":"<x>"}`,
		},
		{
			name: "a rating is kept",
			in: raw("e3", func(e *cloudevents.Event) {
				e.SetType(contract.TypeRated)
				data(`{"user_id":"u1","item_id":"i1","rating":2}`)(e)
			}),
			wantSubject: "i1",
			wantTime:    now.Add(-time.Minute),
			wantData:    `{"user_id":"u1","item_id":"i1","rating":2}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := newFunction(t).Handle(context.Background(), tt.in)
			if err != nil || out == nil {
				t.Fatalf("Handle = %v, %v; want a clean event", out, err)
			}
			if out.ID() != "e1" && tt.in.ID() == " e1 " {
				t.Errorf("id %q, want it trimmed", out.ID())
			}
			if out.Subject() != tt.wantSubject || !out.Time().Equal(tt.wantTime) || out.Time().Location() != time.UTC {
				t.Errorf("subject %q time %v; want %q %v in UTC", out.Subject(), out.Time(), tt.wantSubject, tt.wantTime)
			}
			if got := out.Extensions()[event.ExtensionSegment]; got != tt.wantSegment {
				t.Errorf("segment %v, want %v", got, tt.wantSegment)
			}
			if string(out.Data()) != tt.wantData || out.DataContentType() != cloudevents.ApplicationJSON {
				t.Errorf("data %s (%s), want %s as JSON", out.Data(), out.DataContentType(), tt.wantData)
			}
		})
	}
}

func TestHandleRejects(t *testing.T) {
	tests := []struct {
		name       string
		in         cloudevents.Event
		wantReason event.Reason
		wantField  string
	}{
		{"missing id", raw("", nil), event.ReasonMissingField, "id"},
		{"id over 256 bytes", raw(string(make([]byte, 257)), nil), event.ReasonInvalidField, "id"},
		{"missing source", raw("e", func(e *cloudevents.Event) { e.SetSource("") }), event.ReasonMissingField, "source"},
		{"missing type", raw("e", func(e *cloudevents.Event) { e.SetType("") }), event.ReasonMissingField, "type"},
		{"unknown type", raw("e", func(e *cloudevents.Event) { e.SetType("dev.recoflow.item.poked.v1") }), event.ReasonUnknownType, "type"},
		{"no data", raw("e", func(e *cloudevents.Event) { e.DataEncoded = nil }), event.ReasonMissingField, "data"},
		{"data not JSON", raw("e", func(e *cloudevents.Event) { _ = e.SetData("text/plain", []byte("hi")) }), event.ReasonDataNotJSON, "datacontenttype"},
		{"data malformed", raw("e", func(e *cloudevents.Event) { e.DataEncoded = []byte(`{"user_id":`) }), event.ReasonDataNotJSON, "data"},
		{"missing user_id", raw("e", data(`{"item_id":"i1"}`)), event.ReasonMissingField, "data.user_id"},
		{"missing item_id", raw("e", data(`{"user_id":"u1"}`)), event.ReasonMissingField, "data.item_id"},
		{"item_id not a string", raw("e", data(`{"user_id":"u1","item_id":7}`)), event.ReasonInvalidField, "data.item_id"},
		{"subject mismatch", raw("e", func(e *cloudevents.Event) { e.SetSubject("i2") }), event.ReasonSubjectMismatch, "subject"},
		{"rating out of range", raw("e", func(e *cloudevents.Event) {
			e.SetType(contract.TypeRated)
			data(`{"user_id":"u1","item_id":"i1","rating":0}`)(e)
		}), event.ReasonInvalidRating, "data.rating"},
		{"rating on a view", raw("e", func(e *cloudevents.Event) {
			e.SetType(contract.TypeViewed)
			data(`{"user_id":"u1","item_id":"i1","rating":3}`)(e)
		}), event.ReasonInvalidRating, "data.rating"},
		{"user_id not UTF-8", raw("e", func(e *cloudevents.Event) { e.DataEncoded = []byte("{\"user_id\":\"\xff\",\"item_id\":\"i1\"}") }), event.ReasonInvalidField, "data.user_id"},
		{"age out of range", raw("e", data(`{"user_id":"u1","item_id":"i1","user":{"age":151}}`)), event.ReasonInvalidField, "data.user.age"},
		{"specversion 0.3, which ingest refuses too", raw("e", func(e *cloudevents.Event) { e.SetSpecVersion("0.3") }), event.ReasonInvalidField, "specversion"},
		{"a segment written straight to the raw topic", raw("e", func(e *cloudevents.Event) { e.SetExtension(event.ExtensionSegment, "18-24.m") }), event.ReasonInvalidField, "segment"},
		{"title over its limit", raw("e", data(`{"user_id":"u1","item_id":"i1","title":"`+strings.Repeat("<", event.MaxTitleBytes+1)+`"}`)), event.ReasonInvalidField, "data.title"},
		{"more than 5 minutes ahead", raw("e", func(e *cloudevents.Event) { e.SetTime(now.Add(5*time.Minute + time.Second)) }), event.ReasonTimeInFuture, "time"},
		{"older than 7 days", raw("e", func(e *cloudevents.Event) { e.SetTime(now.Add(-7*24*time.Hour - time.Second)) }), event.ReasonTooOld, "time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := newFunction(t).Handle(context.Background(), tt.in)
			var invalid *event.Error
			if out != nil || !errors.As(err, &invalid) {
				t.Fatalf("Handle = %v, %v; want an *event.Error", out, err)
			}
			if invalid.Reason != tt.wantReason || invalid.Field != tt.wantField {
				t.Errorf("rejected with %s on %q (%s), want %s on %q", invalid.Reason, invalid.Field, invalid.Message, tt.wantReason, tt.wantField)
			}
		})
	}
}

func TestHandleAcceptsTimesAtTheLimits(t *testing.T) {
	for _, at := range []time.Time{now.Add(5 * time.Minute), now.Add(-7 * 24 * time.Hour)} {
		if out, err := newFunction(t).Handle(context.Background(), raw("e", func(e *cloudevents.Event) { e.SetTime(at) })); err != nil || out == nil {
			t.Errorf("event at %v: %v, %v; want it accepted", at, out, err)
		}
	}
}

func TestHandleDropsDuplicates(t *testing.T) {
	at := func(d time.Duration) func(*cloudevents.Event) {
		return func(e *cloudevents.Event) { e.SetTime(now.Add(-time.Hour + d)) }
	}
	tests := []struct {
		name   string
		events []cloudevents.Event
		// kept lists which events come out, by index.
		kept []int
		ids  float64 // duplicates by id
		hits float64 // duplicates by interaction
	}{
		{
			name:   "a retried event",
			events: []cloudevents.Event{raw("e1", at(0)), raw("e1", at(0))},
			kept:   []int{0}, ids: 1,
		},
		{
			name:   "a retried event with padded id",
			events: []cloudevents.Event{raw("e1", at(0)), raw(" e1", at(0))},
			kept:   []int{0}, ids: 1,
		},
		{
			name:   "the same like again within the window",
			events: []cloudevents.Event{raw("e1", at(0)), raw("e2", at(9*time.Minute))},
			kept:   []int{0}, hits: 1,
		},
		{
			name:   "the same like again earlier, out of order",
			events: []cloudevents.Event{raw("e1", at(9*time.Minute)), raw("e2", at(0))},
			kept:   []int{0}, hits: 1,
		},
		{
			name:   "the same like after the window",
			events: []cloudevents.Event{raw("e1", at(0)), raw("e2", at(10*time.Minute))},
			kept:   []int{0, 1},
		},
		{
			name:   "another action on the item",
			events: []cloudevents.Event{raw("e1", at(0)), raw("e2", func(e *cloudevents.Event) { at(time.Minute)(e); e.SetType(contract.TypeViewed) })},
			kept:   []int{0, 1},
		},
		{
			name: "another user likes the item",
			events: []cloudevents.Event{raw("e1", at(0)), raw("e2", func(e *cloudevents.Event) {
				at(time.Minute)(e)
				data(`{"user_id":"u2","item_id":"i1"}`)(e)
			})},
			kept: []int{0, 1},
		},
		{
			name:   "the same id from another source",
			events: []cloudevents.Event{raw("e1", at(0)), raw("e1", func(e *cloudevents.Event) { e.SetSource("other"); data(`{"user_id":"u2","item_id":"i1"}`)(e) })},
			kept:   []int{0, 1},
		},
		{
			name: "like, unlike, like: every change of state counts",
			events: []cloudevents.Event{
				raw("e1", at(0)),
				raw("e2", func(e *cloudevents.Event) { at(time.Minute)(e); e.SetType(contract.TypeUnliked) }),
				raw("e3", at(2*time.Minute)),
				raw("e4", at(3*time.Minute)), // a repeat of the latest state
				raw("e5", func(e *cloudevents.Event) { at(4 * time.Minute)(e); e.SetType(contract.TypeUnliked) }),
			},
			kept: []int{0, 1, 2, 4}, hits: 1,
		},
		{
			name: "a changed rating counts, the same rating again does not",
			events: []cloudevents.Event{
				raw("e1", func(e *cloudevents.Event) { at(0)(e); rated(4)(e) }),
				raw("e2", func(e *cloudevents.Event) { at(time.Minute)(e); rated(4)(e) }),
				raw("e3", func(e *cloudevents.Event) { at(2 * time.Minute)(e); rated(5)(e) }),
			},
			kept: []int{0, 2}, hits: 1,
		},
		{
			name: "ids that join to the same bytes are different users and items",
			events: []cloudevents.Event{
				raw("e1", func(e *cloudevents.Event) {
					at(0)(e)
					data("{\"user_id\":\"a\\u0000b\",\"item_id\":\"c\"}")(e)
					e.SetSubject("c")
				}),
				raw("e2", func(e *cloudevents.Event) {
					at(0)(e)
					data("{\"user_id\":\"a\",\"item_id\":\"b\\u0000c\"}")(e)
					e.SetSubject("b\x00c")
				}),
			},
			kept: []int{0, 1},
		},
		{
			name: "sources and ids that join to the same bytes are different events",
			events: []cloudevents.Event{
				raw("b\x00c", func(e *cloudevents.Event) { at(0)(e); e.SetSource("a") }),
				raw("c", func(e *cloudevents.Event) {
					at(0)(e)
					e.SetSource("a\x00b")
					data(`{"user_id":"u2","item_id":"i1"}`)(e)
				}),
			},
			kept: []int{0, 1},
		},
		{
			name:   "an invalid event does not shadow a valid one",
			events: []cloudevents.Event{raw("e1", func(e *cloudevents.Event) { e.SetSubject("wrong") }), raw("e1", at(0))},
			kept:   []int{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFunction(t)
			var kept []int
			for i, e := range tt.events {
				if out, _ := f.Handle(context.Background(), e); out != nil {
					kept = append(kept, i)
				}
			}
			if !slices.Equal(kept, tt.kept) {
				t.Errorf("kept events %v, want %v", kept, tt.kept)
			}
			if got := testutil.ToFloat64(f.duplicates.WithLabelValues(DuplicateID)); got != tt.ids {
				t.Errorf("id duplicates = %v, want %v", got, tt.ids)
			}
			if got := testutil.ToFloat64(f.duplicates.WithLabelValues(DuplicateInteraction)); got != tt.hits {
				t.Errorf("interaction duplicates = %v, want %v", got, tt.hits)
			}
		})
	}
}

func TestRememberedEventsAreDuplicates(t *testing.T) {
	// Another replica cleaned e1 earlier; this one reads it back from the clean topic.
	earlier := newFunction(t)
	cleaned, err := earlier.Handle(context.Background(), raw("e1", nil))
	if err != nil || cleaned == nil {
		t.Fatalf("Handle = %v, %v", cleaned, err)
	}
	f := newFunction(t)
	if err := f.Remember(cleaned); err != nil {
		t.Fatal(err)
	}
	if out, err := f.Handle(context.Background(), raw("e1", nil)); out != nil || err != nil {
		t.Errorf("a retry of a remembered event came out: %v, %v", out, err)
	}
	if out, _ := f.Handle(context.Background(), raw("e2", data(`{"user_id":"u2","item_id":"i1"}`))); out == nil {
		t.Error("an unrelated event was dropped")
	}
	bad := raw("e3", nil)
	bad.DataEncoded = []byte("{")
	if err := f.Remember(&bad); err == nil {
		t.Error("Remember accepted an event whose data is not JSON")
	}
}
