package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// crdPath is the CRD that make generate writes from this package's markers.
const crdPath = "../../config/crd/recoflow.dev_recommendationpipelines.yaml"

// samplesDir holds the example pipelines shipped to users.
const samplesDir = "../../../manifests/samples"

// schema is the generated CRD's schema, with what the API server builds from it to default and
// validate a RecommendationPipeline.
type schema struct {
	props      *apiextensions.JSONSchemaProps
	structural *structuralschema.Structural
}

// loadCRD reads the generated CRD, checks that the API server would accept it (CEL rules compile
// and fit the cost budget) and returns its schema.
func loadCRD(t *testing.T) schema {
	t.Helper()
	raw, err := os.ReadFile(crdPath)
	if err != nil {
		t.Fatalf("read CRD (run make generate): %v", err)
	}
	var v1crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &v1crd); err != nil {
		t.Fatalf("decode CRD: %v", err)
	}
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(&v1crd)
	var crd apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1crd, &crd, nil); err != nil {
		t.Fatalf("convert CRD: %v", err)
	}
	if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), &crd); len(errs) > 0 {
		t.Fatalf("the API server would reject the CRD: %v", errs.ToAggregate())
	}
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != v1alpha1.GroupVersion.Version {
		t.Fatalf("CRD versions = %v, want only %s", crd.Spec.Versions, v1alpha1.GroupVersion.Version)
	}
	// The internal CRD keeps a schema every version shares at the top.
	validation := crd.Spec.Validation
	if v := crd.Spec.Versions[0].Schema; v != nil {
		validation = v
	}
	props := validation.OpenAPIV3Schema
	s, err := structuralschema.NewStructural(props)
	if err != nil {
		t.Fatalf("structural schema: %v", err)
	}
	return schema{props: props, structural: s}
}

// admit defaults obj and validates it, as an update of old when old is not nil, the way the API
// server admits a custom resource, and returns the errors it would answer with.
func (s schema) admit(t *testing.T, obj, old map[string]any) field.ErrorList {
	t.Helper()
	defaulting.Default(obj, s.structural)
	validator, _, err := apiservervalidation.NewSchemaValidator(s.props)
	if err != nil {
		t.Fatalf("schema validator: %v", err)
	}
	var errs field.ErrorList
	if old == nil {
		errs = apiservervalidation.ValidateCustomResource(nil, obj, validator)
	} else {
		defaulting.Default(old, s.structural)
		errs = apiservervalidation.ValidateCustomResourceUpdate(nil, obj, old, validator)
	}
	var oldObj any
	if old != nil {
		oldObj = old
	}
	celErrs, _ := cel.NewValidator(s.structural, true, celconfig.PerCallLimit).
		Validate(context.Background(), nil, s.structural, obj, oldObj, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// readSample returns a sample pipeline as the untyped object a client sends.
func readSample(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	// The API server's decoder: whole numbers become int64, as CEL expects.
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return obj
}

// set changes the field at the dotted path of obj, creating the objects on the way.
func set(obj map[string]any, path string, value any) map[string]any {
	keys := strings.Split(path, ".")
	m := obj
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = value
	return obj
}

func TestCRDAdmission(t *testing.T) {
	s := loadCRD(t)
	minimal := func() map[string]any { return readSample(t, "pipeline-minimal.yaml") }
	full := func() map[string]any { return readSample(t, "pipeline-full.yaml") }

	tests := []struct {
		name string
		obj  map[string]any
		old  map[string]any // set for an update
		want string         // "" when admitted, else a part of the error message
	}{
		{name: "minimal sample", obj: minimal()},
		{name: "full sample", obj: full()},
		{name: "partitions grow", obj: set(full(), "spec.topics.partitions", int64(24)), old: full()},
		{
			name: "partitions shrink",
			obj:  set(full(), "spec.topics.partitions", int64(3)), old: full(),
			want: "partitions cannot decrease",
		},
		{
			name: "partitions shrink below the default",
			obj:  set(minimal(), "spec.topics.partitions", int64(2)), old: minimal(),
			want: "partitions cannot decrease",
		},
		{
			name: "min above max",
			obj:  set(minimal(), "spec.clean.replicas", map[string]any{"min": int64(5), "max": int64(2)}),
			want: "replicas.min cannot exceed replicas.max",
		},
		{
			name: "min above the default max",
			obj:  set(minimal(), "spec.ingest.replicas.min", int64(11)),
			want: "replicas.min cannot exceed replicas.max",
		},
		{name: "retention in words", obj: set(minimal(), "spec.topics.retention", "7 days"), want: "must be a positive duration"},
		{name: "zero half-life", obj: set(minimal(), "spec.popularity.halfLife", "0s"), want: "must be a positive duration"},
		{name: "negative dedupe window", obj: set(minimal(), "spec.clean.dedupeWindow", "-10m"), want: "must be a positive duration"},
		{name: "compound duration", obj: set(minimal(), "spec.clean.maxEventAge", "1h30m")},
		{name: "fractional duration", obj: set(minimal(), "spec.popularity.flushInterval", "1.5s")},
		{name: "rated weight", obj: set(minimal(), "spec.popularity.weights", map[string]any{"rated": "1"}), want: "rated has no weight"},
		{name: "unknown weight", obj: set(minimal(), "spec.popularity.weights", map[string]any{"clicked": "1"}), want: "weights can only be given for liked"},
		{name: "infinite weight", obj: set(minimal(), "spec.popularity.weights.liked", "Inf"), want: "must be a finite decimal number"},
		{name: "NaN weight", obj: set(minimal(), "spec.popularity.weights.liked", "NaN"), want: "must be a finite decimal number"},
		{name: "negative fractional weight", obj: set(minimal(), "spec.popularity.weights.unliked", "-0.5")},
		{
			name: "min in-sync above replicas",
			obj:  set(set(minimal(), "spec.topics.replicas", int64(3)), "spec.topics.minInSyncReplicas", int64(4)),
			want: "minInSyncReplicas cannot exceed replicas",
		},
		// Without replicas, the operator checks min in-sync against the replicas it derives.
		{name: "min in-sync without replicas", obj: set(minimal(), "spec.topics.minInSyncReplicas", int64(2))},
		{name: "unknown scaling mode", obj: set(minimal(), "spec.scaling.mode", "Magic"), want: "Unsupported value"},
		{
			name: "consumers scale to zero with KEDA",
			obj: set(set(set(minimal(), "spec.scaling.mode", "KEDA"),
				"spec.clean.replicas.min", int64(0)), "spec.popularity.replicas.min", int64(0)),
		},
		{
			name: "clean at zero without KEDA",
			obj:  set(minimal(), "spec.clean.replicas.min", int64(0)),
			want: "clean.replicas.min: 0 needs scaling.mode: KEDA",
		},
		{
			name: "scoring at zero with HPA",
			obj:  set(set(minimal(), "spec.scaling.mode", "HPA"), "spec.popularity.replicas.min", int64(0)),
			want: "popularity.replicas.min: 0 needs scaling.mode: KEDA",
		},
		{
			name: "ingest at zero even with KEDA",
			obj:  set(set(minimal(), "spec.scaling.mode", "KEDA"), "spec.ingest.replicas.min", int64(0)),
			want: "ingest.replicas.min must be at least 1",
		},
		{
			name: "serving at zero even with KEDA",
			obj:  set(set(minimal(), "spec.scaling.mode", "KEDA"), "spec.popularity.serving.replicas.min", int64(0)),
			want: "popularity.serving.replicas.min must be at least 1",
		},
		{
			name: "serving beyond the partitions",
			obj:  set(minimal(), "spec.popularity.serving.replicas", map[string]any{"min": int64(2), "max": int64(40)}),
		},
		{
			name: "serving min above max",
			obj:  set(minimal(), "spec.popularity.serving.replicas.min", int64(11)),
			want: "replicas.min cannot exceed replicas.max",
		},
		{name: "negative min", obj: set(minimal(), "spec.clean.replicas.min", int64(-1)), want: "should be greater than or equal to 0"},
		{name: "zero cooldown", obj: set(minimal(), "spec.scaling.cooldownPeriod", "0s"), want: "must be a positive duration"},
		{name: "auth secret without name", obj: set(minimal(), "spec.ingest.authSecretRef", map[string]any{"key": "token"}), want: "authSecretRef.name must name a Secret"},
		{
			name: "name too long for a Service",
			obj:  set(minimal(), "metadata.name", strings.Repeat("a", 41)),
			want: "metadata.name must be a DNS label of at most 40 characters",
		},
		{name: "name of 40 characters", obj: set(minimal(), "metadata.name", strings.Repeat("a", 40))},
		{name: "missing cluster", obj: set(minimal(), "spec.kafka", map[string]any{}), want: "Required value"},
		{name: "scram", obj: set(minimal(), "spec.kafka.authentication", "scram-sha-512")},
		{name: "mutual TLS", obj: set(minimal(), "spec.kafka.authentication", "tls")},
		{name: "unknown authentication", obj: set(minimal(), "spec.kafka.authentication", "plain"), want: "Unsupported value"},
		{
			name: "mutual TLS without TLS",
			obj:  set(set(minimal(), "spec.kafka.authentication", "tls"), "spec.kafka.tls.enabled", false),
			want: "authentication tls is mutual TLS: tls.enabled cannot be false",
		},
		{name: "scram on a plain listener", obj: set(set(minimal(), "spec.kafka.authentication", "scram-sha-512"), "spec.kafka.tls.enabled", false)},
		{name: "TLS without authentication", obj: set(minimal(), "spec.kafka.tls.enabled", true)},
		{
			name: "CA without TLS",
			obj:  set(minimal(), "spec.kafka.tls.caSecretRef", map[string]any{"name": "my-ca"}),
			want: "tls.caSecretRef is only used with TLS",
		},
		{
			name: "CA with authentication",
			obj:  set(set(minimal(), "spec.kafka.authentication", "scram-sha-512"), "spec.kafka.tls.caSecretRef", map[string]any{"name": "my-ca"}),
		},
		{name: "CA without a name", obj: set(set(minimal(), "spec.kafka.tls.enabled", true), "spec.kafka.tls.caSecretRef", map[string]any{"key": "ca.pem"}), want: "Required value"},
		{name: "network policies off", obj: set(minimal(), "spec.networkPolicy.enabled", false)},
		{
			name: "client namespaces by label",
			obj:  set(minimal(), "spec.networkPolicy.clientNamespaceSelector", map[string]any{"matchLabels": map[string]any{"team": "shop"}}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := s.admit(t, tt.obj, tt.old)
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("rejected: %v", errs.ToAggregate())
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("admitted, want an error with %q", tt.want)
			}
			if got := errs.ToAggregate().Error(); !strings.Contains(got, tt.want) {
				t.Fatalf("error = %s\nwant it to contain %q", got, tt.want)
			}
		})
	}
}

// TestDefaultMatchesCRD checks that Default gives a pipeline the same defaults the API server
// gives it from the CRD's markers.
func TestDefaultMatchesCRD(t *testing.T) {
	s := loadCRD(t)
	tests := []struct {
		name string
		obj  map[string]any
	}{
		{name: "minimal sample", obj: readSample(t, "pipeline-minimal.yaml")},
		{name: "full sample", obj: readSample(t, "pipeline-full.yaml")},
		{name: "partial replicas", obj: set(readSample(t, "pipeline-minimal.yaml"), "spec.clean.replicas.max", int64(3))},
		{name: "partial serving", obj: set(readSample(t, "pipeline-minimal.yaml"), "spec.popularity.serving.replicas.max", int64(30))},
		{name: "clean at zero", obj: set(set(readSample(t, "pipeline-minimal.yaml"), "spec.scaling.mode", "KEDA"), "spec.clean.replicas", map[string]any{"min": int64(0)})},
		{name: "partial topics", obj: set(readSample(t, "pipeline-minimal.yaml"), "spec.topics.partitions", int64(9))},
		{name: "CA without a key", obj: set(set(readSample(t, "pipeline-minimal.yaml"), "spec.kafka.tls.enabled", true), "spec.kafka.tls.caSecretRef", map[string]any{"name": "my-ca"})},
		{name: "network policies off", obj: set(readSample(t, "pipeline-minimal.yaml"), "spec.networkPolicy.enabled", false)},
		{name: "limits only", obj: set(readSample(t, "pipeline-minimal.yaml"), "spec.ingest.resources", map[string]any{"limits": map[string]any{"memory": "1Gi"}})},
		{
			name: "env from a file key",
			obj: set(readSample(t, "pipeline-minimal.yaml"), "spec.clean.env", []any{map[string]any{
				"name":      "X",
				"valueFrom": map[string]any{"fileKeyRef": map[string]any{"volumeName": "v", "path": "p", "key": "k"}},
			}}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got v1alpha1.RecommendationPipeline
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(runtime.DeepCopyJSON(tt.obj), &got); err != nil {
				t.Fatal(err)
			}
			got.Default()

			defaulting.Default(tt.obj, s.structural)
			var want v1alpha1.RecommendationPipeline
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tt.obj, &want); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(got, want) {
				g, _ := yaml.Marshal(got)
				w, _ := yaml.Marshal(want)
				t.Fatalf("Default() gave\n%s\nthe API server gives\n%s", g, w)
			}
		})
	}
}
