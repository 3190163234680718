package controller_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/controller"
)

// testFreshness is the operator's FreshnessReader in these tests: envtest runs no pods and has
// no cluster DNS, so it maps a pipeline to the URL of a popularity freshness handler the test
// serves, and reads it with the operator's own HTTP client code. Pipelines with no handler
// answer as an unreachable popularity does.
var testFreshness = &freshnessServers{urls: map[types.NamespacedName]string{}}

type freshnessServers struct {
	mu   sync.Mutex
	urls map[types.NamespacedName]string
}

func (f *freshnessServers) ReadFreshness(ctx context.Context, p *v1alpha1.RecommendationPipeline) (freshness.Report, error) {
	f.mu.Lock()
	url, ok := f.urls[client.ObjectKeyFromObject(p)]
	f.mu.Unlock()
	if !ok {
		return freshness.Report{}, fmt.Errorf("get popularity's freshness: no popularity serves %s in this test", p.Name)
	}
	return controller.GetFreshness(ctx, nil, url)
}

// serve makes popularity's real freshness handler answer for p from w, until the test ends.
func (f *freshnessServers) serve(t testing.TB, p *v1alpha1.RecommendationPipeline, w *freshness.Window) {
	srv := httptest.NewServer(popularity.NewFreshnessHandler(windowSource{w}, nil))
	t.Cleanup(srv.Close)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls[client.ObjectKeyFromObject(p)] = srv.URL
}

// windowSource serves a Window as the popularity view does.
type windowSource struct{ w *freshness.Window }

func (s windowSource) Freshness(now time.Time) freshness.Report {
	return freshness.NewReport(s.w.Summarize(now), freshness.DefaultWindow, now)
}

// TestFreshnessStatus follows a pipeline whose popularity serves no events, then fresh events,
// then late ones, and then gets a looser objective: FreshnessMet, status.freshness and the
// printer columns' fields follow without any other change to the pipeline.
func TestFreshnessStatus(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	p := createPipeline(t, c, "fresh")
	// Nothing runs yet: nothing to measure.
	eventually(t, waitFor, func() error {
		return wantCondition(c, p, v1alpha1.ConditionFreshnessMet, metav1.ConditionUnknown, v1alpha1.ReasonNotMeasured)
	})
	w := freshness.NewWindow(freshness.DefaultWindow, freshness.DefaultSlots)
	testFreshness.serve(t, p, w)
	makeReady(t, c, p)

	wantFreshness := func(status metav1.ConditionStatus, reason string, p99 func(time.Duration) bool, objective v1alpha1.Duration) {
		t.Helper()
		eventually(t, waitFor, func() error {
			if err := wantCondition(c, p, v1alpha1.ConditionFreshnessMet, status, reason); err != nil {
				return err
			}
			got, err := getPipeline(c, p)
			if err != nil {
				return err
			}
			fs := got.Status.Freshness
			if p99 == nil {
				if fs != nil {
					return fmt.Errorf("status.freshness = %+v, want none", fs)
				}
				return nil
			}
			if fs == nil {
				return fmt.Errorf("no status.freshness")
			}
			d, err := time.ParseDuration(fs.P99)
			if err != nil || !p99(d) || fs.Objective != objective {
				return fmt.Errorf("status.freshness = %+v, want another p99 and objective %s", fs, objective)
			}
			return nil
		})
	}
	wantFreshness(metav1.ConditionUnknown, v1alpha1.ReasonNoRecentEvents, nil, "")

	for range 100 {
		w.Observe(300*time.Millisecond, time.Now())
	}
	wantFreshness(metav1.ConditionTrue, v1alpha1.ReasonWithinObjective,
		func(d time.Duration) bool { return d >= 300*time.Millisecond && d <= 330*time.Millisecond }, v1alpha1.DefaultFreshnessObjective)

	for range 100 {
		w.Observe(5*time.Second, time.Now())
	}
	wantFreshness(metav1.ConditionFalse, v1alpha1.ReasonObjectiveMissed,
		func(d time.Duration) bool { return d >= 5*time.Second && d <= 5500*time.Millisecond }, v1alpha1.DefaultFreshnessObjective)

	p = updatePipeline(t, c, p, func(p *v1alpha1.RecommendationPipeline) { p.Spec.Popularity.FreshnessObjective = "10s" })
	wantFreshness(metav1.ConditionTrue, v1alpha1.ReasonWithinObjective,
		func(d time.Duration) bool { return d >= 5*time.Second }, "10s")

	p = updatePipeline(t, c, p, func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = true })
	wantFreshness(metav1.ConditionUnknown, v1alpha1.ReasonNotMeasured, nil, "")
}
