//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

var scaledObjectGVK = schema.GroupVersionKind{Group: "keda.sh", Version: "v1alpha1", Kind: "ScaledObject"}

// functions are the roles of a pipeline's Deployments; popularity-serving runs popularity's image.
var functions = []string{"ingest", "clean", "popularity", "popularity-serving"}

// scaledObjectReady is nil when KEDA reports the ScaledObject Ready.
func scaledObjectReady(namespace, name string) error {
	so := &unstructured.Unstructured{}
	so.SetGroupVersionKind(scaledObjectGVK)
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, so); err != nil {
		return err
	}
	conditions, _, _ := unstructured.NestedSlice(so.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			if m["status"] == "True" {
				return nil
			}
			return fmt.Errorf("ScaledObject %s Ready=%v: %v: %v", name, m["status"], m["reason"], m["message"])
		}
	}
	return fmt.Errorf("ScaledObject %s has no Ready condition yet", name)
}

// hpaScalingActive is nil when the HPA says ScalingActive and shows a current value of its metric.
func hpaScalingActive(namespace, name string) error {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, hpa); err != nil {
		return err
	}
	active := false
	var why string
	for _, c := range hpa.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive {
			active = c.Status == corev1.ConditionTrue
			why = fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	if !active {
		return fmt.Errorf("HPA %s not ScalingActive: %s", name, why)
	}
	for _, m := range hpa.Status.CurrentMetrics {
		switch {
		case m.Resource != nil && m.Resource.Current.AverageUtilization != nil:
			return nil
		case m.External != nil && (m.External.Current.AverageValue != nil || m.External.Current.Value != nil):
			return nil
		}
	}
	return fmt.Errorf("HPA %s has no current metric value: %+v", name, hpa.Status.CurrentMetrics)
}

// waitScaling waits until the pipeline's functions are scaled as mode says: KEDA's ScaledObjects
// Ready with their keda-hpa-* HPAs active, or our HPAs active, and none of the other kind left.
func (s *scenario) waitScaling(pipeline, mode string) {
	s.t.Helper()
	eventually(s.t, 4*time.Minute, fmt.Sprintf("pipeline %s scaled by %s", pipeline, mode), func() error {
		for _, f := range functions {
			name := pipeline + "-" + f
			var err error
			switch mode {
			case "KEDA":
				if err = scaledObjectReady(s.namespace, name); err == nil {
					err = hpaScalingActive(s.namespace, "keda-hpa-"+name)
				}
			case "HPA":
				err = hpaScalingActive(s.namespace, name)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if mode == "KEDA" {
		for _, f := range functions {
			err := env.c.Get(context.Background(), client.ObjectKey{Namespace: s.namespace, Name: pipeline + "-" + f}, &autoscalingv2.HorizontalPodAutoscaler{})
			if !apierrors.IsNotFound(err) {
				s.t.Errorf("our HPA %s-%s is still there under KEDA (%v)", pipeline, f, err)
			}
		}
	}
}

// TestScaling runs pipelines under HPAs on metrics-server and under KEDA: a pipeline that asks for
// KEDA before KEDA is installed, KEDA installed after it, a live pipeline switched from HPA to
// KEDA, and a backlog that KEDA scales clean out for and back in. The other scenarios that use KEDA
// wait to install it until this one has seen the pipeline wait for KEDA.
func TestScaling(t *testing.T) {
	t.Parallel()
	t.Cleanup(allowKEDA) // even when this test fails before KEDA
	s := newScenario(t, "e2e-scaling", 1)
	s.applyPipeline("hpa", "  scaling: {mode: HPA}\n")
	// The backlog below must be produced faster than one clean consumes it, whatever else the node
	// runs: ingest gets the default CPU request (under contention the kernel shares the CPU by
	// request), one clean a fortieth of a core at most.
	s.applyPipeline("keda", "  scaling: {mode: KEDA, lagThreshold: 50}\n"+
		"  ingest:\n    resources: {requests: {cpu: 100m, memory: 64Mi}}\n"+
		"  clean:\n    replicas: {min: 1, max: 3}\n    resources: {requests: {cpu: 20m, memory: 64Mi}, limits: {cpu: 25m}}\n")

	eventually(t, 2*time.Minute, "pipeline keda waits for KEDA", func() error {
		p := pipeline(t, s.namespace, "keda")
		c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionScalingReady)
		if c == nil || c.Reason != v1alpha1.ReasonKEDANotInstalled || c.ObservedGeneration != p.Generation {
			return fmt.Errorf("ScalingReady is %+v, want reason %s", c, v1alpha1.ReasonKEDANotInstalled)
		}
		return nil
	})

	allowKEDA()
	useKEDA(t, s.namespace)
	waitPipelineReady(t, s.namespace, "hpa", 4*time.Minute)
	s.waitScaling("hpa", "HPA")
	waitPipelineReady(t, s.namespace, "keda", 4*time.Minute)
	s.waitScaling("keda", "KEDA")

	// A backlog on the raw topic scales clean out, and back in once it is consumed; meanwhile, HPA →
	// KEDA on the other, live pipeline.
	// Clean scales out while the backlog is being produced: on a busy node that can take longer than
	// KEDA takes to see the lag.
	ingest := newIngestClient(serviceURL(t, s.namespace, "keda-ingest"))
	posted := postBacklog(ingest, 40, 500)
	replicas := func() int32 { return s.deployment("keda-clean").Status.ReadyReplicas }
	eventually(t, 3*time.Minute, "clean scaled out for the backlog", func() error {
		if n := replicas(); n < 2 {
			return fmt.Errorf("clean has %d ready replicas; %s", n, describeHPA(s.namespace, "keda-hpa-keda-clean"))
		}
		return nil
	})
	if err := posted(); err != nil {
		t.Fatal(err)
	}
	s.applyPipeline("hpa", "  scaling: {mode: KEDA}\n")
	waitCounts(t, serviceURL(t, s.namespace, "keda-popularity"), ingest.accepted, 4*time.Minute)
	eventually(t, 4*time.Minute, "clean scaled back in", func() error {
		if n := s.deployment("keda-clean").Spec.Replicas; n == nil || *n != 1 {
			return fmt.Errorf("clean wants %v replicas; %s", n, describeHPA(s.namespace, "keda-hpa-keda-clean"))
		}
		return nil
	})
	waitPipelineReady(t, s.namespace, "hpa", 4*time.Minute)
	s.waitScaling("hpa", "KEDA")
}

// postBacklog starts posting batches of perBatch likes in batch mode from four clients at once, and
// returns a function that waits until they are done, adds what was accepted to ingest's counts and
// returns the errors.
func postBacklog(ingest *ingestClient, batches, perBatch int) (wait func() error) {
	const clients = 4
	errs := make([]error, clients)
	accepted := make([]*ingestClient, clients)
	var wg sync.WaitGroup
	for c := range clients {
		accepted[c] = newIngestClient(ingest.url)
		wg.Go(func() {
			for b := c; b < batches && errs[c] == nil; b += clients {
				likes := make([]like, perBatch)
				for i := range likes {
					likes[i] = like{id: fmt.Sprintf("backlog-%d-%d", b, i), user: fmt.Sprintf("backlog-user-%d-%d", b, i), item: fmt.Sprintf("item-%d", i%50)}
				}
				errs[c] = accepted[c].post(modeBatch, likes...)
			}
		})
	}
	return func() error {
		wg.Wait()
		for c := range clients {
			for item, n := range accepted[c].accepted {
				ingest.accepted[item] += n
			}
		}
		return errors.Join(errs...)
	}
}

// describeHPA says what an HPA currently sees, for failure messages.
func describeHPA(namespace, name string) string {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, hpa); err != nil {
		return err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HPA %s current %d desired %d", name, hpa.Status.CurrentReplicas, hpa.Status.DesiredReplicas)
	for _, m := range hpa.Status.CurrentMetrics {
		if m.External != nil {
			fmt.Fprintf(&b, " %s=%v", m.External.Metric.Name, m.External.Current.AverageValue)
		}
	}
	for _, c := range hpa.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s(%s)", c.Type, c.Status, c.Reason)
	}
	return b.String()
}
