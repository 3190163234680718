package manifests

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
)

// TargetCPUUtilization is the average CPU use, in percent of the request, that autoscalers
// scaling on CPU aim for.
const TargetCPUUtilization = 70

// HorizontalPodAutoscalers returns an autoscaling/v2 HorizontalPodAutoscaler per function, in
// Roles order, scaling on CPU between replicas.min and replicas.max, consumers capped at the
// partition count. It returns none unless Params.Autoscaler is AutoscalerHPA.
func HorizontalPodAutoscalers(p Params) []*autoscalingv2.HorizontalPodAutoscaler {
	if p.Autoscaler != AutoscalerHPA {
		return nil
	}
	out := make([]*autoscalingv2.HorizontalPodAutoscaler, 0, 3)
	for _, r := range contract.Functions() {
		out = append(out, hpa(p, r))
	}
	return out
}

func hpa(p Params, r Role) *autoscalingv2.HorizontalPodAutoscaler {
	pl := p.Pipeline
	lo, hi := p.replicaRange(r)
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: p.objectMeta(r),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: "apps/v1",
				Kind:       "Deployment",
				Name:       DeploymentName(pl.Name, r),
			},
			MinReplicas: ptr.To(lo),
			MaxReplicas: hi,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{
						Type:               autoscalingv2.UtilizationMetricType,
						AverageUtilization: ptr.To[int32](TargetCPUUtilization),
					},
				},
			}},
		},
	}
}
