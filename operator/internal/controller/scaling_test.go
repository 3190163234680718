package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// idlePipeline lets the consumers scale to zero under KEDA and sizes serving beyond the
// partition count.
func idlePipeline(p *v1alpha1.RecommendationPipeline) {
	p.Spec.Scaling.Mode = v1alpha1.ScalingKEDA
	p.Spec.Clean.Replicas.Min = ptr.To[int32](0)
	p.Spec.Popularity.Replicas.Min = ptr.To[int32](0)
	p.Spec.Popularity.Serving.Replicas = v1alpha1.ReplicaRange{Min: ptr.To[int32](2), Max: 20}
}

// TestScaleToZeroAndServingSplit checks what a pipeline whose consumers may go idle is made of:
// ScaledObjects that let clean and popularity scoring reach zero and wake on the first record, a
// serving tier scaled on CPU past the partition count behind the popularity Service, and a status
// that follows the replica counts KEDA chooses without fighting them.
func TestScaleToZeroAndServingSplit(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	p := readyPipeline(t, c, "idle", idlePipeline)
	ctx := context.Background()
	key := func(name string) client.ObjectKey { return client.ObjectKey{Namespace: p.Namespace, Name: name} }

	t.Run("scaled objects", func(t *testing.T) {
		want := map[string]struct {
			min, max int64
			trigger  string
		}{
			"idle-ingest":             {1, 10, "cpu"},
			"idle-clean":              {0, 6, "kafka"},
			"idle-popularity":         {0, 6, "kafka"},
			"idle-popularity-serving": {2, 20, "cpu"},
		}
		for name, w := range want {
			so := &unstructured.Unstructured{}
			so.SetGroupVersionKind(manifests.ScaledObjectGVK)
			if err := c.admin.Get(ctx, key(name), so); err != nil {
				t.Fatal(err)
			}
			lo, _, _ := unstructured.NestedInt64(so.Object, "spec", "minReplicaCount")
			hi, _, _ := unstructured.NestedInt64(so.Object, "spec", "maxReplicaCount")
			triggers, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
			if lo != w.min || hi != w.max || len(triggers) != 1 {
				t.Errorf("%s scales %d..%d on %d triggers, want %d..%d on one", name, lo, hi, len(triggers), w.min, w.max)
				continue
			}
			trigger := triggers[0].(map[string]any)
			if trigger["type"] != w.trigger {
				t.Errorf("%s trigger %v, want %s", name, trigger["type"], w.trigger)
			}
			if w.trigger == "kafka" {
				if got := trigger["metadata"].(map[string]any)["activationLagThreshold"]; got != "0" {
					t.Errorf("%s activationLagThreshold = %v, want \"0\": the first record wakes it", name, got)
				}
			}
		}
	})

	t.Run("serving behind the popularity Service", func(t *testing.T) {
		var svc corev1.Service
		if err := c.admin.Get(ctx, key("idle-popularity"), &svc); err != nil {
			t.Fatal(err)
		}
		if want := manifests.SelectorLabels(p.Name, contract.FunctionPopularityServing); !equality.Semantic.DeepEqual(svc.Spec.Selector, want) {
			t.Errorf("Service idle-popularity selects %v, want the serving pods %v", svc.Spec.Selector, want)
		}
		for name, mode := range map[string]string{"idle-popularity": contract.PopularityModeScoring, "idle-popularity-serving": contract.PopularityModeServing} {
			ctr, err := container(c, p, name)
			if err != nil {
				t.Fatal(err)
			}
			if got := envValue(ctr.Env, contract.EnvPopularityMode); got != mode || ctr.Image != testImages.Popularity {
				t.Errorf("%s runs %s in mode %q, want %s in mode %s", name, ctr.Image, got, testImages.Popularity, mode)
			}
		}
		if err := wantChildren(c, p, map[schema.GroupVersionKind]int{pdbGVK: perRole, serviceGVK: 2}); err != nil {
			t.Error(err)
		}
	})

	t.Run("idle consumers stay at zero", func(t *testing.T) {
		// KEDA scales clean and scoring to zero through the scale subresource.
		for _, name := range []string{"idle-clean", "idle-popularity"} {
			if err := editDeployment(c, key(name), func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](0) }); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, waitFor, func() error {
			if err := markDeploymentsAvailable(c, p); err != nil {
				return err
			}
			return wantStates(c, p, map[string]v1alpha1.FunctionState{
				"idle-ingest": v1alpha1.FunctionActive, "idle-clean": v1alpha1.FunctionIdle,
				"idle-popularity": v1alpha1.FunctionIdle, "idle-popularity-serving": v1alpha1.FunctionActive,
			})
		})
		// The status is read from the Deployments after the operator applied them: it kept zero.
		if err := wantReplicas(c, p, map[string]int32{"idle-clean": 0, "idle-popularity": 0}); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitFor, func() error {
			return wantCondition(c, p, v1alpha1.ConditionReady, "True", v1alpha1.ReasonReconciled)
		})
	})

	t.Run("a record wakes scoring", func(t *testing.T) {
		if err := editDeployment(c, key("idle-popularity"), func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](1) }); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitFor, func() error {
			return wantStates(c, p, map[string]v1alpha1.FunctionState{"idle-clean": v1alpha1.FunctionIdle, "idle-popularity": v1alpha1.FunctionActive})
		})
	})

	t.Run("suspended", func(t *testing.T) {
		p = updatePipeline(t, c, p, func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = true })
		eventually(t, waitFor, func() error {
			return wantStates(c, p, map[string]v1alpha1.FunctionState{
				"idle-ingest": v1alpha1.FunctionSuspended, "idle-clean": v1alpha1.FunctionSuspended,
				"idle-popularity": v1alpha1.FunctionSuspended, "idle-popularity-serving": v1alpha1.FunctionSuspended,
			})
		})
	})

	t.Run("scale to zero needs KEDA", func(t *testing.T) {
		for _, mode := range []v1alpha1.ScalingMode{v1alpha1.ScalingAuto, v1alpha1.ScalingHPA, v1alpha1.ScalingNone} {
			bad := newPipeline(p.Namespace, "idle-"+strings.ToLower(string(mode)), idlePipeline,
				func(p *v1alpha1.RecommendationPipeline) { p.Spec.Scaling.Mode = mode })
			err := c.admin.Create(ctx, bad)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "clean.replicas.min: 0 needs scaling.mode: KEDA") {
				t.Errorf("mode %s: %v, want the API server to say scaling to zero needs KEDA", mode, err)
			}
		}
		ingest := newPipeline(p.Namespace, "idle-ingest", idlePipeline,
			func(p *v1alpha1.RecommendationPipeline) { p.Spec.Ingest.Replicas.Min = ptr.To[int32](0) })
		if err := c.admin.Create(ctx, ingest); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "ingest.replicas.min must be at least 1") {
			t.Errorf("ingest at zero: %v, want it rejected", err)
		}
	})

	if errs := c.log.errorsOf(client.ObjectKeyFromObject(p)); len(errs) > 0 {
		t.Errorf("reconcile errors: %q", errs)
	}
}

// wantStates checks the state status.functions reports for each named function.
func wantStates(c *cluster, p *v1alpha1.RecommendationPipeline, want map[string]v1alpha1.FunctionState) error {
	got, err := getPipeline(c, p)
	if err != nil {
		return err
	}
	states := map[string]v1alpha1.FunctionState{}
	for _, f := range got.Status.Functions {
		states[f.Name] = f.State
		if f.State == v1alpha1.FunctionIdle && f.DesiredReplicas != 0 {
			return fmt.Errorf("%s is idle with %d desired replicas", f.Name, f.DesiredReplicas)
		}
	}
	for name, state := range want {
		if states[name] != state {
			return fmt.Errorf("%s is %q, want %s (status.functions %+v)", name, states[name], state, got.Status.Functions)
		}
	}
	return nil
}
