package popularity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
	"github.com/recoflow/recoflow/functions/serve"
)

// TestFreshnessIsMeasuredFromEventTime publishes events whose event time is now and events that
// happened ten minutes ago, once the function is ready: GET /v1/freshness and the
// recoflow_popularity_freshness_seconds histogram count every item update, and the 99th
// percentile shows the old events' ten minutes while the median stays at the recent ones.
func TestFreshnessIsMeasuredFromEventTime(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 2)
	cfg := cluster.Config("fresh")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	opts := serve.Options{Listener: ln, Logger: slog.New(slog.DiscardHandler)}
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error { return popularity.Run(ctx, cfg, opts) }))
	kafkatest.Eventually(t, 20*time.Second, func() error {
		if code, body, err := get(base + "/readyz"); err != nil || code != http.StatusOK {
			return fmt.Errorf("readyz %d %s %v", code, body, err)
		}
		return nil
	})

	var report freshness.Report
	code, body, err := get(base + freshness.Path)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %v", freshness.Path, code, err)
	}
	if err := json.Unmarshal([]byte(body), &report); err != nil || report.Samples != 0 {
		t.Fatalf("before any event: %s (%v), want no samples", body, err)
	}

	publisher := cluster.NewPublisher(t)
	gen := popularitytest.NewGenerator(7, 1_000_000, time.Now())
	fresh, stale := gen.Events(50), gen.Events(1) // one in 51: the 99th percentile is the stale one
	for i := range fresh {
		fresh[i].SetTime(time.Now())
	}
	stale[0].SetTime(time.Now().Add(-10 * time.Minute))
	if err := publisher.Publish(context.Background(), append(fresh, stale...)...); err != nil {
		t.Fatal(err)
	}

	kafkatest.Eventually(t, 20*time.Second, func() error {
		code, body, err := get(base + freshness.Path)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("GET %s: %d %v", freshness.Path, code, err)
		}
		report = freshness.Report{}
		if err := json.Unmarshal([]byte(body), &report); err != nil {
			return err
		}
		if report.Samples == 0 {
			return fmt.Errorf("no samples yet: %s", body)
		}
		if report.P99Seconds < 600 {
			return fmt.Errorf("p99 %.3fs, want the stale event's 10 minutes once it is visible", report.P99Seconds)
		}
		return nil
	})
	if report.P50Seconds > 5 || report.WindowSeconds != freshness.DefaultWindow.Seconds() {
		t.Errorf("report %+v: want a median of fresh events under 5s over a %v window", report, freshness.DefaultWindow)
	}
	_, metrics, err := get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("recoflow_popularity_freshness_seconds_count %d", report.Samples)
	if !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %q", want)
	}
	if code, _, _ := post(base + freshness.Path); code != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", freshness.Path, code)
	}
}

func post(url string) (int, string, error) {
	resp, err := http.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	return resp.StatusCode, "", nil
}
