package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kmsg"

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
// process and kill; it is not a test of its own and returns at once unless popChildEnv is set.
// The child reads its settings from the RECOFLOW_* environment like the real binary, and kills
// itself with SIGKILL, without any cleanup, when it reaches the stage popChildEnv names. It logs
// at debug level (group join, restore progress, transactions) to its output, which a failing
// crash test shows.
func TestPopularityChildProcess(t *testing.T) {
	spec, ok := os.LookupEnv(popChildEnv)
	if !ok {
		return
	}
	cfg := config.DefaultPopularity()
	if err := serve.ParseSettings("popularity", &cfg, nil, os.LookupEnv); err != nil {
		fmt.Fprintln(os.Stderr, "child settings:", err)
		os.Exit(2)
	}
	stage, nth := popularity.Stage(""), 0
	if name, n, found := strings.Cut(spec, ":"); found {
		stage = popularity.Stage(name)
		nth, _ = strconv.Atoi(n)
	}
	var reached int
	opts := popularity.Options{
		Sarama: popularitytest.FastGroups,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Hook: func(_ context.Context, s popularity.Stage) error {
			if s != stage {
				return nil
			}
			if reached++; reached == nth {
				fmt.Fprintf(os.Stderr, "child: killing myself at %s\n", spec)
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
			return nil
		},
	}
	err := popularity.NewProcessor(cfg, opts).Run(context.Background())
	fmt.Fprintln(os.Stderr, "child: processor stopped:", err)
	os.Exit(1)
}

// TestPopularityExactlyOnceAcrossCrashes kills the popularity processor, as a separate process
// and without any clean shutdown, at every point of its flush cycle and at arbitrary moments,
// while events keep arriving. Each time a new process takes over, under the same name or a new
// one. In the end every count and score is exactly what the events say: nothing lost, nothing
// counted twice.
func TestPopularityExactlyOnceAcrossCrashes(t *testing.T) {
	scene := newPopScene(t, 4, "crashy-0", 11, 120)
	cluster, cfg := scene.cluster, scene.cfg
	stop := scene.stream(t)

	// Between the offsets reaching the transaction and its end: the broker, handling the child's
	// second commit, kills it before the transaction ends.
	var (
		mu         sync.Mutex
		endTxnKill *popChild
		endTxnID   string
		endTxnSeen int
	)
	cluster.ControlKey(kmsg.EndTxn.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		end := req.(*kmsg.EndTxnRequest)
		if endTxnKill == nil || !end.Commit || end.TransactionalID != endTxnID {
			return nil, nil, false
		}
		if endTxnSeen++; endTxnSeen < 2 {
			return nil, nil, false
		}
		_ = endTxnKill.cmd.Process.Kill()
		endTxnKill = nil
		return nil, errors.New("killed the transaction's producer"), true
	})

	// Each crash is followed by a restart under the same name, as a container restarts in its pod,
	// or by a new name, as a new pod replaces a lost one and the broker must time out what the
	// old one left open.
	crashes := []struct{ at, next string }{
		{"flush:2", "crashy-0"},     // state applied in memory, nothing written
		{"produced:2", "crashy-0"},  // records written in the open transaction, not committed
		{"endtxn", "crashy-1"},      // offsets added to the transaction, EndTxn never processed
		{"committed:2", "crashy-1"}, // right after the commit
		{"produced:1", "crashy-0"},
		{"random:150ms", "crashy-0"},
		{"random:900ms", "crashy-1"},
		{"committed:1", "crashy-1"},
	}
	for _, crash := range crashes {
		var child *popChild
		switch kind, arg, _ := strings.Cut(crash.at, ":"); kind {
		case "endtxn":
			child = startPopChild(t, cfg, "never")
			mu.Lock()
			endTxnKill, endTxnID, endTxnSeen = child, popularity.NewProcessor(cfg, popOptions()).TransactionalID(), 0
			mu.Unlock()
		case "random":
			// The kill must find the instance at work. Started while the one killed before still
			// holds its session, it would spend that time parked in the group's join barrier and
			// die there, a death kfake mishandles, unlike Kafka: it may leave the next instance's
			// SyncGroup unanswered, and that instance hangs until sarama's 30s read timeout.
			waitGroupEmpty(t, cluster, cfg.Group)
			child = startPopChild(t, cfg, "never")
			delay, _ := time.ParseDuration(arg)
			time.Sleep(delay)
			_ = child.cmd.Process.Kill()
		default:
			child = startPopChild(t, cfg, crash.at)
		}
		child.waitKilled(t, 60*time.Second)
		t.Logf("killed %s at %s after %v", cfg.InstanceID, crash.at, child.lived())
		cfg.InstanceID = crash.next
	}

	// A survivor under a name already used takes over and catches up.
	cfg.InstanceID = "crashy-0"
	stopSurvivor := popularitytest.Start(t, popularity.NewProcessor(cfg, popOptions()))
	time.Sleep(500 * time.Millisecond)
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
