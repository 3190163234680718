package serve_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/serve"
)

// newFunction returns a Function listening on a random loopback port, and its base URL.
func newFunction(t *testing.T, common config.Common) (*serve.Function, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := serve.New("test", common, serve.Options{
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Listener:      ln,
		ProbeInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return fn, "http://" + ln.Addr().String()
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type") + " " + string(body), err
}

// expect checks that GET url answers status with a body containing want.
func expect(url string, status int, want string) error {
	code, body, err := get(url)
	if err != nil {
		return err
	}
	if code != status || !strings.Contains(body, want) {
		return fmt.Errorf("GET %s = %d %q, want %d with %q", url, code, body, status, want)
	}
	return nil
}

func TestFunctionHealthReadinessAndOrderlyShutdown(t *testing.T) {
	c := kafkatest.NewCluster(t, "in")
	common := config.DefaultCommon()
	common.Brokers = c.ListenAddrs()
	fn, url := newFunction(t, common)

	var mu sync.Mutex
	var events []string
	record := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := fn.Connect(ctx, fn.SaramaConfig("test")); err != nil {
		t.Fatal(err)
	}
	fn.OnShutdown(func() error { record("first registered closed"); return nil })
	fn.OnShutdown(func() error { record("last registered closed"); return nil })
	fn.Go(serve.ComponentFunc(func(ctx context.Context) error {
		<-ctx.Done()
		record("component finished")
		return nil
	}))
	fn.Handle("/hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") }))
	done := make(chan error, 1)
	go func() { done <- fn.Run(ctx) }()

	kafkatest.Eventually(t, 5*time.Second, func() error {
		return errors.Join(
			expect(url+"/healthz", http.StatusOK, "ok"),
			expect(url+"/readyz", http.StatusOK, "ok"),
			expect(url+"/hello", http.StatusOK, "hi"),
			expect(url+"/metrics", http.StatusOK, "recoflow_kafka_up 1"),
		)
	})

	c.Close() // Kafka goes away: not ready, but alive.
	kafkatest.Eventually(t, 10*time.Second, func() error {
		return errors.Join(
			expect(url+"/readyz", http.StatusServiceUnavailable, "application/problem+json"),
			expect(url+"/healthz", http.StatusOK, "ok"),
		)
	})

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	want := []string{"component finished", "last registered closed", "first registered closed"}
	if !slices.Equal(events, want) {
		t.Errorf("shutdown order %q, want %q", events, want)
	}
	if _, _, err := get(url + "/healthz"); err == nil {
		t.Error("the HTTP server still answers after Run returned")
	}
}

func TestFunctionStops(t *testing.T) {
	failure := errors.New("boom")
	stuck := make(chan struct{})
	defer close(stuck)
	tests := []struct {
		name      string
		component serve.ComponentFunc
		cancel    bool
		want      string
	}{
		{
			name:      "when a component fails",
			component: func(context.Context) error { return failure },
			want:      "boom",
		},
		{
			name: "when the shutdown takes too long",
			component: func(ctx context.Context) error {
				<-ctx.Done()
				<-stuck // ignores the shutdown timeout on purpose
				return nil
			},
			cancel: true,
			want:   "did not finish within 100ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			common := config.DefaultCommon()
			common.ShutdownTimeout = 100 * time.Millisecond
			fn, _ := newFunction(t, common)
			closed := false
			fn.OnShutdown(func() error { closed = true; return nil })
			fn.Go(tt.component)
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			err := fn.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error containing %q", err, tt.want)
			}
			if !closed {
				t.Error("OnShutdown functions did not run")
			}
		})
	}
}
