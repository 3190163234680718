package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// TestStrimziAndKEDAInstalledLater runs on a cluster that serves neither Strimzi's nor KEDA's
// kinds at first, and installs them while the operator runs.
func TestStrimziAndKEDAInstalledLater(t *testing.T) {
	t.Parallel()
	c := bareCluster(t)
	ns := newNamespace(t, c, nil)
	ctx := context.Background()
	auto := newPipeline(ns, "auto")
	keda := newPipeline(ns, "keda", func(p *v1alpha1.RecommendationPipeline) { p.Spec.Scaling.Mode = v1alpha1.ScalingKEDA })
	for _, p := range []*v1alpha1.RecommendationPipeline{auto, keda} {
		if err := c.admin.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("without Strimzi", func(t *testing.T) {
		for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionTopicsReady} {
			eventually(t, waitFor, func() error {
				return wantCondition(c, auto, typ, metav1.ConditionFalse, v1alpha1.ReasonStrimziNotInstalled)
			})
		}
		eventually(t, waitFor, func() error { return wantEvent(c, auto, corev1.EventTypeWarning, v1alpha1.ReasonStrimziNotInstalled) })

		// The operator waits with a backoff, not in a busy loop, and reports no error.
		key := client.ObjectKeyFromObject(auto)
		eventually(t, waitFor, func() error {
			res, ok := c.log.lastResult(key)
			if !ok || res.RequeueAfter < 5*time.Second {
				return fmt.Errorf("last reconcile asked to come back after %v, want at least 5s", res.RequeueAfter)
			}
			return nil
		})
		if errs := c.log.errorsOf(key); len(errs) > 0 {
			t.Errorf("reconcile errors: %q", errs)
		}
		var deployments appsv1.DeploymentList
		if err := c.admin.List(ctx, &deployments, client.InNamespace(ns)); err != nil || len(deployments.Items) > 0 {
			t.Errorf("%d Deployments (%v) before the topics can exist, want none", len(deployments.Items), err)
		}
	})

	t.Run("Strimzi installed, no Kafka cluster", func(t *testing.T) {
		installCRDs(t, c, strimziCRDDir)
		eventually(t, waitFor, func() error {
			return wantCondition(c, auto, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonKafkaClusterNotFound)
		})
	})

	t.Run("Kafka cluster created, no KEDA", func(t *testing.T) {
		newKafka(t, c, ns, "kafka")
		eventually(t, waitFor, func() error {
			if err := wantChildren(c, auto, map[schema.GroupVersionKind]int{manifests.KafkaTopicGVK: 4, deploymentGVK: perRole, hpaGVK: perRole}); err != nil {
				return err
			}
			return wantScaling(c, auto, v1alpha1.ReasonHPAScaling)
		})
		eventually(t, waitFor, func() error {
			if err := wantChildren(c, keda, map[schema.GroupVersionKind]int{deploymentGVK: perRole, hpaGVK: 0}); err != nil {
				return err
			}
			return wantCondition(c, keda, v1alpha1.ConditionScalingReady, metav1.ConditionFalse, v1alpha1.ReasonKEDANotInstalled)
		})
		eventually(t, waitFor, func() error { return wantEvent(c, keda, corev1.EventTypeWarning, v1alpha1.ReasonKEDANotInstalled) })
	})

	t.Run("KEDA installed", func(t *testing.T) {
		installCRDs(t, c, kedaCRDDir)
		for _, p := range []*v1alpha1.RecommendationPipeline{auto, keda} {
			eventually(t, waitFor, func() error {
				if err := wantChildren(c, p, map[schema.GroupVersionKind]int{manifests.ScaledObjectGVK: perRole, hpaGVK: 0}); err != nil {
					return err
				}
				return wantScaling(c, p, v1alpha1.ReasonKEDAScaling)
			})
		}
		var hpas autoscalingv2.HorizontalPodAutoscalerList
		if err := c.admin.List(ctx, &hpas, client.InNamespace(ns)); err != nil || len(hpas.Items) > 0 {
			t.Errorf("%d HorizontalPodAutoscalers (%v) left after KEDA took over, want none", len(hpas.Items), err)
		}
	})

	t.Run("ready", func(t *testing.T) {
		for _, p := range []*v1alpha1.RecommendationPipeline{auto, keda} {
			makeReady(t, c, p)
			if errs := c.log.errorsOf(client.ObjectKeyFromObject(p)); len(errs) > 0 {
				t.Errorf("%s: reconcile errors: %q", p.Name, errs)
			}
		}
	})
}

// installCRDs installs the CRDs in dir and waits until the API server serves them.
func installCRDs(t *testing.T, c *cluster, dir string) {
	t.Helper()
	_, err := envtest.InstallCRDs(c.env.Config, envtest.CRDInstallOptions{
		Paths: []string{dir}, ErrorIfPathMissing: true, MaxTime: waitFor,
	})
	if err != nil {
		t.Fatal(fmt.Errorf("install CRDs from %s: %w", dir, err))
	}
}
