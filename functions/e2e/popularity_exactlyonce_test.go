package e2e

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
	"github.com/recoflow/recoflow/functions/serve"
)

// popChildEnv names the environment variable that turns the test binary into a popularity
// processor child process (see TestPopularityChildProcess). Its value says where the child kills
// itself: "<stage>:<n>" for the n-th time it reaches that flush stage, or "never".
const popChildEnv = "RECOFLOW_TEST_POPULARITY_CHILD"

// TestPopularityChildProcess is the popularity processor that the crash tests start as a child
// process and kill; it is not a test of its own and skips unless popChildEnv is set.
// The child reads its settings from the RECOFLOW_* environment like the real binary, and kills
// itself with SIGKILL, without any cleanup, when it reaches the stage popChildEnv names. It logs
// at debug level (group join, restore progress, transactions) to its output, which a failing
// crash test shows.
func TestPopularityChildProcess(t *testing.T) {
	kafkatest.RunChild(t, popChildEnv, "TestPopularityExactlyOnceAcrossCrashes", func(log *slog.Logger, hook kafkatest.Hook) error {
		cfg := config.DefaultPopularity()
		if err := serve.ParseSettings("popularity", &cfg, nil, os.LookupEnv); err != nil {
			return &kafkatest.SettingsError{Err: err}
		}
		return popularity.NewProcessor(cfg, popularity.Options{Sarama: popularitytest.FastGroups, Logger: log, Hook: hook}).Run(context.Background())
	})
}

// TestPopularityExactlyOnceAcrossCrashes kills the popularity processor, as a separate process
// and without any clean shutdown, at every point of its flush cycle and at arbitrary moments,
// while events keep arriving. Each time a new process takes over, under the same name or a new
// one. In the end every count and score is exactly what the events say: nothing lost, nothing
// counted twice.
func TestPopularityExactlyOnceAcrossCrashes(t *testing.T) {
	t.Parallel() // it spends most of its time waiting on its child processes
	scene := newPopScene(t, 4, "crashy-0", 11, 120)
	cluster, cfg := scene.cluster, scene.cfg
	stop := scene.stream(t)

	crashEverywhere(t, scene.cluster, cfg.Group, "crashy", func(instance, spec string) *kafkatest.Child {
		cfg.InstanceID = instance
		return startPopChild(t, cfg, spec)
	})

	// A survivor under a name already used takes over and catches up.
	cfg.InstanceID = "crashy-0"
	survivorOpts := popOptions()
	survivorOpts.Metrics = popularity.NewMetrics(prometheus.NewRegistry())
	stopSurvivor := popularitytest.Start(t, popularity.NewProcessor(cfg, survivorOpts))
	// The survivor works while events still arrive.
	kafkatest.Eventually(t, 30*time.Second, func() error { return applied("the survivor", survivorOpts.Metrics, 100) })
	stop()
	kafkatest.Eventually(t, 30*time.Second, scene.check)
	t.Logf("%d events over %d items served exactly", scene.model.Events(), scene.model.Items())

	// Compaction leaves the latest state of each item; a new view and a new processor restore
	// from the compacted changelog and carry on exactly. (kfake compacts even records of open
	// transactions, which Kafka never does, so compact only once none is open.)
	if err := stopSurvivor(); err != nil {
		t.Fatalf("survivor stopped with %v", err)
	}
	cluster.Compact()
	view := popularity.NewView(cfg, popOptions())
	popularitytest.Start(t, view)
	kafkatest.Eventually(t, 30*time.Second, func() error { return scene.model.Check(view, time.Now()) })
	opts := popOptions()
	opts.Metrics = popularity.NewMetrics(prometheus.NewRegistry())
	popularitytest.Start(t, popularity.NewProcessor(cfg, opts))
	more := scene.gen.Events(300)
	if err := scene.pub.Publish(t.Context(), more...); err != nil {
		t.Fatal(err)
	}
	scene.model.Add(more...)
	kafkatest.Eventually(t, 30*time.Second, func() error { return scene.model.Check(view, time.Now()) })
	restored, items := testutil.ToFloat64(opts.Metrics.RestoredRecords), scene.model.Items()
	if restored == 0 || restored > float64(2*items) {
		t.Errorf("restored %v records after compaction, want from 1 to two per item (%d items)", restored, items)
	}
}
