package popularity_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
	"github.com/recoflow/recoflow/functions/serve"
)

// startMode runs popularity with cfg in mode on a random port and returns its base URL.
func startMode(t *testing.T, cfg config.Popularity, mode string) string {
	t.Helper()
	cfg.Mode = mode
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := serve.Options{Listener: ln, Logger: slog.New(slog.DiscardHandler)}
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error { return popularity.Run(ctx, cfg, opts) }))
	return "http://" + ln.Addr().String()
}

// TestScoringAndServingSplit runs popularity as Kubernetes does: one process scoring, one serving.
// Serving answers exactly what scoring computed, without joining the consumer group; scoring is
// ready with no API at all.
func TestScoringAndServingSplit(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 3)
	cfg := cluster.Config("split")
	scoring := startMode(t, cfg, contract.PopularityModeScoring)
	serving := startMode(t, cfg, contract.PopularityModeServing)

	for name, base := range map[string]string{"scoring": scoring, "serving": serving} {
		kafkatest.Eventually(t, 20*time.Second, func() error {
			if code, body, err := get(base + "/readyz"); err != nil || code != http.StatusOK {
				return fmt.Errorf("%s readyz %d %s %v, want 200", name, code, body, err)
			}
			return nil
		})
	}
	if code, _, _ := get(scoring + "/v1/top"); code != http.StatusNotFound {
		t.Errorf("scoring GET /v1/top: %d, want 404: scoring serves no API", code)
	}

	gen := popularitytest.NewGenerator(13, 40, time.Now())
	model := popularitytest.NewModel(cfg)
	events := gen.Events(300)
	if err := cluster.NewPublisher(t).Publish(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
	model.Add(events...)
	served := popularitytest.HTTPRanking{BaseURL: serving, HalfLife: cfg.HalfLife}
	kafkatest.Eventually(t, 30*time.Second, func() error { return model.Check(served, time.Now()) })

	// Only scoring is a member of the consumer group; serving reads the changelog without one.
	admin, err := sarama.NewClusterAdmin(cluster.Brokers, kafka.NewSaramaConfig("mode-test-admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	groups, err := admin.DescribeConsumerGroups([]string{cfg.Group})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || len(groups[0].Members) != 1 {
		t.Fatalf("group %s = %+v, want exactly one member, the scoring process", cfg.Group, groups)
	}
}
