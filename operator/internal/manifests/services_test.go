package manifests

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/recoflow/recoflow/functions/contract"
)

func TestServices(t *testing.T) {
	got := Services(testParams(AutoscalerNone))
	tests := []struct {
		role   Role
		name   string
		serves Role // whose pods the Service selects
	}{
		{contract.FunctionIngest, "shop-ingest", contract.FunctionIngest},
		{contract.FunctionPopularity, "shop-popularity", contract.FunctionPopularityServing},
	}
	if len(got) != len(tests) {
		t.Fatalf("got %d Services, want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			s := got[i]
			if s.Name != tt.name || s.Namespace != "recoflow" {
				t.Errorf("Service %s/%s, want recoflow/%s", s.Namespace, s.Name, tt.name)
			}
			if !equality.Semantic.DeepEqual(s.Spec.Selector, SelectorLabels("shop", tt.serves)) {
				t.Errorf("selector = %v, want the %s pods", s.Spec.Selector, tt.serves)
			}
			if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != 80 || s.Spec.Ports[0].TargetPort.StrVal != PortName {
				t.Errorf("ports = %+v, want 80 to the pods' %s port", s.Spec.Ports, PortName)
			}
			// The URL in the pipeline's status reaches this Service.
			url := testParams(AutoscalerKEDA).Endpoints().Ingest
			if tt.role == contract.FunctionPopularity {
				url = testParams(AutoscalerKEDA).Endpoints().Popularity
			}
			if want := "http://" + s.Name + "." + s.Namespace + ".svc.cluster.local"; url != want {
				t.Errorf("endpoint = %s, want %s", url, want)
			}
		})
	}
}
