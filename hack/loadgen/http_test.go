package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/protocol"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

// memorySink stands in for Kafka behind the real ingest handler: it keeps the events it is
// given, read back from the records ingest would store, and refuses every call for which refuse
// returns true, which ingest answers with 503.
type memorySink struct {
	mu     sync.Mutex
	calls  int
	events []cloudevents.Event
	refuse func(call int) bool
	// onStore, when set, is called with each accepted call's events.
	onStore func([]cloudevents.Event)
}

func (s *memorySink) SendBinary(ctx context.Context, stored []event.Binary) protocol.Result {
	events := make([]cloudevents.Event, len(stored))
	for i := range stored {
		e, err := kafka.DecodeRecord(ctx, kafkatest.Consumed(kafka.EncodeBinary("raw", &stored[i])))
		if err != nil {
			return err
		}
		events[i] = *e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.refuse != nil && s.refuse(s.calls) {
		return errors.New("kafka did not answer in time")
	}
	s.events = append(s.events, events...)
	if s.onStore != nil {
		s.onStore(events)
	}
	return nil
}

// all returns the events stored so far.
func (s *memorySink) all() []cloudevents.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events
}

// newIngest serves the real ingest API over sink, with the given bearer token.
func newIngest(t *testing.T, sink ingest.Sink, token string) *httptest.Server {
	t.Helper()
	cfg := config.DefaultIngest()
	cfg.AuthToken = token
	srv := httptest.NewServer(ingest.NewHandler(cfg, sink, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv
}

// testConfig returns a small run against ingestURL.
func testConfig(mode, ingestURL string, events int64) Config {
	return Config{
		Mode: mode, Ingest: ingestURL, Connections: 4, Duration: 30 * time.Second, Events: events,
		Batch: 25, Items: 100, Users: 1000, Seed: 1, Timeout: 5 * time.Second,
	}
}

func TestHTTPModes(t *testing.T) {
	tests := []struct {
		name         string
		mode         string
		events       int64
		serverToken  string
		clientToken  string
		refuse       func(call int) bool
		wantRequests int64
		wantStatus   map[int]int64
	}{
		{name: "single", mode: ModeSingle, events: 120, wantRequests: 120, wantStatus: map[int]int64{202: 120}},
		{name: "batch", mode: ModeBatch, events: 210, wantRequests: 9, wantStatus: map[int]int64{202: 9}},
		{name: "likes", mode: ModeLikes, events: 60, wantRequests: 60, wantStatus: map[int]int64{202: 60}},
		{
			name: "kafka refuses every third request", mode: ModeSingle, events: 90,
			refuse:       func(call int) bool { return call%3 == 0 },
			wantRequests: 90, wantStatus: map[int]int64{202: 60, 503: 30},
		},
		{
			name: "token accepted", mode: ModeBatch, events: 50, serverToken: "s3cret", clientToken: "s3cret",
			wantRequests: 2, wantStatus: map[int]int64{202: 2},
		},
		{
			name: "token refused", mode: ModeSingle, events: 20, serverToken: "s3cret", clientToken: "guess",
			wantRequests: 20, wantStatus: map[int]int64{401: 20},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &memorySink{refuse: tt.refuse}
			srv := newIngest(t, sink, tt.serverToken)
			cfg := testConfig(tt.mode, srv.URL, tt.events)
			cfg.Token = tt.clientToken

			var progress bytes.Buffer
			got, err := run(context.Background(), cfg, io.Discard, &progress)
			if err != nil {
				t.Fatal(err)
			}
			stored := sink.all()
			if got.Requests != tt.wantRequests || got.Events != tt.events {
				t.Errorf("requests/events = %d/%d, want %d/%d", got.Requests, got.Events, tt.wantRequests, tt.events)
			}
			if got.Accepted != int64(len(stored)) {
				t.Errorf("summary says %d events accepted, ingest stored %d", got.Accepted, len(stored))
			}
			if !mapsEqual(got.Status, tt.wantStatus) {
				t.Errorf("status counts %v, want %v", got.Status, tt.wantStatus)
			}
			if len(got.Errors) != 0 {
				t.Errorf("errors %v (first: %s), want none", got.Errors, got.FirstError)
			}
			if got.Latency.P50 <= 0 || got.Latency.P99 < got.Latency.P50 || got.Latency.Max < got.Latency.P99 {
				t.Errorf("latency %v: want 0 < p50 <= p99 <= max", got.Latency)
			}
			ids := map[string]bool{}
			for _, e := range stored {
				if ids[e.ID()] {
					t.Errorf("event id %s stored twice", e.ID())
				}
				ids[e.ID()] = true
				if tt.mode == ModeLikes && e.Type() != contract.TypeLiked {
					t.Errorf("likes mode stored a %s event", e.Type())
				}
			}
		})
	}
}

func TestRunStopsAfterDuration(t *testing.T) {
	srv := newIngest(t, &memorySink{}, "")
	cfg := testConfig(ModeSingle, srv.URL, 0)
	cfg.Duration, cfg.Rate, cfg.Seed = 1500*time.Millisecond, 200, 0

	var progress bytes.Buffer
	got, err := run(context.Background(), cfg, io.Discard, &progress)
	if err != nil {
		t.Fatal(err)
	}
	// At 200 events/s for 1.5 s the pacer lets at most 301 events go (one is due at the start);
	// a busy machine may send fewer.
	if got.Accepted < 100 || got.Accepted > 301 {
		t.Errorf("accepted %d events, want at most 301 (200/s for 1.5 s)", got.Accepted)
	}
	if got.Seed == 0 {
		t.Error("the summary does not report the seed picked from the clock")
	}
	if got.DurationSeconds < 1.5 {
		t.Errorf("the run took %.2f s, want the 1.5 s asked for", got.DurationSeconds)
	}
	if !strings.Contains(progress.String(), "events/s") {
		t.Errorf("no progress line in 1.5 s:\n%s", progress.String())
	}
}

func TestJSONSummary(t *testing.T) {
	srv := newIngest(t, &memorySink{}, "")
	cfg := testConfig(ModeBatch, srv.URL, 100)
	cfg.JSON = true
	var out bytes.Buffer
	want, err := run(context.Background(), cfg, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	text, js, found := strings.Cut(out.String(), "\n{")
	if !found {
		t.Fatalf("no JSON in the output:\n%s", out.String())
	}
	if !strings.Contains(text, "100 accepted of 100 sent in 4 requests") {
		t.Errorf("text summary lacks the counts:\n%s", text)
	}
	var got Summary
	if err := json.Unmarshal([]byte("{"+js), &got); err != nil {
		t.Fatalf("summary JSON: %v\n%s", err, js)
	}
	if got.Accepted != 100 || got.Batch != 25 || got.Seed != 1 || got.Status[http.StatusAccepted] != 4 || got.Latency != want.Latency {
		t.Errorf("JSON summary %+v, want %+v", got, want)
	}
}

func TestRunRefusesRemoteTargets(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"ingest", Config{Mode: ModeSingle, Ingest: "http://192.0.2.1:8080"}},
		{"popularity", Config{Mode: ModeFreshness, Ingest: "http://localhost:8080", Popularity: "http://192.0.2.1:8081"}},
		{"kafka", Config{Mode: ModeRawProducer, Kafka: "localhost:9092,192.0.2.1:9092"}},
		{"https", Config{Mode: ModeSingle, Ingest: "https://localhost:8443"}},
		{"a name other than localhost", Config{Mode: ModeSingle, Ingest: "http://ingest.example:8080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Duration = time.Second
			if _, err := run(context.Background(), tt.cfg, io.Discard, io.Discard); err == nil {
				t.Errorf("run(%+v) started, want a refusal", tt.cfg)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"batch", []string{"-mode", "batch", "-batch", "100", "-connections", "8"}, ""},
		{"unknown mode", []string{"-mode", "flood"}, "unknown -mode"},
		{"unbounded", []string{"-duration", "0"}, "-duration must be positive"},
		{"freshness without rate", []string{"-mode", "freshness"}, "-rate"},
		{"freshness", []string{"-mode", "freshness", "-rate", "5000"}, ""},
		{"no connections", []string{"-connections", "0"}, "must be positive"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("parseFlags(%q): %v", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("parseFlags(%q) = %v, want an error about %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func mapsEqual[K comparable](a, b map[K]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestCheckLoopbackAcceptsThisMachine(t *testing.T) {
	for _, target := range []string{"http://localhost:8080", "http://127.0.0.1:8080/", "http://[::1]:8080", "localhost:9092", "127.0.0.2:9092"} {
		if err := checkLoopback(target); err != nil {
			t.Errorf("checkLoopback(%q): %v", target, err)
		}
	}
}
