package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from render's output")

// TestRenderSamples checks that render prints exactly what the builders build for the shipped
// samples once their defaults are applied: the builders' own golden files.
func TestRenderSamples(t *testing.T) {
	tests := []struct {
		sample, golden string
		args           []string
	}{
		// The minimal sample says scaling Auto, which render takes to mean KEDA.
		{"pipeline-minimal.yaml", "minimal-keda", []string{"--namespace", "recoflow"}},
		{"pipeline-full.yaml", "full-keda", nil},
		{"pipeline-full.yaml", "full-hpa", []string{"--scaling", "hpa"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			args := append([]string{"-f", filepath.Join("../../manifests/samples", tt.sample)}, tt.args...)
			got := mustRender(t, args, "")
			want, err := os.ReadFile(filepath.Join("../internal/manifests/testdata", tt.golden+".golden.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("render %s differs from the builders' %s golden file:\n%s", strings.Join(args, " "), tt.golden, got)
			}
		})
	}
}

// TestRenderGolden covers render's own flags: several pipelines from standard input, a default
// namespace, other default images and an autoscaler chosen on the command line.
func TestRenderGolden(t *testing.T) {
	input, err := os.ReadFile("testdata/two-pipelines.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		golden string
		args   []string
	}{
		{"two-pipelines", []string{"-f", "-", "--namespace", "shelf", "--clean-image", "localhost:5001/recoflow-clean:dev"}},
		{"two-pipelines-hpa", []string{"-f", "-", "--scaling", "HPA"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got := mustRender(t, tt.args, string(input))
			path := filepath.Join("testdata", tt.golden+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("render differs from %s (run go test -update and review the diff):\n%s", path, got)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no file", nil, "", "-f names the pipeline file"},
		{"missing file", []string{"-f", "testdata/none.yaml"}, "", "no such file"},
		{"unknown autoscaler", []string{"-f", "-", "--scaling", "vpa"}, "", `autoscaler "vpa"`},
		{"empty input", []string{"-f", "-"}, "# nothing\n", "no RecommendationPipeline"},
		{"other kind", []string{"-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "not a recoflow.dev/v1alpha1 RecommendationPipeline"},
		{
			"unknown field", []string{"-f", "-"},
			"apiVersion: recoflow.dev/v1alpha1\nkind: RecommendationPipeline\nmetadata: {name: x}\nspec: {kafka: {clusterRef: {name: k}}, partitions: 3}\n",
			`unknown field "partitions"`,
		},
		{
			"bad duration", []string{"-f", "-"},
			"apiVersion: recoflow.dev/v1alpha1\nkind: RecommendationPipeline\nmetadata: {name: x}\nspec: {kafka: {clusterRef: {name: k}}, topics: {retention: 7d}}\n",
			"spec.topics.retention",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := render(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("render(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("render printed objects despite the error:\n%s", stdout.String())
			}
		})
	}
}

func mustRender(t *testing.T, args []string, stdin string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := render(args, strings.NewReader(stdin), &stdout, &stderr); err != nil {
		t.Fatalf("render %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}
