package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/controller"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

func TestCreateMakesEveryChildAndReportsReadiness(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	p := createPipeline(t, c, "shop")

	eventually(t, waitFor, func() error {
		return wantChildren(c, p, map[schema.GroupVersionKind]int{
			manifests.KafkaTopicGVK: 4, deploymentGVK: perRole, serviceGVK: 2, pdbGVK: perRole,
			manifests.ScaledObjectGVK: perRole, hpaGVK: 0,
		})
	})
	for _, gvk := range childKinds() {
		objs, err := children(c, p, gvk)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			// With the default deletionPolicy Retain the topics outlive the pipeline: it does not own them.
			err := ownedBy(o, p)
			if gvk == manifests.KafkaTopicGVK && err == nil {
				t.Errorf("KafkaTopic %s is owned by the pipeline, whose deletionPolicy is Retain", o.GetName())
			} else if gvk != manifests.KafkaTopicGVK && err != nil {
				t.Errorf("%s %v", gvk.Kind, err)
			}
		}
	}

	t.Run("topics", func(t *testing.T) {
		want := map[string]struct {
			topicName string
			config    map[string]any
		}{
			"shop-raw":        {"shop.interactions.raw", map[string]any{"cleanup.policy": "delete", "retention.ms": int64(7 * 24 * time.Hour / time.Millisecond), "min.insync.replicas": int64(2)}},
			"shop-clean":      {"shop.interactions.clean", map[string]any{"cleanup.policy": "delete", "retention.ms": int64(7 * 24 * time.Hour / time.Millisecond), "min.insync.replicas": int64(2)}},
			"shop-dlq":        {"shop.interactions.dlq", map[string]any{"cleanup.policy": "delete", "retention.ms": int64(14 * 24 * time.Hour / time.Millisecond), "min.insync.replicas": int64(2)}},
			"shop-popularity": {"shop.popularity", map[string]any{"cleanup.policy": "compact", "min.insync.replicas": int64(2)}},
		}
		topics, _ := children(c, p, manifests.KafkaTopicGVK)
		for _, topic := range topics {
			w, ok := want[topic.GetName()]
			if !ok {
				t.Errorf("unexpected KafkaTopic %s", topic.GetName())
				continue
			}
			spec := topic.Object["spec"].(map[string]any)
			if spec["topicName"] != w.topicName || spec["partitions"] != int64(6) || spec["replicas"] != int64(3) {
				t.Errorf("%s spec = %v, want topicName %s, 6 partitions, 3 replicas", topic.GetName(), spec, w.topicName)
			}
			if got := spec["config"]; fmt.Sprint(got) != fmt.Sprint(w.config) {
				t.Errorf("%s config = %v, want %v", topic.GetName(), got, w.config)
			}
			if got := topic.GetLabels()[manifests.LabelStrimziCluster]; got != "kafka" {
				t.Errorf("%s strimzi.io/cluster = %q, want kafka", topic.GetName(), got)
			}
		}
	})

	t.Run("deployments", func(t *testing.T) {
		images := map[string]string{"shop-ingest": testImages.Ingest, "shop-clean": testImages.Clean, "shop-popularity": testImages.Popularity, "shop-popularity-serving": testImages.Popularity}
		for name, image := range images {
			var d appsv1.Deployment
			if err := c.admin.Get(context.Background(), client.ObjectKey{Namespace: p.Namespace, Name: name}, &d); err != nil {
				t.Fatal(err)
			}
			ctr := d.Spec.Template.Spec.Containers[0]
			if ctr.Image != image {
				t.Errorf("%s image = %s, want %s", name, ctr.Image, image)
			}
			if got := envValue(ctr.Env, contract.EnvKafkaBrokers); got != "kafka-kafka-bootstrap."+p.Namespace+".svc.cluster.local:9092" {
				t.Errorf("%s %s = %q, want the Strimzi bootstrap Service", name, contract.EnvKafkaBrokers, got)
			}
		}
	})

	t.Run("topics ready", func(t *testing.T) {
		if err := wantCondition(c, p, v1alpha1.ConditionTopicsReady, metav1.ConditionFalse, v1alpha1.ReasonTopicNotReady); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitFor, func() error {
			if err := markTopicsReady(c, p); err != nil {
				return err
			}
			return wantCondition(c, p, v1alpha1.ConditionTopicsReady, metav1.ConditionTrue, v1alpha1.ReasonTopicsReady)
		})
		if err := wantCondition(c, p, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonDeploymentProgressing); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("deployments available", func(t *testing.T) {
		eventually(t, waitFor, func() error {
			if err := markDeploymentsAvailable(c, p); err != nil {
				return err
			}
			return wantCondition(c, p, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonAutoscalerNotReady)
		})
		if err := wantMessage(c, p, v1alpha1.ConditionScalingReady, "ScaledObject shop-ingest: waiting for KEDA to report it ready. ScaledObject shop-clean: waiting for KEDA to report it ready. ScaledObject shop-popularity: waiting for KEDA to report it ready. ScaledObject shop-popularity-serving: waiting for KEDA to report it ready."); err != nil {
			t.Error(err)
		}
		eventually(t, waitFor, func() error {
			if err := markAutoscalersReady(c, p); err != nil {
				return err
			}
			return wantCondition(c, p, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled)
		})
		got, err := getPipeline(c, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{v1alpha1.ConditionTopicsReady, v1alpha1.ConditionFunctionsAvailable, v1alpha1.ConditionScalingReady} {
			if err := wantCondition(c, p, typ, metav1.ConditionTrue, map[string]string{
				v1alpha1.ConditionTopicsReady:        v1alpha1.ReasonTopicsReady,
				v1alpha1.ConditionFunctionsAvailable: v1alpha1.ReasonAvailable,
				v1alpha1.ConditionScalingReady:       v1alpha1.ReasonKEDAScaling,
			}[typ]); err != nil {
				t.Error(err)
			}
		}
		wantTopics := []v1alpha1.TopicStatus{{Name: "shop-raw", Ready: true}, {Name: "shop-clean", Ready: true}, {Name: "shop-dlq", Ready: true}, {Name: "shop-popularity", Ready: true}}
		if !slices.Equal(got.Status.Topics, wantTopics) {
			t.Errorf("status.topics = %+v, want %+v", got.Status.Topics, wantTopics)
		}
		active := func(name string) v1alpha1.FunctionStatus {
			return v1alpha1.FunctionStatus{Name: name, DesiredReplicas: 1, ReadyReplicas: 1, Replicas: 1, State: v1alpha1.FunctionActive}
		}
		wantFunctions := []v1alpha1.FunctionStatus{active("shop-ingest"), active("shop-clean"), active("shop-popularity"), active("shop-popularity-serving")}
		if !slices.Equal(got.Status.Functions, wantFunctions) {
			t.Errorf("status.functions = %+v, want %+v", got.Status.Functions, wantFunctions)
		}
		wantEndpoints := v1alpha1.Endpoints{
			Ingest:     "http://shop-ingest." + p.Namespace + ".svc.cluster.local",
			Popularity: "http://shop-popularity." + p.Namespace + ".svc.cluster.local",
		}
		if got.Status.Endpoints != wantEndpoints {
			t.Errorf("status.endpoints = %+v, want %+v", got.Status.Endpoints, wantEndpoints)
		}
		if len(got.Finalizers) > 0 {
			t.Errorf("finalizers = %v, want none: deleting a pipeline never waits for the operator", got.Finalizers)
		}
		eventually(t, waitFor, func() error { return wantEvent(c, p, corev1.EventTypeNormal, v1alpha1.ReasonReconciled) })
	})

	if errs := c.log.errorsOf(client.ObjectKeyFromObject(p)); len(errs) > 0 {
		t.Errorf("reconcile errors: %q", errs)
	}
}

func TestSteadyStateMakesNoWrites(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	p := readyPipeline(t, c, "steady")
	key := client.ObjectKeyFromObject(p)

	// Let the reconciles that Ready itself caused finish.
	p = quiet(t, c, p)
	writes, _ := c.writes.inNamespace(p.Namespace)
	versions := resourceVersions(t, c, p)

	for i := range 3 {
		_, finished := c.log.reconciles(key)
		// A change of an annotation makes the operator reconcile without changing the spec.
		p = updatePipeline(t, c, p, func(p *v1alpha1.RecommendationPipeline) {
			metav1.SetMetaDataAnnotation(&p.ObjectMeta, "test.recoflow.dev/resync", strconv.Itoa(i))
		})
		versions["RecommendationPipeline "+p.Name] = p.ResourceVersion
		eventually(t, waitFor, func() error {
			if _, now := c.log.reconciles(key); now == finished {
				return fmt.Errorf("no reconcile after resync %d", i)
			}
			return nil
		})
	}
	p = quiet(t, c, p)
	versions["RecommendationPipeline "+p.Name] = p.ResourceVersion

	if got, by := c.writes.inNamespace(p.Namespace); got != writes {
		t.Errorf("%d writes in steady state, want 0 (writes since the pipeline was created: %v)", got-writes, by)
	}
	for name, rv := range resourceVersions(t, c, p) {
		if versions[name] != rv {
			t.Errorf("%s resourceVersion %s, was %s", name, rv, versions[name])
		}
	}
}

// wantScaling plays KEDA and the HPA controller for p's autoscalers and checks that ScalingReady
// then says reason.
func wantScaling(c *cluster, p *v1alpha1.RecommendationPipeline, reason string) error {
	if err := markAutoscalersReady(c, p); err != nil {
		return err
	}
	return wantCondition(c, p, v1alpha1.ConditionScalingReady, metav1.ConditionTrue, reason)
}

// quiet waits until the operator has caught up with p: it changes p's sentinel annotation, a
// change the operator reconciles without writing anything, and waits until a reconcile that saw
// it has finished and none is running. It returns p as updated.
func quiet(t *testing.T, c *cluster, p *v1alpha1.RecommendationPipeline) *v1alpha1.RecommendationPipeline {
	t.Helper()
	key := client.ObjectKeyFromObject(p)
	sentinel := strconv.FormatInt(time.Now().UnixNano(), 36)
	p = updatePipeline(t, c, p, func(p *v1alpha1.RecommendationPipeline) {
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, sentinelAnnotation, sentinel)
	})
	eventually(t, waitFor, func() error {
		started, finished := c.log.reconciles(key)
		if seen := c.log.sentinelSeen(key); seen != sentinel || started != finished {
			return fmt.Errorf("still reconciling: %d started, %d finished, the last saw sentinel %q, not %q", started, finished, seen, sentinel)
		}
		return nil
	})
	return p
}

// resourceVersions returns the resourceVersion of p and of each of its children.
func resourceVersions(t *testing.T, c *cluster, p *v1alpha1.RecommendationPipeline) map[string]string {
	t.Helper()
	got, err := getPipeline(c, p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"RecommendationPipeline " + p.Name: got.ResourceVersion}
	for _, gvk := range childKinds() {
		objs, err := children(c, p, gvk)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			out[gvk.Kind+" "+o.GetName()] = o.GetResourceVersion()
		}
	}
	return out
}

func TestSpecChangesReachChildren(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	p := readyPipeline(t, c, "change")

	steps := []struct {
		name   string
		change func(*v1alpha1.RecommendationPipeline)
		want   func() error
	}{
		{
			name:   "more partitions",
			change: func(p *v1alpha1.RecommendationPipeline) { p.Spec.Topics.Partitions = 12 },
			want: func() error {
				topics, err := children(c, p, manifests.KafkaTopicGVK)
				if err != nil {
					return err
				}
				for _, topic := range topics {
					if got, _, _ := unstructured.NestedInt64(topic.Object, "spec", "partitions"); got != 12 {
						return fmt.Errorf("%s has %d partitions, want 12", topic.GetName(), got)
					}
				}
				return nil
			},
		},
		{
			name: "new image and extra environment",
			change: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Ingest.Image = "registry.test/custom-ingest:2"
				p.Spec.Ingest.Env = []corev1.EnvVar{{Name: "EXTRA", Value: "yes"}}
			},
			want: func() error {
				ctr, err := container(c, p, "change-ingest")
				if err != nil {
					return err
				}
				if ctr.Image != "registry.test/custom-ingest:2" || envValue(ctr.Env, "EXTRA") != "yes" {
					return fmt.Errorf("ingest image %s, EXTRA=%q", ctr.Image, envValue(ctr.Env, "EXTRA"))
				}
				return nil
			},
		},
		{
			name: "limits and min in-sync replicas set",
			change: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Ingest.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}
				p.Spec.Topics.MinInSyncReplicas = ptr.To[int32](1)
			},
			want: func() error {
				ctr, err := container(c, p, "change-ingest")
				if err != nil {
					return err
				}
				if _, ok := ctr.Resources.Limits[corev1.ResourceMemory]; !ok {
					return fmt.Errorf("ingest limits %v, want 512Mi of memory", ctr.Resources.Limits)
				}
				return wantTopicReplicas(c, p, 3, 1)
			},
		},
		{
			// Server-side apply removes what the operator applied before and no longer desires.
			name: "extra environment, limits and min in-sync replicas removed",
			change: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Ingest.Env = nil
				p.Spec.Ingest.Resources.Limits = nil
				p.Spec.Topics.MinInSyncReplicas = nil
			},
			want: func() error {
				ctr, err := container(c, p, "change-ingest")
				if err != nil {
					return err
				}
				if len(ctr.Resources.Limits) > 0 || envValue(ctr.Env, "EXTRA") != "" {
					return fmt.Errorf("ingest limits %v, EXTRA=%q; want both gone", ctr.Resources.Limits, envValue(ctr.Env, "EXTRA"))
				}
				return wantTopicReplicas(c, p, 3, 2)
			},
		},
		{
			name: "resources without a CPU request",
			change: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Ingest.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}}
			},
			want: func() error {
				ctr, err := container(c, p, "change-ingest")
				if err != nil {
					return err
				}
				if cpu, ok := ctr.Resources.Requests[corev1.ResourceCPU]; !ok || cpu.String() != "100m" {
					return fmt.Errorf("ingest requests %v, want the default CPU request of 100m", ctr.Resources.Requests)
				}
				return wantScaling(c, p, v1alpha1.ReasonKEDAScaling)
			},
		},
		{
			name:   "HPA instead of KEDA",
			change: func(p *v1alpha1.RecommendationPipeline) { p.Spec.Scaling.Mode = v1alpha1.ScalingHPA },
			want: func() error {
				if err := wantChildren(c, p, map[schema.GroupVersionKind]int{hpaGVK: perRole, manifests.ScaledObjectGVK: 0}); err != nil {
					return err
				}
				return wantScaling(c, p, v1alpha1.ReasonHPAScaling)
			},
		},
		{
			// KEDA's webhook refuses a ScaledObject for a Deployment an HPA still scales.
			name:   "KEDA instead of HPA",
			change: func(p *v1alpha1.RecommendationPipeline) { p.Spec.Scaling.Mode = v1alpha1.ScalingKEDA },
			want: func() error {
				if err := wantChildren(c, p, map[schema.GroupVersionKind]int{hpaGVK: 0, manifests.ScaledObjectGVK: perRole}); err != nil {
					return err
				}
				return wantScaling(c, p, v1alpha1.ReasonKEDAScaling)
			},
		},
		{
			name: "no autoscaler",
			change: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Scaling.Mode = v1alpha1.ScalingNone
				p.Spec.Clean.Replicas = v1alpha1.ReplicaRange{Min: ptr.To[int32](2), Max: 4}
			},
			want: func() error {
				if err := wantChildren(c, p, map[schema.GroupVersionKind]int{hpaGVK: 0, manifests.ScaledObjectGVK: 0}); err != nil {
					return err
				}
				return wantReplicas(c, p, map[string]int32{"change-ingest": 1, "change-clean": 2, "change-popularity": 1})
			},
		},
		{
			name:   "suspended",
			change: func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = true },
			want: func() error {
				if err := wantReplicas(c, p, map[string]int32{"change-ingest": 0, "change-clean": 0, "change-popularity": 0}); err != nil {
					return err
				}
				return wantCondition(c, p, v1alpha1.ConditionFunctionsAvailable, metav1.ConditionFalse, v1alpha1.ReasonSuspended)
			},
		},
		{
			name: "resumed with KEDA",
			change: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Suspend, p.Spec.Scaling.Mode = false, v1alpha1.ScalingKEDA
			},
			want: func() error {
				if err := wantChildren(c, p, map[schema.GroupVersionKind]int{hpaGVK: 0, manifests.ScaledObjectGVK: perRole}); err != nil {
					return err
				}
				// KEDA scales up from zero itself; the operator restarts at one replica.
				return wantReplicas(c, p, map[string]int32{"change-ingest": 1, "change-clean": 1, "change-popularity": 1})
			},
		},
		{
			name:   "suspended with KEDA",
			change: func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = true },
			want: func() error {
				if err := wantPaused(c, p, "0"); err != nil {
					return err
				}
				return wantReplicas(c, p, map[string]int32{"change-ingest": 0, "change-clean": 0, "change-popularity": 0})
			},
		},
		{
			name:   "resumed again",
			change: func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = false },
			want: func() error {
				if err := wantPaused(c, p, ""); err != nil {
					return err
				}
				return wantReplicas(c, p, map[string]int32{"change-ingest": 1, "change-clean": 1, "change-popularity": 1})
			},
		},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			p = updatePipeline(t, c, p, step.change)
			eventually(t, waitFor, step.want)
		})
	}
	if errs := c.log.errorsOf(client.ObjectKeyFromObject(p)); len(errs) > 0 {
		t.Errorf("reconcile errors: %q", errs)
	}
}

func TestChildrenAreRestored(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	p := readyPipeline(t, c, "restore")
	ctx := context.Background()
	key := func(name string) client.ObjectKey { return client.ObjectKey{Namespace: p.Namespace, Name: name} }

	tests := []struct {
		name string
		edit func() error
		want func() error
	}{
		{
			name: "deleted Deployment",
			edit: func() error {
				return c.admin.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: "restore-ingest"}})
			},
			want: func() error {
				ctr, err := container(c, p, "restore-ingest")
				if err != nil {
					return err
				}
				if ctr.Image != testImages.Ingest {
					return fmt.Errorf("image %s", ctr.Image)
				}
				return nil
			},
		},
		{
			name: "edited container image",
			edit: func() error {
				return editDeployment(c, key("restore-clean"), func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil:latest" })
			},
			want: func() error {
				ctr, err := container(c, p, "restore-clean")
				if err != nil {
					return err
				}
				if ctr.Image != testImages.Clean {
					return fmt.Errorf("image %s, want %s", ctr.Image, testImages.Clean)
				}
				return nil
			},
		},
		{
			// A port is a key of the Service's ports: changing it makes another port, which
			// server-side apply leaves to its manager. Its target port is a value the operator owns.
			name: "edited Service target port",
			edit: func() error {
				var s corev1.Service
				if err := c.admin.Get(ctx, key("restore-popularity"), &s); err != nil {
					return err
				}
				s.Spec.Ports[0].TargetPort = intstr.FromInt32(9999)
				return c.admin.Update(ctx, &s)
			},
			want: func() error {
				var s corev1.Service
				if err := c.admin.Get(ctx, key("restore-popularity"), &s); err != nil {
					return err
				}
				if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != manifests.ServicePort || s.Spec.Ports[0].TargetPort.StrVal != manifests.PortName {
					return fmt.Errorf("ports %+v", s.Spec.Ports)
				}
				return nil
			},
		},
		{
			name: "edited KafkaTopic partitions",
			edit: func() error {
				topic := topicRef(p.Namespace, "restore-raw")
				if err := c.admin.Get(ctx, client.ObjectKeyFromObject(topic), topic); err != nil {
					return err
				}
				_ = unstructured.SetNestedField(topic.Object, int64(1), "spec", "partitions")
				return c.admin.Update(ctx, topic)
			},
			want: func() error {
				topic := topicRef(p.Namespace, "restore-raw")
				if err := c.admin.Get(ctx, client.ObjectKeyFromObject(topic), topic); err != nil {
					return err
				}
				if got, _, _ := unstructured.NestedInt64(topic.Object, "spec", "partitions"); got != 6 {
					return fmt.Errorf("%d partitions", got)
				}
				return nil
			},
		},
		{
			name: "deleted ScaledObject",
			edit: func() error {
				so := &unstructured.Unstructured{}
				so.SetGroupVersionKind(manifests.ScaledObjectGVK)
				so.SetNamespace(p.Namespace)
				so.SetName("restore-popularity")
				return c.admin.Delete(ctx, so)
			},
			want: func() error {
				return wantChildren(c, p, map[schema.GroupVersionKind]int{manifests.ScaledObjectGVK: perRole})
			},
		},
		{
			name: "deleted PodDisruptionBudget",
			edit: func() error {
				pdbs, err := children(c, p, pdbGVK)
				if err != nil {
					return err
				}
				return c.admin.Delete(ctx, pdbs[0])
			},
			want: func() error { return wantChildren(c, p, map[schema.GroupVersionKind]int{pdbGVK: perRole}) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.edit(); err != nil {
				t.Fatal(err)
			}
			eventually(t, waitFor, tt.want)
			makeReady(t, c, p)
		})
	}

	// Changes to fields the operator does not own stay, and cost no write.
	kept := []struct {
		name string
		obj  client.Object
		edit func(client.Object)
	}{
		{
			name: "foreign label",
			obj:  &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: "restore-ingest"}},
			edit: func(o client.Object) { o.SetLabels(merged(o.GetLabels(), "team.example.com/owner", "growth")) },
		},
		{
			name: "replicas chosen by the autoscaler",
			obj:  &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: "restore-clean"}},
			edit: func(o client.Object) { o.(*appsv1.Deployment).Spec.Replicas = ptr.To[int32](3) },
		},
	}
	for _, tt := range kept {
		t.Run(tt.name+" kept", func(t *testing.T) {
			if err := c.admin.Get(ctx, client.ObjectKeyFromObject(tt.obj), tt.obj); err != nil {
				t.Fatal(err)
			}
			tt.edit(tt.obj)
			_, finished := c.log.reconciles(client.ObjectKeyFromObject(p))
			if err := c.admin.Update(ctx, tt.obj); err != nil {
				t.Fatal(err)
			}
			edited := tt.obj.DeepCopyObject().(client.Object)
			eventually(t, waitFor, func() error {
				if _, now := c.log.reconciles(client.ObjectKeyFromObject(p)); now == finished {
					return fmt.Errorf("no reconcile after the edit")
				}
				return nil
			})
			quiet(t, c, p)
			if err := c.admin.Get(ctx, client.ObjectKeyFromObject(tt.obj), tt.obj); err != nil {
				t.Fatal(err)
			}
			if tt.obj.GetResourceVersion() != edited.GetResourceVersion() {
				t.Errorf("%s rewritten: resourceVersion %s, was %s", tt.obj.GetName(), tt.obj.GetResourceVersion(), edited.GetResourceVersion())
			}
		})
	}

	if errs := c.log.errorsOf(client.ObjectKeyFromObject(p)); len(errs) > 0 {
		t.Errorf("reconcile errors: %q", errs)
	}
}

// merged returns labels with key set to value.
func merged(labels map[string]string, key, value string) map[string]string {
	out := map[string]string{key: value}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

// wantPaused checks that every ScaledObject of p has the paused-replicas annotation value, or
// none when value is empty.
func wantPaused(c *cluster, p *v1alpha1.RecommendationPipeline, value string) error {
	objs, err := children(c, p, manifests.ScaledObjectGVK)
	if err != nil {
		return err
	}
	if len(objs) != perRole {
		return fmt.Errorf("%d ScaledObjects, want %d", len(objs), perRole)
	}
	for _, o := range objs {
		if got := o.GetAnnotations()[manifests.AnnotationKEDAPausedReplicas]; got != value {
			return fmt.Errorf("%s: %s = %q, want %q", o.GetName(), manifests.AnnotationKEDAPausedReplicas, got, value)
		}
	}
	return nil
}

func TestAdmissionRejectsInvalidSpecs(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	ns := newNamespace(t, c, nil)
	ctx := context.Background()

	valid := newPipeline(ns, "valid")
	if err := c.admin.Create(ctx, valid); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		create *v1alpha1.RecommendationPipeline
		update func(*v1alpha1.RecommendationPipeline)
		want   string
	}{
		{
			name:   "partitions decrease",
			update: func(p *v1alpha1.RecommendationPipeline) { p.Spec.Topics.Partitions = 3 },
			want:   "partitions cannot decrease",
		},
		{
			name: "min above max",
			create: newPipeline(ns, "minmax", func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Clean.Replicas = v1alpha1.ReplicaRange{Min: ptr.To[int32](5), Max: 2}
			}),
			want: "replicas.min cannot exceed replicas.max",
		},
		{
			name:   "retention in words",
			create: newPipeline(ns, "words", func(p *v1alpha1.RecommendationPipeline) { p.Spec.Topics.Retention = "7 days" }),
			want:   "must be a positive duration",
		},
		{
			name:   "zero half-life",
			create: newPipeline(ns, "zero", func(p *v1alpha1.RecommendationPipeline) { p.Spec.Popularity.HalfLife = "0s" }),
			want:   "must be a positive duration",
		},
		{
			name: "weight for ratings",
			create: newPipeline(ns, "rated", func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Popularity.Weights = map[string]v1alpha1.Weight{"rated": "1"}
			}),
			want: "rated has no weight",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.create != nil {
				err = c.admin.Create(ctx, tt.create)
			} else {
				err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
					p, err := getPipeline(c, valid)
					if err != nil {
						return err
					}
					tt.update(p)
					return c.admin.Update(ctx, p)
				})
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got %v, want the API server to reject the pipeline as invalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestDeletionPolicy(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	tests := []struct {
		name             string
		policy, changeTo v1alpha1.DeletionPolicy
		// legacy puts the finalizer of earlier builds on the pipeline.
		legacy bool
		// topicsOwned is whether the topics name the pipeline as their owner, so that the garbage
		// collector deletes them with it.
		topicsOwned bool
	}{
		{name: "Retain", policy: v1alpha1.DeletionRetain, topicsOwned: false},
		{name: "Delete", policy: v1alpha1.DeletionDelete, topicsOwned: true},
		{name: "Retain changed to Delete", policy: v1alpha1.DeletionRetain, changeTo: v1alpha1.DeletionDelete, topicsOwned: true},
		{name: "Delete changed to Retain", policy: v1alpha1.DeletionDelete, changeTo: v1alpha1.DeletionRetain, topicsOwned: false},
		{name: "finalizer of an earlier build", policy: v1alpha1.DeletionRetain, legacy: true, topicsOwned: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := createPipeline(t, c, "deleted", func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.DeletionPolicy = tt.policy
				if tt.legacy {
					p.Finalizers = []string{controller.FinalizerRetainTopics}
				}
			})
			topicsOwned := func(want bool) func() error {
				return func() error {
					return eachTopic(c, p, func(topic *unstructured.Unstructured) error {
						if owned := ownedBy(topic, p) == nil; owned != want {
							return fmt.Errorf("%s owned by the pipeline: %v, want %v", topic.GetName(), owned, want)
						}
						return nil
					})
				}
			}
			if tt.changeTo != "" {
				eventually(t, waitFor, topicsOwned(tt.policy == v1alpha1.DeletionDelete))
				updatePipeline(t, c, p, func(p *v1alpha1.RecommendationPipeline) { p.Spec.DeletionPolicy = tt.changeTo })
			}
			eventually(t, waitFor, topicsOwned(tt.topicsOwned))
			eventually(t, waitFor, func() error {
				if err := wantChildren(c, p, map[schema.GroupVersionKind]int{manifests.KafkaTopicGVK: 4, deploymentGVK: perRole}); err != nil {
					return err
				}
				if got, err := getPipeline(c, p); err != nil || len(got.Finalizers) > 0 {
					return fmt.Errorf("finalizers %v (%v), want none: deleting a pipeline must not wait for the operator", got.Finalizers, err)
				}
				return nil
			})

			if err := c.admin.Delete(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			eventually(t, waitFor, func() error {
				if _, err := getPipeline(c, p); !apierrors.IsNotFound(err) {
					return fmt.Errorf("pipeline still there: %v", err)
				}
				return nil
			})
			if err := topicsOwned(tt.topicsOwned)(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestPodsMeetRestrictedPodSecurity(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	ns := newNamespace(t, c, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	newKafka(t, c, ns, "kafka")
	p := newPipeline(ns, "secure", func(p *v1alpha1.RecommendationPipeline) {
		p.Spec.Ingest.AuthSecretRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "ingest-token"}, Key: "token"}
	})
	if err := c.admin.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var list appsv1.DeploymentList
	eventually(t, waitFor, func() error {
		if err := c.admin.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(list.Items) != perRole {
			return fmt.Errorf("%d Deployments, want %d", len(list.Items), perRole)
		}
		return nil
	})
	podFrom := func(d *appsv1.Deployment) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: d.Name + "-pod", Labels: d.Spec.Template.Labels},
			Spec:       *d.Spec.Template.Spec.DeepCopy(),
		}
	}
	for i := range list.Items {
		d := &list.Items[i]
		t.Run(d.Name, func(t *testing.T) {
			if err := c.admin.Create(context.Background(), podFrom(d), client.DryRunAll); err != nil {
				t.Errorf("a pod of %s is not admitted under the restricted Pod Security Standard: %v", d.Name, err)
			}
		})
	}
	t.Run("privileged pod rejected", func(t *testing.T) {
		pod := podFrom(&list.Items[0])
		pod.Spec.SecurityContext, pod.Spec.Containers[0].SecurityContext = nil, nil
		err := c.admin.Create(context.Background(), pod, client.DryRunAll)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "violates PodSecurity") {
			t.Fatalf("got %v, want the namespace to enforce the restricted Pod Security Standard", err)
		}
	})
}

func TestRunsWithGeneratedRBAC(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	operator, err := client.New(c.operator, client.Options{Scheme: newScheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("nothing beyond the role", func(t *testing.T) {
		err := operator.List(context.Background(), &corev1.SecretList{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("listing Secrets as the operator: %v, want forbidden", err)
		}
	})
	t.Run("pipeline ready without errors", func(t *testing.T) {
		p := readyPipeline(t, c, "rbac")
		if errs := c.log.errorsOf(client.ObjectKeyFromObject(p)); len(errs) > 0 {
			t.Errorf("reconcile errors: %q", errs)
		}
	})
	t.Run("leader election", func(t *testing.T) {
		var lease coordinationv1.Lease
		if err := c.admin.Get(context.Background(), client.ObjectKey{Namespace: operatorNamespace, Name: "recoflow-operator"}, &lease); err != nil {
			t.Fatal(err)
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			t.Errorf("lease has no holder: %+v", lease.Spec)
		}
	})
}

// container returns the container of the Deployment name in p's namespace.
func container(c *cluster, p *v1alpha1.RecommendationPipeline, name string) (corev1.Container, error) {
	var d appsv1.Deployment
	if err := c.admin.Get(context.Background(), client.ObjectKey{Namespace: p.Namespace, Name: name}, &d); err != nil {
		return corev1.Container{}, err
	}
	if err := ownedBy(&d, p); err != nil {
		return corev1.Container{}, err
	}
	return d.Spec.Template.Spec.Containers[0], nil
}

// wantReplicas checks the replica count of each named Deployment.
func wantReplicas(c *cluster, p *v1alpha1.RecommendationPipeline, want map[string]int32) error {
	for name, n := range want {
		var d appsv1.Deployment
		if err := c.admin.Get(context.Background(), client.ObjectKey{Namespace: p.Namespace, Name: name}, &d); err != nil {
			return err
		}
		if *d.Spec.Replicas != n {
			return fmt.Errorf("%s has %d replicas, want %d", name, *d.Spec.Replicas, n)
		}
	}
	return nil
}

// editDeployment changes the Deployment key with edit, retrying on conflicts.
func editDeployment(c *cluster, key client.ObjectKey, edit func(*appsv1.Deployment)) error {
	for {
		var d appsv1.Deployment
		if err := c.admin.Get(context.Background(), key, &d); err != nil {
			return err
		}
		edit(&d)
		err := c.admin.Update(context.Background(), &d)
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}

// topicRef returns an empty KafkaTopic named name, to read into.
func topicRef(ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(manifests.KafkaTopicGVK)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// envValue returns the value of the environment variable name.
func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
