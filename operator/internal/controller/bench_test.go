package controller_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// BenchmarkConverge200Pipelines creates 200 pipelines at once on a cluster of their own and
// reports how long the operator takes to make every one Ready, while the benchmark plays Strimzi
// and the Deployment controller; how many API writes the operator makes per pipeline to get
// there; and how many it makes per pipeline when every pipeline is reconciled again once Ready.
// Run it on its own:
//
//	go test ./operator/internal/controller -run '^$' -bench Converge200 -benchtime 1x
func BenchmarkConverge200Pipelines(b *testing.B) {
	const pipelines, workers = 200, 8
	clusters.mu.Lock()
	c := startCluster(b, pipelineCRDDir, strimziCRDDir, kedaCRDDir)
	clusters.mu.Unlock()
	ctx := context.Background()

	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := newNamespace(b, c, nil)
		newKafka(b, c, ns, "kafka")
		keys := make([]types.NamespacedName, pipelines)
		for j := range keys {
			keys[j] = types.NamespacedName{Namespace: ns, Name: "p" + strconv.Itoa(j)}
		}
		b.StartTimer()

		start := time.Now()
		parallel(b, workers, keys, func(key types.NamespacedName) error {
			return c.admin.Create(ctx, newPipeline(key.Namespace, key.Name))
		})
		for !allReady(b, c, ns, pipelines) {
			playControllers(b, c, ns, workers)
			time.Sleep(100 * time.Millisecond)
		}
		converged := time.Since(start)
		b.StopTimer()

		quietAll(b, c, keys)
		writes, by := c.writes.inNamespace(ns)
		b.ReportMetric(converged.Seconds(), "s/converge")
		b.ReportMetric(float64(writes)/pipelines, "writes/pipeline")
		b.Logf("converged in %s with %d writes: %v", converged.Round(time.Millisecond), writes, by)

		// Reconcile every Ready pipeline once more; an annotation changes nothing the operator owns.
		finished := make(map[types.NamespacedName]int, pipelines)
		for _, key := range keys {
			_, finished[key] = c.log.reconciles(key)
		}
		parallel(b, workers, keys, func(key types.NamespacedName) error {
			p := &v1alpha1.RecommendationPipeline{}
			if err := c.admin.Get(ctx, key, p); err != nil {
				return err
			}
			metav1.SetMetaDataAnnotation(&p.ObjectMeta, "test.recoflow.dev/resync", strconv.Itoa(i))
			return c.admin.Update(ctx, p)
		})
		eventually(b, time.Minute, func() error {
			for _, key := range keys {
				if _, now := c.log.reconciles(key); now == finished[key] {
					return fmt.Errorf("%s not reconciled again", key)
				}
			}
			return nil
		})
		quietAll(b, c, keys)
		after, by := c.writes.inNamespace(ns)
		b.ReportMetric(float64(after-writes)/pipelines, "resync-writes/pipeline")
		if after != writes {
			b.Logf("writes on resync: %v", by)
		}
		for _, key := range keys {
			if errs := c.log.errorsOf(key); len(errs) > 0 {
				b.Errorf("%s: reconcile errors: %q", key, errs)
			}
		}
	}
}

// allReady reports whether all n pipelines in namespace ns are Ready.
func allReady(b *testing.B, c *cluster, ns string, n int) bool {
	b.Helper()
	var list v1alpha1.RecommendationPipelineList
	if err := c.admin.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	ready := 0
	for _, p := range list.Items {
		if meta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionReady) {
			ready++
		}
	}
	return ready == n
}

// playControllers marks every KafkaTopic in ns Ready, every Deployment available and every
// autoscaler ready, as Strimzi, the Deployment controller and KEDA do.
func playControllers(b *testing.B, c *cluster, ns string, workers int) {
	b.Helper()
	ctx := context.Background()
	topics := &unstructured.UnstructuredList{}
	topics.SetGroupVersionKind(manifests.KafkaTopicGVK.GroupVersion().WithKind("KafkaTopicList"))
	if err := c.admin.List(ctx, topics, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	parallel(b, workers, topics.Items, func(t unstructured.Unstructured) error {
		return ignoreConflict(markTopicReady(c, &t))
	})
	var deployments appsv1.DeploymentList
	if err := c.admin.List(ctx, &deployments, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	parallel(b, workers, deployments.Items, func(d appsv1.Deployment) error {
		return ignoreConflict(markDeploymentAvailable(c, &d))
	})
	scaledObjects := &unstructured.UnstructuredList{}
	scaledObjects.SetGroupVersionKind(manifests.ScaledObjectGVK.GroupVersion().WithKind("ScaledObjectList"))
	if err := c.admin.List(ctx, scaledObjects, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	parallel(b, workers, scaledObjects.Items, func(so unstructured.Unstructured) error {
		return ignoreConflict(markScaledObjectReady(c, &so))
	})
}

// quietAll waits until the operator has caught up with the pipelines keys, as quiet does for one:
// it changes each pipeline's sentinel annotation and waits until a reconcile of each saw it and
// none is running.
func quietAll(b *testing.B, c *cluster, keys []types.NamespacedName) {
	b.Helper()
	ctx := context.Background()
	sentinel := strconv.FormatInt(time.Now().UnixNano(), 36)
	parallel(b, 16, keys, func(key types.NamespacedName) error {
		for {
			p := &v1alpha1.RecommendationPipeline{}
			if err := c.admin.Get(ctx, key, p); err != nil {
				return err
			}
			metav1.SetMetaDataAnnotation(&p.ObjectMeta, sentinelAnnotation, sentinel)
			if err := c.admin.Update(ctx, p); !apierrors.IsConflict(err) {
				return err
			}
		}
	})
	eventually(b, time.Minute, func() error {
		for _, key := range keys {
			started, finished := c.log.reconciles(key)
			if seen := c.log.sentinelSeen(key); seen != sentinel || started != finished {
				return fmt.Errorf("%s still reconciling: %d started, %d finished, the last saw sentinel %q", key, started, finished, seen)
			}
		}
		return nil
	})
}

// parallel calls do for every item on workers goroutines and fails b on the first error.
func parallel[T any](b *testing.B, workers int, items []T, do func(T) error) {
	b.Helper()
	work := make(chan T)
	errs := make(chan error, len(items))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for item := range work {
				if err := do(item); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, item := range items {
		work <- item
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// ignoreConflict drops the conflict of a status update racing the operator; the next round
// retries.
func ignoreConflict(err error) error {
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}
