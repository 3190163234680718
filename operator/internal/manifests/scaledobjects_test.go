package manifests

import (
	"cmp"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

func TestScaledObjects(t *testing.T) {
	type want struct {
		min, max int64
		trigger  map[string]any
	}
	cpu := map[string]any{"type": "cpu", "metricType": "Utilization", "metadata": map[string]any{"value": "70"}}
	kafka := func(group, topic, lag string) map[string]any {
		return map[string]any{"type": "kafka", "metadata": map[string]any{
			"bootstrapServers": "events-kafka-bootstrap.recoflow.svc.cluster.local:9092", "consumerGroup": group, "topic": topic,
			"lagThreshold": lag, "offsetResetPolicy": "earliest", "activationLagThreshold": "0",
		}}
	}
	tests := []struct {
		name              string
		autoscaler        Autoscaler
		edit              func(*v1alpha1.RecommendationPipeline)
		want              []want // in Roles order
		paused            bool
		polling, cooldown int64 // KEDA's defaults when 0
	}{
		{
			name: "defaults", autoscaler: AutoscalerKEDA, edit: func(*v1alpha1.RecommendationPipeline) {},
			want: []want{
				{1, 10, cpu},
				{1, 6, kafka("shop-clean", "shop.interactions.raw", "100")},
				{1, 6, kafka("shop-popularity", "shop.interactions.clean", "100")},
				{1, 10, cpu},
			},
		},
		{
			name: "consumers scale to zero, serving past the partitions", autoscaler: AutoscalerKEDA,
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Clean.Replicas.Min = ptr.To[int32](0)
				p.Spec.Popularity.Replicas.Min = ptr.To[int32](0)
				p.Spec.Popularity.Serving.Replicas = v1alpha1.ReplicaRange{Min: ptr.To[int32](2), Max: 24}
				p.Spec.Scaling.PollingInterval = "5s"
				p.Spec.Scaling.CooldownPeriod = "1m30s"
			},
			want: []want{
				{1, 10, cpu},
				{0, 6, kafka("shop-clean", "shop.interactions.raw", "100")},
				{0, 6, kafka("shop-popularity", "shop.interactions.clean", "100")},
				{2, 24, cpu},
			},
			polling: 5, cooldown: 90,
		},
		{
			name: "timing rounds up to whole seconds", autoscaler: AutoscalerKEDA,
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Scaling.PollingInterval = "1500ms"
				p.Spec.Scaling.CooldownPeriod = "10ms"
			},
			want: []want{
				{1, 10, cpu},
				{1, 6, kafka("shop-clean", "shop.interactions.raw", "100")},
				{1, 6, kafka("shop-popularity", "shop.interactions.clean", "100")},
				{1, 10, cpu},
			},
			polling: 2, cooldown: 1,
		},
		{
			name: "lag threshold and partition cap", autoscaler: AutoscalerKEDA,
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Scaling.LagThreshold = 500
				p.Spec.Topics.Partitions = 4
				p.Spec.Clean.Replicas.Max = 50
			},
			want: []want{
				{1, 10, cpu},
				{1, 4, kafka("shop-clean", "shop.interactions.raw", "500")},
				{1, 4, kafka("shop-popularity", "shop.interactions.clean", "500")},
				{1, 10, cpu},
			},
		},
		{
			name: "suspended pauses at zero", autoscaler: AutoscalerKEDA,
			edit: func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = true },
			want: []want{
				{1, 10, cpu},
				{1, 6, kafka("shop-clean", "shop.interactions.raw", "100")},
				{1, 6, kafka("shop-popularity", "shop.interactions.clean", "100")},
				{1, 10, cpu},
			},
			paused: true,
		},
		{name: "HPA instead", autoscaler: AutoscalerHPA, edit: func(*v1alpha1.RecommendationPipeline) {}},
		{name: "no autoscaler", autoscaler: AutoscalerNone, edit: func(*v1alpha1.RecommendationPipeline) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScaledObjects(testParams(tt.autoscaler, tt.edit))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d ScaledObjects, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				so, name := got[i], DeploymentName("shop", contract.Functions()[i])
				if so.GroupVersionKind() != ScaledObjectGVK || so.GetName() != name {
					t.Errorf("object %d is %s %s, want ScaledObject %s", i, so.GroupVersionKind().Kind, so.GetName(), name)
				}
				if target, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name"); target != name {
					t.Errorf("%s scales %q", name, target)
				}
				lo, _, _ := unstructured.NestedInt64(so.Object, "spec", "minReplicaCount")
				hi, _, _ := unstructured.NestedInt64(so.Object, "spec", "maxReplicaCount")
				if lo != w.min || hi != w.max {
					t.Errorf("%s scales %d..%d, want %d..%d", name, lo, hi, w.min, w.max)
				}
				triggers, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
				if len(triggers) != 1 || !reflect.DeepEqual(triggers[0], w.trigger) {
					t.Errorf("%s triggers = %v, want [%v]", name, triggers, w.trigger)
				}
				polling, _, _ := unstructured.NestedInt64(so.Object, "spec", "pollingInterval")
				cooldown, _, _ := unstructured.NestedInt64(so.Object, "spec", "cooldownPeriod")
				if wantPolling, wantCooldown := cmp.Or(tt.polling, 30), cmp.Or(tt.cooldown, 300); polling != wantPolling || cooldown != wantCooldown {
					t.Errorf("%s polls every %d s and idles after %d s, want %d and %d", name, polling, cooldown, wantPolling, wantCooldown)
				}
				if paused, ok := so.GetAnnotations()[AnnotationKEDAPausedReplicas]; ok != tt.paused || (ok && paused != "0") {
					t.Errorf("%s annotations = %v, want paused at zero: %t", name, so.GetAnnotations(), tt.paused)
				}
				_ = so.DeepCopy() // panics on values JSON cannot hold
			}
		})
	}
}
