package popularity_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
	"github.com/recoflow/recoflow/functions/serve"
)

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestRunIsReadyOnceStateIsRestored holds the popularity topic behind an open transaction, so the
// processor cannot finish restoring: /readyz answers 503 until the transaction ends, and then
// 200; /metrics shows the function's metrics.
func TestRunIsReadyOnceStateIsRestored(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 1)
	cfg := cluster.Config("ready")
	writerConfig := kafka.NewSaramaConfig("test-writer")
	writerConfig.Producer.Transaction.ID = "some-other-writer"
	writer, err := sarama.NewSyncProducer(cluster.Brokers, writerConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if err := writer.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := writer.SendMessage(&sarama.ProducerMessage{Topic: cfg.Topics.Popularity, Value: sarama.StringEncoder("pending")}); err != nil {
		t.Fatal(err)
	}

	// The restore asks where the changelog ends, then keeps fetching it and stays behind the
	// open transaction: several fetch round trips after it began, it is still not done. (Only
	// the restore asks with read_uncommitted isolation.)
	var restoring atomic.Bool
	var fetches atomic.Int32
	cluster.ControlKey(kmsg.ListOffsets.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if req.(*kmsg.ListOffsetsRequest).IsolationLevel == 0 {
			restoring.Store(true)
		}
		return nil, nil, false
	})
	cluster.ControlKey(kmsg.Fetch.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if restoring.Load() {
			fetches.Add(1)
		}
		return nil, nil, false
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	opts := serve.Options{Listener: ln, Logger: slog.New(slog.DiscardHandler)}
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error { return popularity.Run(ctx, cfg, opts) }))

	kafkatest.Eventually(t, 20*time.Second, func() error {
		code, body, err := get(base + "/readyz")
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "processor: restoring") {
			return fmt.Errorf("readyz %d %s, want 503 while the processor restores", code, body)
		}
		return nil
	})
	kafkatest.Eventually(t, 20*time.Second, func() error {
		if n := fetches.Load(); n < 10 {
			return fmt.Errorf("%d fetches since the restore began", n)
		}
		return nil
	})
	if code, body, _ := get(base + "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz %d %s while a transaction holds the changelog, want 503", code, body)
	}

	if err := writer.AbortTxn(); err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, 20*time.Second, func() error {
		if code, body, err := get(base + "/readyz"); err != nil || code != http.StatusOK {
			return fmt.Errorf("readyz %d %s %v, want 200", code, body, err)
		}
		return nil
	})
	code, metrics, err := get(base + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("metrics: %d %v", code, err)
	}
	for _, name := range []string{
		"recoflow_popularity_events_applied_total", "recoflow_transaction_duration_seconds",
		`recoflow_transactions_total{result="committed"}`, `recoflow_transactions_total{result="aborted"}`,
		"recoflow_transactions_stalled",
		"recoflow_popularity_tracked_items", "recoflow_popularity_view_lag_records",
	} {
		if !strings.Contains(metrics, name) {
			t.Errorf("metrics lack %s", name)
		}
	}
	if code, _, _ := get(base + "/v1/top"); code != http.StatusOK {
		t.Errorf("GET /v1/top: %d, want 200", code)
	}
	if code, _, _ := get(base + "/v1/items/" + contract.DefaultTopic(contract.TopicPopularity)); code != http.StatusNotFound {
		t.Errorf("GET an unknown item: %d, want 404", code)
	}
}
