package event_test

import (
	"encoding/json"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

func TestNormalise(t *testing.T) {
	received := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	e := newEvent(t, `{"user_id":"  u1 ","item_id":" item-1 ","category":" Music ","user":{"age":29,"gender":"Female"}}`, func(e *cloudevents.Event) {
		e.SetID(" evt-1 ")
		e.SetSubject("")
	})
	in, err := event.Validate(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := event.Normalise(&e, in, received); err != nil {
		t.Fatal(err)
	}
	var got event.Interaction
	if err := json.Unmarshal(e.Data(), &got); err != nil {
		t.Fatal(err)
	}
	if e.ID() != "evt-1" || e.Subject() != "item-1" || !e.Time().Equal(received) || e.Time().Location() != time.UTC {
		t.Errorf("attributes id=%q subject=%q time=%v, want trimmed id, subject item-1, received time in UTC", e.ID(), e.Subject(), e.Time())
	}
	if got.UserID != "u1" || got.ItemID != "item-1" || got.Category != "music" {
		t.Errorf("data = %+v, want trimmed ids and lower-case category", got)
	}
	if seg := e.Extensions()[event.ExtensionSegment]; seg != "25-34.f" {
		t.Errorf("segment = %v, want 25-34.f", seg)
	}
}

func TestSegment(t *testing.T) {
	age := func(n int) *int { return &n }
	tests := []struct {
		user *event.User
		want string
	}{
		{nil, ""},
		{&event.User{}, ""},
		{&event.User{Age: age(17), Gender: "m"}, "under-18.m"},
		{&event.User{Age: age(18)}, "18-24.unknown"},
		{&event.User{Age: age(44), Gender: "nonbinary"}, "35-44.x"},
		{&event.User{Age: age(70), Gender: " F "}, "65+.f"},
		{&event.User{Gender: "male"}, "unknown.m"},
	}
	for _, tt := range tests {
		if got := event.Segment(tt.user); got != tt.want {
			t.Errorf("Segment(%+v) = %q, want %q", tt.user, got, tt.want)
		}
	}
}

func TestActionTypesRoundTrip(t *testing.T) {
	for _, a := range contract.Actions {
		got, ok := contract.ActionOf(a.Type())
		if !ok || got != a {
			t.Errorf("ActionOf(%q) = %q, %v; want %q", a.Type(), got, ok, a)
		}
	}
	if _, ok := contract.ActionOf(contract.TypePopularity); ok {
		t.Error("the popularity type is not an interaction")
	}
}
