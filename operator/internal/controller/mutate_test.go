package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// desiredChildren builds the children of a defaulted pipeline for autoscaler a.
func desiredChildren(t *testing.T, a manifests.Autoscaler, opts ...func(*v1alpha1.RecommendationPipeline)) map[string]client.Object {
	t.Helper()
	p := &v1alpha1.RecommendationPipeline{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "shop"}}
	p.Spec.Kafka.ClusterRef.Name = "kafka"
	for _, opt := range opts {
		opt(p)
	}
	p.Default()
	objs, err := manifests.Desired(manifests.Params{Pipeline: p, Images: manifests.DefaultImages(), Autoscaler: a})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]client.Object, len(objs))
	for _, o := range objs {
		out[childKey(o)] = o
	}
	return out
}

// asServed returns obj as the API server would store it: with defaults, a uid and a
// resourceVersion, and its numbers decoded as the API server decodes them.
func asServed(obj client.Object) client.Object {
	live := obj.DeepCopyObject().(client.Object)
	live.SetUID("uid")
	live.SetResourceVersion("7")
	switch o := live.(type) {
	case *appsv1.Deployment:
		s := &o.Spec
		s.Replicas = ptr.To[int32](3) // chosen by an autoscaler
		s.RevisionHistoryLimit = ptr.To[int32](10)
		s.ProgressDeadlineSeconds = ptr.To[int32](600)
		pod := &s.Template.Spec
		pod.RestartPolicy, pod.DNSPolicy, pod.SchedulerName = corev1.RestartPolicyAlways, corev1.DNSClusterFirst, "default-scheduler"
		c := &pod.Containers[0]
		c.ImagePullPolicy = corev1.PullIfNotPresent
		c.TerminationMessagePath, c.TerminationMessagePolicy = "/dev/termination-log", corev1.TerminationMessageReadFile
		c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("0.1") // the same quantity, written differently
	case *corev1.Service:
		o.Spec.ClusterIP, o.Spec.ClusterIPs = "10.0.0.7", []string{"10.0.0.7"}
		o.Spec.SessionAffinity = corev1.ServiceAffinityNone
		o.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
	case *unstructured.Unstructured:
		o.Object = deepCopy[map[string]any](o.Object)
		o.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}
	}
	return live
}

func TestMutate(t *testing.T) {
	desired := desiredChildren(t, manifests.AutoscalerKEDA)
	suspended := desiredChildren(t, manifests.AutoscalerKEDA, func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = true })

	tests := []struct {
		name    string
		key     string
		desired map[string]client.Object
		// edit changes the live object before mutate, as a person or another controller might.
		edit func(client.Object)
		// changed is whether mutate must change the live object, so that apply writes it.
		changed bool
		// check, when set, checks the mutated live object.
		check func(*testing.T, client.Object)
	}{
		{name: "Deployment as served", key: "Deployment shop-ingest", changed: false},
		{name: "Service as served", key: "Service shop-popularity", changed: false},
		{name: "KafkaTopic as served", key: "KafkaTopic shop-raw", changed: false},
		{name: "ScaledObject as served", key: "ScaledObject shop-clean", changed: false},
		{name: "PodDisruptionBudget as served", key: "PodDisruptionBudget shop-clean", changed: false},
		{
			name: "foreign label and annotation kept", key: "Deployment shop-clean",
			edit: func(o client.Object) {
				o.SetLabels(merged(o.GetLabels(), map[string]string{"team": "growth"}))
				o.SetAnnotations(map[string]string{"deployment.kubernetes.io/revision": "4"})
			},
			changed: false,
		},
		{
			name: "edited image restored", key: "Deployment shop-clean",
			edit:    func(o client.Object) { o.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image = "evil:latest" },
			changed: true,
			check: func(t *testing.T, o client.Object) {
				d := o.(*appsv1.Deployment)
				if got := d.Spec.Template.Spec.Containers[0].Image; got != manifests.DefaultImages().Clean {
					t.Errorf("image %s", got)
				}
				if got := *d.Spec.Replicas; got != 3 {
					t.Errorf("replicas %d, want the autoscaler's 3", got)
				}
			},
		},
		{
			name: "edited rollout strategy restored", key: "Deployment shop-clean",
			edit: func(o client.Object) {
				o.(*appsv1.Deployment).Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
			},
			changed: true,
			check: func(t *testing.T, o client.Object) {
				want := desired["Deployment shop-clean"].(*appsv1.Deployment).Spec.Strategy
				if got := o.(*appsv1.Deployment).Spec.Strategy; !equality.Semantic.DeepEqual(got, want) {
					t.Errorf("strategy %+v, want %+v", got, want)
				}
			},
		},
		{
			name: "added environment variable removed", key: "Deployment shop-clean",
			edit: func(o client.Object) {
				c := &o.(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
				c.Env = append(c.Env, corev1.EnvVar{Name: "DEBUG", Value: "1"})
			},
			changed: true,
		},
		{
			name: "removed label restored", key: "Service shop-ingest",
			edit: func(o client.Object) {
				labels := o.GetLabels()
				delete(labels, manifests.LabelPipeline)
				o.SetLabels(labels)
			},
			changed: true,
		},
		{
			name: "selector widened by hand narrowed again", key: "Service shop-ingest",
			edit:    func(o client.Object) { o.(*corev1.Service).Spec.Selector["extra"] = "x" },
			changed: true,
		},
		{
			name: "topic config edited", key: "KafkaTopic shop-raw",
			edit: func(o client.Object) {
				_ = unstructured.SetNestedField(o.(*unstructured.Unstructured).Object, "1000", "spec", "config", "retention.ms")
			},
			changed: true,
		},
		{
			name: "suspension pauses the ScaledObject", key: "ScaledObject shop-clean", desired: suspended,
			changed: true,
			check: func(t *testing.T, o client.Object) {
				if got := o.GetAnnotations()[manifests.AnnotationKEDAPausedReplicas]; got != "0" {
					t.Errorf("paused replicas %q, want 0", got)
				}
			},
		},
		{
			name: "resumption unpauses the ScaledObject", key: "ScaledObject shop-clean",
			edit: func(o client.Object) {
				o.SetAnnotations(map[string]string{manifests.AnnotationKEDAPausedReplicas: "0", "other": "kept"})
			},
			changed: true,
			check: func(t *testing.T, o client.Object) {
				if want := map[string]string{"other": "kept"}; !equality.Semantic.DeepEqual(o.GetAnnotations(), want) {
					t.Errorf("annotations %v, want %v", o.GetAnnotations(), want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			children := desired
			if tt.desired != nil {
				children = tt.desired
			}
			d, ok := children[tt.key]
			if !ok {
				t.Fatalf("no %s among the desired children", tt.key)
			}
			live := asServed(desired[tt.key])
			if tt.edit != nil {
				tt.edit(live)
			}
			before := live.DeepCopyObject()
			mutate(live, d)
			if changed := !equality.Semantic.DeepEqual(before, live); changed != tt.changed {
				t.Errorf("mutate changed the live object: %v, want %v\nbefore: %+v\nafter:  %+v", changed, tt.changed, before, live)
			}
			if tt.check != nil {
				tt.check(t, live)
			}
			// Mutating again changes nothing: apply converges in one write.
			again := live.DeepCopyObject().(client.Object)
			mutate(again, d)
			if !equality.Semantic.DeepEqual(again, live) {
				t.Errorf("a second mutate changed the object again")
			}
		})
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		name          string
		live, desired any
		want          bool
	}{
		{"equal", map[string]any{"a": int64(1)}, map[string]any{"a": int64(1)}, true},
		{"defaults on live", map[string]any{"a": int64(1), "b": "x"}, map[string]any{"a": int64(1)}, true},
		{"different value", map[string]any{"a": int64(2)}, map[string]any{"a": int64(1)}, false},
		{"missing on live", map[string]any{}, map[string]any{"a": int64(1)}, false},
		{"empty string unset", map[string]any{"a": "x"}, map[string]any{"a": ""}, true},
		{"null unset", map[string]any{}, map[string]any{"a": nil}, true},
		{"empty object unset", map[string]any{}, map[string]any{"a": map[string]any{}}, true},
		{"list element defaults", []any{map[string]any{"a": "1", "b": "2"}}, []any{map[string]any{"a": "1"}}, true},
		{"longer list", []any{"1", "2"}, []any{"1"}, false},
		{"false is a value", map[string]any{"a": true}, map[string]any{"a": false}, false},
		{"zero is a value", map[string]any{"a": int64(1)}, map[string]any{"a": int64(0)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := covers(tt.live, tt.desired); got != tt.want {
				t.Errorf("covers(%v, %v) = %v, want %v", tt.live, tt.desired, got, tt.want)
			}
		})
	}
}
