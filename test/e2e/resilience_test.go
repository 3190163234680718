//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// steadyLoad posts binary-mode likes to ingest from a few clients, each at a steady pace, until stop
// is closed, recording every failure: a refused or reset connection, a timeout, any status but 202.
// Paced, the load lasts however long the restart under test takes (the scenarios run beside
// others on a busy node) and leaves them the CPU.
type steadyLoad struct {
	client *ingestClient
	mu     sync.Mutex
	errs   []error
	stop   chan struct{}
	done   sync.WaitGroup
}

func startSteadyLoad(url, prefix string, workers int, perWorker time.Duration) *steadyLoad {
	l := &steadyLoad{client: newIngestClient(url), stop: make(chan struct{})}
	for w := range workers {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			c := newIngestClient(url)
			pace := time.NewTicker(perWorker)
			defer pace.Stop()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				case <-pace.C:
				}
				lk := like{id: fmt.Sprintf("%s-%d-%d", prefix, w, i), user: fmt.Sprintf("%s-user-%d-%d", prefix, w, i), item: fmt.Sprintf("%s-item-%d", prefix, i%7)}
				err := c.post(modeBinary, lk)
				l.mu.Lock()
				if err != nil {
					l.errs = append(l.errs, err)
				} else {
					l.client.accepted[lk.item]++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// finish stops the load and returns the accepted counts per item and the failures.
func (l *steadyLoad) finish() (map[string]int64, []error) {
	close(l.stop)
	l.done.Wait()
	return l.client.accepted, l.errs
}

// requests returns how many requests were answered so far.
func (l *steadyLoad) requests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.errs)
	for _, c := range l.client.accepted {
		n += int(c)
	}
	return n
}

// waitRequests waits until the load has had n more requests answered.
func (l *steadyLoad) waitRequests(t *testing.T, n int) {
	t.Helper()
	target := l.requests() + n
	eventually(t, 2*time.Minute, fmt.Sprintf("%d more requests", n), func() error {
		if got := l.requests(); got < target {
			return fmt.Errorf("%d of %d", got, target)
		}
		return nil
	})
}

// TestIngestRollingRestart restarts ingest under steady load: no request fails, and every accepted
// like is counted.
func TestIngestRollingRestart(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "e2e-rolling", 1)
	s.applyPipeline("roll", "  scaling: {mode: None}\n  ingest:\n    replicas: {min: 2, max: 2}\n")
	waitPipelineReady(t, s.namespace, "roll", 4*time.Minute)

	load := startSteadyLoad(serviceURL(t, s.namespace, "roll-ingest"), "roll", 4, 20*time.Millisecond)
	load.waitRequests(t, 100)
	must(t, nil, "kubectl", "-n", s.namespace, "rollout", "restart", "deployment/roll-ingest")
	must(t, nil, "kubectl", "-n", s.namespace, "rollout", "status", "deployment/roll-ingest", "--timeout=3m")
	load.waitRequests(t, 100)
	accepted, errs := load.finish()
	for i, err := range errs {
		if i == 10 {
			t.Errorf("... %d failures in all", len(errs))
			break
		}
		t.Errorf("request failed during the rolling restart: %v", err)
	}
	waitCounts(t, serviceURL(t, s.namespace, "roll-popularity"), accepted, 2*time.Minute)
}

// TestPopularityForceDeleted force-deletes the popularity pod under load: once its replacement has
// caught up, every accepted like is counted exactly once.
func TestPopularityForceDeleted(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "e2e-force-delete", 1)
	s.applyPipeline("force", "  scaling: {mode: None}\n")
	waitPipelineReady(t, s.namespace, "force", 4*time.Minute)

	load := startSteadyLoad(serviceURL(t, s.namespace, "force-ingest"), "force", 2, 20*time.Millisecond)
	load.waitRequests(t, 200)
	for _, p := range s.pods("force", "popularity") {
		zero := int64(0)
		if err := env.c.Delete(context.Background(), &p, &client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 2*time.Minute, "a new popularity pod ready", func() error {
		for _, p := range s.pods("force", "popularity") {
			if p.DeletionTimestamp == nil && podReady(&p) {
				return nil
			}
		}
		return fmt.Errorf("none")
	})
	load.waitRequests(t, 200)
	accepted, errs := load.finish()
	if len(errs) > 0 {
		t.Errorf("%d requests to ingest failed, first: %v", len(errs), errs[0])
	}
	waitCounts(t, serviceURL(t, s.namespace, "force-popularity"), accepted, 3*time.Minute)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TestHelmUpgrade upgrades the release with other images: the operator rolls every function to
// them and the pipeline ends Ready and serving.
func TestHelmUpgrade(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "e2e-upgrade", 1)
	s.applyPipeline("up", "  scaling: {mode: None}\n")
	waitPipelineReady(t, s.namespace, "up", 4*time.Minute)

	newTag := env.tag + "-e2e-upgrade"
	must(t, nil, helm(), "upgrade", s.namespace, "charts/recoflow", "--namespace", s.namespace, "--reuse-values",
		"--set", "image.tag="+newTag, "--wait", "--timeout", "3m")
	eventually(t, 4*time.Minute, "functions rolled to the new images", func() error {
		for _, f := range functions {
			d := s.deployment("up-" + f)
			want := fmt.Sprintf("%s/recoflow-%s:%s", env.registry, strings.TrimSuffix(f, "-serving"), newTag)
			if got := d.Spec.Template.Spec.Containers[0].Image; got != want {
				return fmt.Errorf("%s runs %s, want %s", d.Name, got, want)
			}
			if d.Status.UpdatedReplicas != d.Status.Replicas || d.Status.AvailableReplicas != d.Status.Replicas || d.Status.ObservedGeneration != d.Generation {
				return fmt.Errorf("%s still rolling: %+v", d.Name, d.Status)
			}
		}
		return nil
	})
	waitPipelineReady(t, s.namespace, "up", 2*time.Minute)
	ingest := sendLikesInEveryMode(t, serviceURL(t, s.namespace, "up-ingest"), "up")
	waitCounts(t, serviceURL(t, s.namespace, "up-popularity"), ingest.accepted, 2*time.Minute)
}
