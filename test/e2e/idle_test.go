//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// functionStates returns what status.functions reports per Deployment of a pipeline.
func functionStates(namespace, name string) (map[string]v1alpha1.FunctionStatus, error) {
	p := &v1alpha1.RecommendationPipeline{}
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, p); err != nil {
		return nil, err
	}
	out := map[string]v1alpha1.FunctionStatus{}
	for _, f := range p.Status.Functions {
		out[f.Name] = f
	}
	return out, nil
}

// waitStates waits until status.functions reports each named Deployment in the wanted state, the
// Deployment asks for zero replicas exactly when that state is Idle, and an Idle one has no pod
// left: idle is measured from zero running pods, not from pods still shutting down.
func (s *scenario) waitStates(pipeline string, want map[string]v1alpha1.FunctionState, timeout time.Duration) {
	s.t.Helper()
	eventually(s.t, timeout, fmt.Sprintf("functions of %s %v", pipeline, want), func() error {
		got, err := functionStates(s.namespace, pipeline)
		if err != nil {
			return err
		}
		for fn, state := range want {
			if got[fn].State != state {
				return fmt.Errorf("%s is %q with %d replicas, want %s; %s", fn, got[fn].State, got[fn].Replicas, state, describeHPA(s.namespace, "keda-hpa-"+fn))
			}
			if err := s.atZero(fn, state == v1alpha1.FunctionIdle); err != nil {
				return err
			}
		}
		return nil
	})
}

// atZero is nil when Deployment fn asks for zero replicas and has no pod, if zero, or asks for
// some replicas, if not.
func (s *scenario) atZero(fn string, zero bool) error {
	d := s.deployment(fn)
	if idle := *d.Spec.Replicas == 0; idle != zero {
		return fmt.Errorf("Deployment %s asks for %d replicas; %s", fn, *d.Spec.Replicas, describeHPA(s.namespace, "keda-hpa-"+fn))
	}
	if !zero {
		return nil
	}
	var pods corev1.PodList
	if err := env.c.List(context.Background(), &pods, client.InNamespace(s.namespace), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
		return err
	}
	if n := len(pods.Items); n > 0 {
		return fmt.Errorf("Deployment %s is at zero replicas but %d pods are still there", fn, n)
	}
	return nil
}

// staysIdle checks for d that the named Deployments stay at zero replicas without a pod: KEDA must
// see no lag on an idle consumer, including the transaction markers that end its input.
func (s *scenario) staysIdle(fns []string, d time.Duration) {
	s.t.Helper()
	for start := time.Now(); time.Since(start) < d; time.Sleep(time.Second) {
		for _, fn := range fns {
			if err := s.atZero(fn, true); err != nil {
				s.t.Fatalf("%s after %s idle: %v", fn, time.Since(start).Round(time.Second), err)
			}
		}
	}
}

// visibleAfter posts one like for item through ingest and returns how long after ingest's 202 the
// item showed in popularity's top list with all its likes.
func visibleAfter(t *testing.T, ingest *ingestClient, topURL, item string, timeout time.Duration) time.Duration {
	t.Helper()
	id := fmt.Sprintf("%s-%d", item, ingest.accepted[item])
	if err := ingest.post(modeLikes, like{id: id, user: id, item: item}); err != nil {
		t.Fatal(err)
	}
	accepted, want := time.Now(), ingest.accepted[item]
	var last error
	for time.Since(accepted) < timeout {
		counts, err := likeCounts(topURL, 1000)
		if err == nil && counts[item] == want {
			return time.Since(accepted)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not reach %d likes in the top list within %s (%v)", item, want, timeout, last)
	return 0
}

// freshnessReport reads popularity's freshness report at url.
func freshnessReport(t *testing.T, url string) freshness.Report {
	t.Helper()
	resp, err := http.Get(url + freshness.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r freshness.Report
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", freshness.Path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("GET %s: %v", freshness.Path, err)
	}
	return r
}

// quantile returns the q-quantile of ds (nearest rank), rounded to milliseconds.
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	i := min(max(int(q*float64(len(s))+0.5)-1, 0), len(s)-1)
	return s[i].Round(time.Millisecond)
}

// TestIdleConsumersScaleToZeroAndWake runs a pipeline whose clean and popularity scoring have
// replicas.min 0 under real KEDA. Idle, both go to zero while ingest and serving stay up; a like
// posted to ingest wakes them and shows in the top list. It logs the wake-up latency (202 to
// visible) after idle and the steady-state freshness once awake, the figures of docs/benchmarks.md.
func TestIdleConsumersScaleToZeroAndWake(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "e2e-idle", 1)
	const name = "idle"
	s.applyPipeline(name, "  scaling: {mode: KEDA, pollingInterval: 5s, cooldownPeriod: 30s}\n"+
		"  clean:\n    replicas: {min: 0, max: 3}\n  popularity:\n    replicas: {min: 0, max: 3}\n")
	useKEDA(t, s.namespace)
	waitPipelineReady(t, s.namespace, name, 4*time.Minute)

	ingest := newIngestClient(serviceURL(t, s.namespace, name+"-ingest"))
	top := serviceURL(t, s.namespace, name+"-popularity")
	idle := map[string]v1alpha1.FunctionState{
		name + "-ingest": v1alpha1.FunctionActive, name + "-clean": v1alpha1.FunctionIdle,
		name + "-popularity": v1alpha1.FunctionIdle, name + "-popularity-serving": v1alpha1.FunctionActive,
	}
	awake := map[string]v1alpha1.FunctionState{name + "-clean": v1alpha1.FunctionActive, name + "-popularity": v1alpha1.FunctionActive}

	// Nothing to read yet: both consumers go to zero after the cooldown; ingest and serving stay.
	s.waitStates(name, idle, 3*time.Minute)

	var wakes []time.Duration
	for round := range 3 {
		wake := visibleAfter(t, ingest, top, fmt.Sprintf("wake-%d", round), 3*time.Minute)
		wakes = append(wakes, wake)
		t.Logf("round %d: wake-up latency after idle (202 to visible in the top list): %s", round, wake.Round(time.Millisecond))
		s.waitStates(name, awake, time.Minute)
		if round == 0 {
			// Awake: a like a second, each timed from 202 to visible.
			var fresh []time.Duration
			for i := range 20 {
				d := visibleAfter(t, ingest, top, fmt.Sprintf("steady-%d", i%4), 30*time.Second)
				if d > 2*time.Second {
					states, _ := functionStates(s.namespace, name)
					t.Logf("steady like %d took %s; functions now %+v", i, d.Round(time.Millisecond), states)
				}
				fresh = append(fresh, d)
				time.Sleep(time.Second)
			}
			t.Logf("steady-state freshness over %d likes (202 to visible in the top list): median %s, p95 %s, max %s",
				len(fresh), quantile(fresh, 0.5), quantile(fresh, 0.95), quantile(fresh, 1))
			// Popularity's own measure, event time to visible in its view, over its last minute.
			r := freshnessReport(t, top)
			t.Logf("popularity's freshness report (event time to visible): %d samples over %.0fs, p50 %s, p99 %s",
				r.Samples, r.WindowSeconds, time.Duration(r.P50Seconds*float64(time.Second)).Round(time.Millisecond), r.P99())
		}
		// Idle again before the next cold start, and for good: the consumers committed past the
		// transaction markers that end their input, so KEDA sees no lag for six polling intervals.
		s.waitStates(name, idle, 3*time.Minute)
		if round == 0 {
			s.staysIdle([]string{name + "-clean", name + "-popularity"}, 30*time.Second)
		}
	}
	t.Logf("wake-up latency after idle over %d rounds: median %s, max %s", len(wakes), quantile(wakes, 0.5), quantile(wakes, 1))
	waitCounts(t, top, ingest.accepted, time.Minute)
}

// TestReadLoadScalesServingPastPartitions puts read load on the popularity Service: serving scales
// on CPU above the partition count while scoring, bounded by the partitions, stays at its size.
func TestReadLoadScalesServingPastPartitions(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "e2e-serving", 1)
	const name, partitions = "reads", 3 // scenario pipelines have 3 partitions
	s.applyPipeline(name, "  scaling: {mode: KEDA}\n"+
		"  popularity:\n    replicas: {min: 1, max: 3}\n"+
		// A small CPU request, so that the test's read load is well above the 70% target.
		"    serving:\n      replicas: {min: 1, max: 5}\n      resources: {requests: {cpu: 20m, memory: 64Mi}}\n")
	useKEDA(t, s.namespace)
	waitPipelineReady(t, s.namespace, name, 4*time.Minute)
	s.waitScaling(name, "KEDA")

	ingest := sendLikesInEveryMode(t, serviceURL(t, s.namespace, name+"-ingest"), "reads")
	top := serviceURL(t, s.namespace, name+"-popularity")
	waitCounts(t, top, ingest.accepted, 2*time.Minute)
	scoring := *s.deployment(name + "-popularity").Spec.Replicas

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var reads, failed atomic.Int64
	httpClient := &http.Client{Timeout: 5 * time.Second}
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := httpClient.Get(top + "/v1/top?n=100")
				if err != nil {
					failed.Add(1)
					continue
				}
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				} else {
					reads.Add(1)
				}
				resp.Body.Close()
			}
		})
	}
	defer func() { stop(); wg.Wait() }()

	eventually(t, 6*time.Minute, "serving above the partition count", func() error {
		serving := s.deployment(name + "-popularity-serving").Status.ReadyReplicas
		if n := *s.deployment(name + "-popularity").Spec.Replicas; n != scoring {
			t.Fatalf("scoring went from %d to %d replicas under read load", scoring, n)
		}
		if serving <= partitions {
			return fmt.Errorf("serving has %d ready replicas after %d reads; %s", serving, reads.Load(),
				describeHPA(s.namespace, "keda-hpa-"+name+"-popularity-serving"))
		}
		t.Logf("serving at %d ready replicas (%d partitions, scoring at %d) after %d reads, %d failed",
			serving, partitions, scoring, reads.Load(), failed.Load())
		return nil
	})
	if n, f := reads.Load(), failed.Load(); f*100 > n {
		t.Errorf("%d of %d reads failed while serving scaled", f, n)
	}
}
