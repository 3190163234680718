package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

func fixedNow() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }

func testGenerator(stream uint64) *Generator {
	return NewGenerator(GeneratorOptions{Seed: 42, Stream: stream, IDPrefix: "test", Items: 500, Users: 1000, Now: fixedNow})
}

func TestGeneratorEventsAreValid(t *testing.T) {
	gen := testGenerator(0)
	seen := map[string]bool{}
	for range 5_000 {
		s := gen.Next()
		e, err := s.Event()
		if err != nil {
			t.Fatalf("Event(): %v", err)
		}
		in, err := event.Validate(e)
		if err != nil {
			t.Fatalf("generated event %s breaks the contract: %v", e, err)
		}
		if !reflect.DeepEqual(in, s.Data) {
			t.Fatalf("payload decodes to %+v, want %+v", in, s.Data)
		}
		if e.Subject() != s.Data.ItemID {
			t.Fatalf("subject %q, want the item id %q", e.Subject(), s.Data.ItemID)
		}
		if seen[e.ID()] {
			t.Fatalf("event id %q repeats", e.ID())
		}
		seen[e.ID()] = true
	}
}

func TestGeneratorMix(t *testing.T) {
	const n = 20_000
	gen := testGenerator(0)
	actions := map[contract.Action]int{}
	withUser, head, items, users := 0, 0, map[string]bool{}, map[string]bool{}
	categoryOf := map[string]string{}
	for range n {
		s := gen.Next()
		actions[s.Action]++
		if s.Data.User != nil {
			withUser++
		}
		if s.Data.ItemID == "item-0" {
			head++
		}
		items[s.Data.ItemID], users[s.Data.UserID] = true, true
		if c, ok := categoryOf[s.Data.ItemID]; ok && c != s.Data.Category {
			t.Fatalf("item %s is in category %q and %q", s.Data.ItemID, c, s.Data.Category)
		}
		categoryOf[s.Data.ItemID] = s.Data.Category
	}
	for _, a := range contract.Actions {
		if actions[a] == 0 {
			t.Errorf("no %s event in %d", a, n)
		}
	}
	if share := float64(actions[contract.ActionLiked]) / n; share < 0.55 || share > 0.65 {
		t.Errorf("likes are %.2f of the events, want about 0.6", share)
	}
	if share := float64(withUser) / n; share < 0.28 || share > 0.38 {
		t.Errorf("%.2f of the events describe the user, want about a third", share)
	}
	if len(items) > 500 || len(users) > 1000 {
		t.Errorf("%d items and %d users, want at most 500 and 1000", len(items), len(users))
	}
	// Item popularity is skewed like real traffic: item-0, the head of the Zipf law, gets far
	// more than an equal share.
	if head < 10*n/500 {
		t.Errorf("item-0 got %d of %d events, want at least ten times an equal share", head, n)
	}
}

func TestGeneratorIsReproducible(t *testing.T) {
	a, b, other := testGenerator(3), testGenerator(3), testGenerator(4)
	differs := false
	for range 100 {
		sa, sb, so := a.Next(), b.Next(), other.Next()
		if !reflect.DeepEqual(sa, sb) {
			t.Fatalf("same seed and stream gave %+v and %+v", sa, sb)
		}
		if sa.ID == so.ID {
			t.Fatalf("streams 3 and 4 both made event id %q", sa.ID)
		}
		differs = differs || !reflect.DeepEqual(sa.Data, so.Data)
	}
	if !differs {
		t.Error("streams 3 and 4 made the same events")
	}
}

// decodeRequest reads the CloudEvents of an encoded request the way the sdk's HTTP receiver
// does.
func decodeRequest(t *testing.T, h http.Header, body []byte) []cloudevents.Event {
	t.Helper()
	msg := cehttp.NewMessage(h, io.NopCloser(bytes.NewReader(body)))
	ctx := context.Background()
	if msg.ReadEncoding() == binding.EncodingBatch {
		events, err := binding.ToEvents(ctx, msg, msg.BodyReader)
		if err != nil {
			t.Fatalf("decode batch: %v", err)
		}
		return events
	}
	e, err := binding.ToEvent(ctx, msg)
	if err != nil {
		t.Fatalf("decode event: %v", err)
	}
	return []cloudevents.Event{*e}
}

func TestEncodersWriteTheSampleEvents(t *testing.T) {
	gen := testGenerator(0)
	samples := make([]Sample, 50)
	for i := range samples {
		samples[i] = gen.Next()
	}
	tests := []struct {
		name    string
		encode  encoder
		samples []Sample
	}{
		{"binary", encodeBinary, samples[:1]},
		{"batch", encodeBatch, samples},
		{"batch of one", encodeBatch, samples[1:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			body, err := tt.encode(h, tt.samples)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeRequest(t, h, body)
			if len(got) != len(tt.samples) {
				t.Fatalf("decoded %d events, want %d", len(got), len(tt.samples))
			}
			for i, e := range got {
				want, _ := tt.samples[i].Event()
				if _, err := event.Validate(e); err != nil {
					t.Errorf("event %d breaks the contract: %v", i, err)
				}
				if e.ID() != want.ID() || e.Type() != want.Type() || e.Source() != want.Source() ||
					e.Subject() != want.Subject() || !e.Time().Equal(want.Time()) || !bytes.Equal(e.Data(), want.Data()) {
					t.Errorf("event %d decodes to\n%s\nwant\n%s", i, e, want)
				}
			}
		})
	}
}

func TestEncodeLike(t *testing.T) {
	s := testGenerator(0).Next()
	h := http.Header{}
	body, err := encodeLike(h, []Sample{s})
	if err != nil {
		t.Fatal(err)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	for _, field := range []string{s.Data.UserID, s.Data.ItemID, s.Data.Category} {
		if !strings.Contains(string(body), strconv.Quote(field)) {
			t.Errorf("like body %s lacks %q", body, field)
		}
	}
	if _, err := encodeLike(h, make([]Sample, 2)); err == nil {
		t.Error("encodeLike took two samples, want an error: a plain like is one event")
	}
}
