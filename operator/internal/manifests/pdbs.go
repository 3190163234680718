package manifests

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
)

// PodDisruptionBudgets returns a PodDisruptionBudget per function, in Roles order. Each lets one
// pod at a time be evicted, so a node drain never takes a function down whole while it still
// always makes progress, even at one replica; unhealthy pods may always be evicted.
func PodDisruptionBudgets(p Params) []*policyv1.PodDisruptionBudget {
	out := make([]*policyv1.PodDisruptionBudget, 0, 3)
	for _, r := range contract.Functions() {
		out = append(out, pdb(p, r))
	}
	return out
}

func pdb(p Params, r Role) *policyv1.PodDisruptionBudget {
	pl := p.Pipeline
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: p.objectMeta(r),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             ptr.To(intstr.FromInt32(1)),
			Selector:                   &metav1.LabelSelector{MatchLabels: SelectorLabels(pl.Name, r)},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}
