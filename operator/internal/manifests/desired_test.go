package manifests

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the builders' output")

// samplesDir holds the example pipelines shipped to users.
const samplesDir = "../../../manifests/samples"

// readSample returns a sample pipeline with its defaults applied.
func readSample(t *testing.T, name string) *v1alpha1.RecommendationPipeline {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var p v1alpha1.RecommendationPipeline
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	if p.Namespace == "" {
		p.Namespace = "recoflow" // as kubectl apply -n recoflow would
	}
	p.Default()
	return &p
}

// TestDesiredGolden compares everything built for the sample pipelines with the golden files in
// testdata; run with -update to rewrite them after a deliberate change, and review the diff.
func TestDesiredGolden(t *testing.T) {
	tests := []struct {
		golden, sample string
		autoscaler     Autoscaler
		suspend        bool
	}{
		{"minimal-keda", "pipeline-minimal.yaml", AutoscalerKEDA, false},
		{"minimal-none-suspended", "pipeline-minimal.yaml", AutoscalerNone, true},
		{"full-keda", "pipeline-full.yaml", AutoscalerKEDA, false},
		{"full-hpa", "pipeline-full.yaml", AutoscalerHPA, false},
		{"secured-keda", "pipeline-secured.yaml", AutoscalerKEDA, false},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			p := readSample(t, tt.sample)
			p.Spec.Suspend = tt.suspend
			objs, err := Desired(Params{Pipeline: p, Images: DefaultImages(), Autoscaler: tt.autoscaler})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteYAML(&got, objs); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("Desired differs from %s (run go test -update and review the diff):\n%s", path, got.String())
			}
		})
	}
}

func TestDesired(t *testing.T) {
	tests := []struct {
		autoscaler Autoscaler
		kinds      []string
	}{
		{AutoscalerKEDA, []string{"KafkaTopic", "KafkaTopic", "KafkaTopic", "KafkaTopic", "Deployment", "Deployment", "Deployment", "Deployment", "Service", "Service", "PodDisruptionBudget", "PodDisruptionBudget", "PodDisruptionBudget", "PodDisruptionBudget", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "ScaledObject", "ScaledObject", "ScaledObject", "ScaledObject"}},
		{AutoscalerHPA, []string{"KafkaTopic", "KafkaTopic", "KafkaTopic", "KafkaTopic", "Deployment", "Deployment", "Deployment", "Deployment", "Service", "Service", "PodDisruptionBudget", "PodDisruptionBudget", "PodDisruptionBudget", "PodDisruptionBudget", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "HorizontalPodAutoscaler", "HorizontalPodAutoscaler", "HorizontalPodAutoscaler", "HorizontalPodAutoscaler"}},
		{AutoscalerNone, []string{"KafkaTopic", "KafkaTopic", "KafkaTopic", "KafkaTopic", "Deployment", "Deployment", "Deployment", "Deployment", "Service", "Service", "PodDisruptionBudget", "PodDisruptionBudget", "PodDisruptionBudget", "PodDisruptionBudget", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.autoscaler), func(t *testing.T) {
			objs, err := Desired(testParams(tt.autoscaler))
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != len(tt.kinds) {
				t.Fatalf("got %d objects, want %d", len(objs), len(tt.kinds))
			}
			seen := map[string]bool{}
			for i, o := range objs {
				gvk := o.GetObjectKind().GroupVersionKind()
				if gvk.Kind != tt.kinds[i] || gvk.Version == "" {
					t.Errorf("object %d is %s, want a %s with its apiVersion", i, gvk, tt.kinds[i])
				}
				if key := gvk.Kind + "/" + o.GetName(); seen[key] {
					t.Errorf("%s is built twice", key)
				} else {
					seen[key] = true
				}
				if o.GetNamespace() != "recoflow" || o.GetLabels()[LabelPipeline] != "shop" {
					t.Errorf("%s %s is in %q labelled %v, want namespace recoflow and %s=shop", gvk.Kind, o.GetName(), o.GetNamespace(), o.GetLabels(), LabelPipeline)
				}
			}
			// Building twice gives the same objects: the builders are pure.
			again, _ := Desired(testParams(tt.autoscaler))
			var a, b bytes.Buffer
			if err := WriteYAML(&a, objs); err != nil {
				t.Fatal(err)
			}
			_ = WriteYAML(&b, again)
			if a.String() != b.String() {
				t.Error("two builds of the same pipeline differ")
			}
		})
	}
}
