package controller

import (
	appsv1 "k8s.io/api/apps/v1"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// functionStatus reports a function's live Deployment: its replicas and whether it runs. A
// Deployment asking for no replicas is Suspended when the pipeline is, and otherwise Idle: its
// autoscaler scaled it to zero because it had no lag, and KEDA wakes it on the next record.
func functionStatus(p *v1alpha1.RecommendationPipeline, name string, live *appsv1.Deployment) v1alpha1.FunctionStatus {
	f := v1alpha1.FunctionStatus{Name: name}
	if live == nil {
		return f
	}
	f.DesiredReplicas, f.ReadyReplicas, f.Replicas = *live.Spec.Replicas, live.Status.ReadyReplicas, live.Status.Replicas
	switch {
	case p.Spec.Suspend:
		f.State = v1alpha1.FunctionSuspended
	case f.DesiredReplicas == 0:
		f.State = v1alpha1.FunctionIdle
	default:
		f.State = v1alpha1.FunctionActive
	}
	return f
}
