package manifests

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

func TestHorizontalPodAutoscalers(t *testing.T) {
	type bounds struct{ min, max int32 }
	tests := []struct {
		name       string
		autoscaler Autoscaler
		edit       func(*v1alpha1.RecommendationPipeline)
		want       []bounds // in Roles order; nil for no HPAs
	}{
		{"defaults", AutoscalerHPA, func(*v1alpha1.RecommendationPipeline) {}, []bounds{{1, 10}, {1, 6}, {1, 6}, {1, 10}}},
		{
			"consumers capped at partitions", AutoscalerHPA,
			func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Topics.Partitions = 3
				p.Spec.Ingest.Replicas = v1alpha1.ReplicaRange{Min: ptr.To[int32](2), Max: 20}
				p.Spec.Clean.Replicas = v1alpha1.ReplicaRange{Min: ptr.To[int32](2), Max: 20}
				p.Spec.Popularity.Replicas = v1alpha1.ReplicaRange{Min: ptr.To[int32](5), Max: 8}
			},
			[]bounds{{2, 20}, {2, 3}, {3, 3}, {1, 10}},
		},
		{
			"serving beyond the partitions", AutoscalerHPA,
			func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Topics.Partitions = 2
				p.Spec.Popularity.Serving.Replicas = v1alpha1.ReplicaRange{Min: ptr.To[int32](3), Max: 30}
			},
			[]bounds{{1, 10}, {1, 2}, {1, 2}, {3, 30}},
		},
		{
			// Only KEDA wakes a function at zero; an HPA (render --scaling hpa) keeps one.
			"scale to zero needs KEDA", AutoscalerHPA,
			func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Clean.Replicas.Min = ptr.To[int32](0)
				p.Spec.Popularity.Replicas.Min = ptr.To[int32](0)
			},
			[]bounds{{1, 10}, {1, 6}, {1, 6}, {1, 10}},
		},
		{"KEDA instead", AutoscalerKEDA, func(*v1alpha1.RecommendationPipeline) {}, nil},
		{"no autoscaler", AutoscalerNone, func(*v1alpha1.RecommendationPipeline) {}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HorizontalPodAutoscalers(testParams(tt.autoscaler, tt.edit))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d HPAs, want %d", len(got), len(tt.want))
			}
			for i, want := range tt.want {
				h, r := got[i], contract.Functions()[i]
				if h.Name != DeploymentName("shop", r) || h.Spec.ScaleTargetRef.Name != h.Name || h.Spec.ScaleTargetRef.Kind != "Deployment" {
					t.Errorf("HPA %s scales %s %s", h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
				}
				if *h.Spec.MinReplicas != want.min || h.Spec.MaxReplicas != want.max {
					t.Errorf("%s scales %d..%d, want %d..%d", h.Name, *h.Spec.MinReplicas, h.Spec.MaxReplicas, want.min, want.max)
				}
				if m := h.Spec.Metrics; len(m) != 1 || m[0].Resource == nil || m[0].Resource.Name != corev1.ResourceCPU || *m[0].Resource.Target.AverageUtilization != TargetCPUUtilization {
					t.Errorf("%s metrics = %+v, want CPU at %d%%", h.Name, m, TargetCPUUtilization)
				}
			}
		})
	}
}
