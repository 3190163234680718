// Package tilt tests the repository's Tiltfile: it evaluates it with `tilt alpha tiltfile-result`,
// which needs no cluster, using the tilt and helm binaries that `make tools` builds into bin/.
package tilt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// kubeconfig has a kind context and another one; neither server exists, and evaluating the
// Tiltfile must not need one.
const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: kind-recoflow
  context: {cluster: nowhere, user: dev}
- name: production
  context: {cluster: nowhere, user: dev}
current-context: kind-recoflow
users:
- name: dev
  user: {token: not-a-token}
`

// result is the part of tiltfile-result's JSON that the tests read.
type result struct {
	Manifests []struct {
		Name         string
		TriggerMode  int
		ImageTargets []imageTarget
		DeployTarget struct {
			YAML string `json:"yaml"`
		}
		ResourceDependencies []string
	}
	DefaultRegistry struct {
		Host string `json:"host"`
	}
}

// imageTarget is an image Tilt builds, and how it live-updates the containers that run it.
type imageTarget struct {
	Selector       string `json:"selector"`
	LiveUpdateSpec struct {
		Syncs []struct {
			LocalPath     string `json:"localPath"`
			ContainerPath string `json:"containerPath"`
		} `json:"syncs"`
	}
}

// TestMain reads what tilt and helm read when they evaluate the Tiltfile: they run in other
// processes, and only what the test process itself reads tells `go test` to run the tests again
// after a change.
func TestMain(m *testing.M) {
	root := filepath.Join("..", "..")
	inputs := []string{"Tiltfile", filepath.Join("charts", "recoflow"), filepath.Join("hack", "tilt")}
	for _, input := range inputs {
		err := filepath.WalkDir(filepath.Join(root, input), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			_, err = os.ReadFile(path)
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "read the Tiltfile's inputs:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// evaluate runs tilt alpha tiltfile-result on the repository's Tiltfile in a kube context.
func evaluate(t *testing.T, context string) (stdout, stderr []byte, err error) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	for _, tool := range []string{"tilt", "helm"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			t.Fatalf("the Tiltfile test needs bin/%s: run `make tools` (%v)", tool, err)
		}
	}
	home := t.TempDir()
	config := filepath.Join(home, "kubeconfig")
	if err := os.WriteFile(config, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "tilt"), "alpha", "tiltfile-result",
		"--file", filepath.Join(root, "Tiltfile"), "--context", context)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"KUBECONFIG="+config,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TILT_DISABLE_ANALYTICS=1",
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

func TestTiltfileDeclaresTheDevelopmentLoop(t *testing.T) {
	stdout, stderr, err := evaluate(t, "kind-recoflow")
	if err != nil {
		t.Fatalf("tilt alpha tiltfile-result: %v\n%s", err, stderr)
	}
	var res result
	if err := json.Unmarshal(stdout, &res); err != nil {
		t.Fatalf("decode tiltfile-result: %v", err)
	}
	byName := map[string]int{}
	var names []string
	for i, m := range res.Manifests {
		byName[m.Name] = i
		names = append(names, m.Name)
	}

	t.Run("resources", func(t *testing.T) {
		want := []string{
			"compile-operator", "compile-ingest", "compile-clean", "compile-popularity",
			"recoflow-operator", "strimzi", "kafka", "kafka-ready", "likes", "pipeline-ready",
			"ingest-port-forward", "popularity-port-forward", "unit-tests", "all-tests",
		}
		got := slices.Clone(names)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("resources = %v, want %v", got, want)
		}
	})

	t.Run("registry", func(t *testing.T) {
		if res.DefaultRegistry.Host != "localhost:5001" {
			t.Errorf("default registry = %q, want localhost:5001 (hack/kind-up.sh's)", res.DefaultRegistry.Host)
		}
	})

	t.Run("images with live update", func(t *testing.T) {
		for resource, images := range map[string][]string{
			"recoflow-operator": {"operator"},
			"likes":             {"ingest", "clean", "popularity"},
		} {
			i, ok := byName[resource]
			if !ok {
				t.Errorf("no resource %s", resource)
				continue
			}
			targets := res.Manifests[i].ImageTargets
			if len(targets) != len(images) {
				t.Errorf("%s builds %d images, want %v", resource, len(targets), images)
			}
			for _, bin := range images {
				j := slices.IndexFunc(targets, func(it imageTarget) bool { return it.Selector == "recoflow-"+bin })
				if j < 0 {
					t.Errorf("%s does not build recoflow-%s", resource, bin)
					continue
				}
				syncs := targets[j].LiveUpdateSpec.Syncs
				if len(syncs) != 1 || syncs[0].LocalPath != "bin/linux/"+bin || syncs[0].ContainerPath != "/tmp/live/main" {
					t.Errorf("recoflow-%s live update syncs %+v, want bin/linux/%s to /tmp/live/main", bin, syncs, bin)
				}
			}
		}
	})

	t.Run("objects", func(t *testing.T) {
		for resource, want := range map[string][]string{
			"recoflow-operator": {
				"Namespace/recoflow-system", "CustomResourceDefinition/recommendationpipelines.recoflow.dev",
				"ServiceAccount/recoflow-operator", "ClusterRole/recoflow-operator", "ClusterRoleBinding/recoflow-operator",
				"Deployment/recoflow-operator", "Service/recoflow-operator-metrics",
			},
			"kafka": {"Kafka/recoflow", "KafkaNodePool/dual-role"},
			"likes": {"RecommendationPipeline/likes"},
		} {
			i, ok := byName[resource]
			if !ok {
				t.Errorf("no resource %s", resource)
				continue
			}
			got := objects(t, res.Manifests[i].DeployTarget.YAML)
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s deploys %v, want %v", resource, got, want)
			}
		}
	})

	t.Run("order", func(t *testing.T) {
		for resource, deps := range map[string][]string{
			"kafka":                   {"strimzi", "recoflow-operator"},
			"likes":                   {"recoflow-operator", "kafka-ready"},
			"ingest-port-forward":     {"pipeline-ready"},
			"popularity-port-forward": {"pipeline-ready"},
		} {
			i, ok := byName[resource]
			if !ok {
				t.Errorf("no resource %s", resource)
				continue
			}
			for _, d := range deps {
				if !slices.Contains(res.Manifests[i].ResourceDependencies, d) {
					t.Errorf("%s does not wait for %s (it waits for %v)", resource, d, res.Manifests[i].ResourceDependencies)
				}
			}
		}
	})

	t.Run("tests run on demand", func(t *testing.T) {
		const triggerModeManual = 2 // model.TriggerModeManual: no automatic run, not even at start
		for _, name := range []string{"unit-tests", "all-tests"} {
			if i, ok := byName[name]; !ok || res.Manifests[i].TriggerMode != triggerModeManual {
				t.Errorf("%s is missing or does not wait for a manual trigger", name)
			}
		}
	})
}

func TestTiltfileRefusesOtherClusters(t *testing.T) {
	_, stderr, err := evaluate(t, "production")
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("tilt alpha tiltfile-result in context production: err = %v, want a failed evaluation", err)
	}
	if !strings.Contains(string(stderr), "deploys only to a kind cluster") || !strings.Contains(string(stderr), `"production"`) {
		t.Errorf("stderr does not explain the refusal:\n%s", stderr)
	}
}

// objects lists the kind/name of every object in a YAML stream.
func objects(t *testing.T, stream string) []string {
	t.Helper()
	var names []string
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("decode deployed YAML: %v", err)
		}
		if obj != nil {
			u := unstructured.Unstructured{Object: obj}
			names = append(names, u.GetKind()+"/"+u.GetName())
		}
	}
}
