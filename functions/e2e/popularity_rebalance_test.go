package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

// TestPopularityRebalanceKeepsCountsExact has a second processor join the group while events
// stream in, take over some partitions and work on them, and leave again: the counts and scores
// stay exact through both rebalances.
func TestPopularityRebalanceKeepsCountsExact(t *testing.T) {
	scene := newPopScene(t, 6, "member-a", 21, 150)
	cfgA, cfgB := scene.cfg, scene.cluster.Config("member-b")
	stop := scene.stream(t)

	optsA, optsB := popOptions(), popOptions()
	optsA.Metrics, optsB.Metrics = popularity.NewMetrics(prometheus.NewRegistry()), popularity.NewMetrics(prometheus.NewRegistry())
	metricsA, metricsB := optsA.Metrics, optsB.Metrics
	popularitytest.Start(t, popularity.NewProcessor(cfgA, optsA))
	kafkatest.Eventually(t, 20*time.Second, func() error { return applied("a", metricsA, 1) })

	stopB := popularitytest.Start(t, popularity.NewProcessor(cfgB, optsB))
	// b must really take part: it restores its share of the partitions and applies events.
	kafkatest.Eventually(t, 20*time.Second, func() error { return applied("b", metricsB, 200) })
	if err := stopB(); err != nil {
		t.Fatalf("b stopped with %v", err)
	}
	before := testutil.ToFloat64(metricsA.EventsApplied)
	kafkatest.Eventually(t, 20*time.Second, func() error { return applied("a after b left", metricsA, before+200) })
	stop()

	kafkatest.Eventually(t, 30*time.Second, scene.check)
	t.Logf("%d events over %d items; a applied %v, b applied %v", scene.model.Events(), scene.model.Items(),
		testutil.ToFloat64(metricsA.EventsApplied), testutil.ToFloat64(metricsB.EventsApplied))
}

func applied(who string, m *popularity.Metrics, atLeast float64) error {
	if n := testutil.ToFloat64(m.EventsApplied); n < atLeast {
		return fmt.Errorf("%s applied %v events, waiting for %v", who, n, atLeast)
	}
	return nil
}

// TestPopularityZombieIsFenced stalls a processor in the middle of a transaction, starts its
// replacement under the same name, and then lets the stalled one continue: the replacement
// fences it, its transaction never becomes visible, it stops with ErrFenced, and the counts stay
// exact.
func TestPopularityZombieIsFenced(t *testing.T) {
	scene := newPopScene(t, 3, "twin", 31, 90)
	cfg := scene.cfg
	stop := scene.stream(t)

	var (
		once     sync.Once
		produced int
	)
	stalled, release := make(chan struct{}), make(chan struct{})
	zombieOpts := popOptions()
	zombieOpts.Hook = func(_ context.Context, s popularity.Stage) error {
		if s == popularity.StageProduced {
			if produced++; produced == 3 {
				once.Do(func() { close(stalled) })
				<-release
			}
		}
		return nil
	}
	zombie := popularity.NewProcessor(cfg, zombieOpts)
	zombieDone := make(chan error, 1)
	go func() { zombieDone <- zombie.Run(context.Background()) }()
	select {
	case <-stalled:
	case <-time.After(20 * time.Second):
		t.Fatal("the first processor never reached its third transaction")
	}

	successorOpts := popOptions()
	successorOpts.Metrics = popularity.NewMetrics(prometheus.NewRegistry())
	popularitytest.Start(t, popularity.NewProcessor(cfg, successorOpts))
	// The successor works while events still arrive.
	kafkatest.Eventually(t, 30*time.Second, func() error { return applied("the successor", successorOpts.Metrics, 100) })
	stop()
	kafkatest.Eventually(t, 30*time.Second, scene.check)

	close(release)
	select {
	case err := <-zombieDone:
		if !errors.Is(err, popularity.ErrFenced) {
			t.Fatalf("the stalled processor stopped with %v, want ErrFenced", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled processor did not stop after it was fenced")
	}
	// Whatever the zombie wrote stays invisible: once no transaction is open on the changelog and
	// the view has read all of it, the view still serves exactly the model.
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if err := noOpenTransaction(scene.cluster.Brokers, scene.cfg.Topics.Popularity); err != nil {
			return err
		}
		if lag := testutil.ToFloat64(scene.metrics.ViewLag); lag != 0 {
			return fmt.Errorf("the view is %v records behind", lag)
		}
		return nil
	})
	if err := scene.check(); err != nil {
		t.Fatalf("after the zombie resumed: %v", err)
	}
}

// TestPopularityRestoreWaitsForOpenTransactions stalls a processor with a transaction open, so
// that the changelog's last stable offset stays behind it. A restore must not stop there: a
// successor that committed behind the open transaction and then left would otherwise hand a
// third processor a changelog missing that commit, and the events behind it would be lost.
func TestPopularityRestoreWaitsForOpenTransactions(t *testing.T) {
	scene := newPopScene(t, 2, "x", 41, 50)
	cfgX, cfgB, cfgC := scene.cfg, scene.cluster.Config("b"), scene.cluster.Config("c")
	cfgX.FlushInterval = time.Second // its transactions time out after 10s
	publish := func(n int) {
		t.Helper()
		events := scene.gen.Events(n)
		if err := scene.pub.Publish(t.Context(), events...); err != nil {
			t.Fatal(err)
		}
		scene.model.Add(events...)
	}
	publish(200)

	var once sync.Once
	stalled, release := make(chan struct{}), make(chan struct{})
	optsX := popOptions()
	optsX.Hook = func(_ context.Context, s popularity.Stage) error {
		if s == popularity.StageProduced {
			once.Do(func() {
				close(stalled)
				<-release
			})
		}
		return nil
	}
	popularitytest.Start(t, popularity.NewProcessor(cfgX, optsX))
	select {
	case <-stalled:
	case <-time.After(20 * time.Second):
		t.Fatal("x never reached its first transaction")
	}

	// b takes over once x is dropped from the group, but must wait for x's transaction: it keeps
	// reading the changelog, and is not ready after many reads.
	fetches := restoreFetches(t, scene.cluster, cfgB.Topics.Popularity)
	b := popularity.NewProcessor(cfgB, popOptions())
	stopB := popularitytest.Start(t, b)
	kafkatest.Eventually(t, 30*time.Second, readyOr(b, atLeast(fetches, 20, "b's restore fetches")))
	if b.Ready() {
		t.Error("b restored its partitions while x's transaction was still open")
	}
	if err := stopB(); err != nil {
		t.Fatalf("b stopped with %v", err)
	}

	// c restores behind x's transaction too; once it is reading, x's transaction ends.
	fetches.Store(0)
	c := popularity.NewProcessor(cfgC, popOptions())
	popularitytest.Start(t, c)
	kafkatest.Eventually(t, 30*time.Second, readyOr(c, atLeast(fetches, 5, "c's restore fetches")))
	if c.Ready() {
		t.Error("c restored its partitions while x's transaction was still open")
	}
	close(release) // x's commit now fails (it left the group) and its transaction aborts
	publish(200)
	kafkatest.Eventually(t, 30*time.Second, scene.check)
}
