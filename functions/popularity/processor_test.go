package popularity_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

func options() popularity.Options {
	return popularity.Options{Sarama: popularitytest.FastGroups}
}

func TestProcessorServesWhatTheEventsSay(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 4)
	cfg := cluster.Config("p1")
	pub := cluster.NewPublisher(t)
	gen := popularitytest.NewGenerator(1, 60, time.Now())
	model := popularitytest.NewModel(cfg)
	ctx := t.Context()

	// Events before the processor starts, and more while it runs.
	first := gen.Events(500)
	if err := pub.Publish(ctx, first...); err != nil {
		t.Fatal(err)
	}
	model.Add(first...)

	proc := popularity.NewProcessor(cfg, options())
	view := popularity.NewView(cfg, options())
	popularitytest.Start(t, proc)
	popularitytest.Start(t, view)
	kafkatest.Eventually(t, 20*time.Second, func() error { return model.Check(view, time.Now()) })
	if !proc.Ready() || !view.Ready() {
		t.Errorf("ready: processor %v, view %v; want both", proc.Ready(), view.Ready())
	}

	second := gen.Events(500)
	if err := pub.Publish(ctx, second...); err != nil {
		t.Fatal(err)
	}
	model.Add(second...)
	kafkatest.Eventually(t, 20*time.Second, func() error { return model.Check(view, time.Now()) })
}

// TestViewRestartsFromTheChangelog shows that a new replica's view serves the same as the one
// that watched the processor work.
func TestViewRestartsFromTheChangelog(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 3)
	cfg := cluster.Config("p1")
	pub := cluster.NewPublisher(t)
	gen := popularitytest.NewGenerator(2, 40, time.Now())
	model := popularitytest.NewModel(cfg)

	events := gen.Events(400)
	if err := pub.Publish(t.Context(), events...); err != nil {
		t.Fatal(err)
	}
	model.Add(events...)
	popularitytest.Start(t, popularity.NewProcessor(cfg, options()))
	first := popularity.NewView(cfg, options())
	popularitytest.Start(t, first)
	kafkatest.Eventually(t, 20*time.Second, func() error { return model.Check(first, time.Now()) })

	second := popularity.NewView(cfg, options())
	if second.Ready() {
		t.Fatal("a view is ready before it has read anything")
	}
	popularitytest.Start(t, second)
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if !second.Ready() {
			return errors.New("second view not ready")
		}
		return model.Check(second, time.Now())
	})
}

// TestProcessorRecoversFromFailedFlushes fails flushes at every stage while events stream in: the
// processor aborts, restores its partitions from the changelog and ends with exactly the counts
// and scores of the events.
func TestProcessorRecoversFromFailedFlushes(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 4)
	cfg := cluster.Config("p1")
	pub := cluster.NewPublisher(t)
	gen := popularitytest.NewGenerator(3, 80, time.Now())
	model := popularitytest.NewModel(cfg)

	// Fail the 2nd, 5th, 8th, ... flush, at the three stages in turn.
	stages := []popularity.Stage{popularity.StageFlush, popularity.StageProduced, popularity.StageCommitted}
	var (
		mu      sync.Mutex
		flushes int
		failed  = map[popularity.Stage]int{}
	)
	errInjected := errors.New("injected failure")
	opts := options()
	opts.Hook = func(_ context.Context, stage popularity.Stage) error {
		mu.Lock()
		defer mu.Unlock()
		if stage == popularity.StageFlush {
			flushes++
		}
		if flushes%3 == 2 && stage == stages[(flushes/3)%len(stages)] {
			failed[stage]++
			return errInjected
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	opts.Metrics = popularity.NewMetrics(reg)

	popularitytest.Start(t, popularity.NewProcessor(cfg, opts))
	view := popularity.NewView(cfg, options())
	popularitytest.Start(t, view)
	stop := pub.Stream(t, gen, model, 40)
	kafkatest.Eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range stages {
			if failed[s] < 2 {
				return fmt.Errorf("failures so far: %v", failed)
			}
		}
		return nil
	})
	stop()
	kafkatest.Eventually(t, 30*time.Second, func() error { return model.Check(view, time.Now()) })
	if aborted := kafkatest.Metric(t, reg, "recoflow_transactions_total", "aborted"); aborted < 2 {
		t.Errorf("aborted transactions = %v, want at least 2 (one per failure after producing)", aborted)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d events over %d items, %d flushes, failures %v", model.Events(), model.Items(), flushes, failed)
}
