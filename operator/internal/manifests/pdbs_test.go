package manifests

import (
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

func TestPodDisruptionBudgets(t *testing.T) {
	tests := []struct {
		name string
		edit func(*v1alpha1.RecommendationPipeline)
	}{
		{"one replica", func(*v1alpha1.RecommendationPipeline) {}},
		{"several replicas", func(p *v1alpha1.RecommendationPipeline) { p.Spec.Clean.Replicas.Min = ptr.To[int32](4) }},
		{"suspended", func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PodDisruptionBudgets(testParams(AutoscalerNone, tt.edit))
			if len(got) != len(contract.Functions()) {
				t.Fatalf("got %d PDBs, want one per function", len(got))
			}
			for i, r := range contract.Functions() {
				pdb := got[i]
				if pdb.Name != DeploymentName("shop", r) {
					t.Errorf("PDB %d is %s, want %s", i, pdb.Name, DeploymentName("shop", r))
				}
				if !equality.Semantic.DeepEqual(pdb.Spec.Selector.MatchLabels, SelectorLabels("shop", r)) {
					t.Errorf("%s selects %v", pdb.Name, pdb.Spec.Selector.MatchLabels)
				}
				// Draining a node may always evict one pod, whatever the replica count.
				if pdb.Spec.MinAvailable != nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
					t.Errorf("%s allows %v unavailable, minAvailable %v; want maxUnavailable 1", pdb.Name, pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
				}
				if p := pdb.Spec.UnhealthyPodEvictionPolicy; p == nil || *p != policyv1.AlwaysAllow {
					t.Errorf("%s unhealthy pod eviction = %v, want AlwaysAllow", pdb.Name, p)
				}
			}
		})
	}
}
