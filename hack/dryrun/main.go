// Command dryrun checks that a real Kubernetes API server accepts everything recoflow ships, without a
// cluster: it starts kube-apiserver and etcd (envtest, binaries from bin/k8s), installs the upstream
// Strimzi, KEDA and Prometheus Operator CRDs and the recoflow CRD, and runs `kubectl apply --dry-run=server` on the Helm
// chart's output (default values, and with the development Kafka and the example pipeline), on
// manifests/install.yaml, manifests/kafka/ and manifests/samples/, and on what `render` makes of each
// sample. Every check runs even when an earlier one fails; the exit status is 1 when any failed.
//
//	go run ./hack/dryrun -upstream-crds ../shared/reference/crds
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// namespace is where the chart is installed; the checks create it for real before dry-running.
const namespace = "recoflow-system"

// samplesNamespace is where manifests without a namespace of their own are dry-run; the checks also
// create every namespace the samples name.
const samplesNamespace = "recoflow-samples"

// config is what the command line sets.
type config struct {
	upstreamCRDs string // folder with strimzi/, keda/ and prometheus-operator/ CRDs
	assets       string // folder with kube-apiserver and etcd
	helm         string // helm binary
	kubectl      string // kubectl binary
	timeout      time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.upstreamCRDs, "upstream-crds", "../shared/reference/crds", "folder holding the upstream strimzi/, keda/ and prometheus-operator/ CRDs")
	flag.StringVar(&cfg.assets, "assets", envOr("KUBEBUILDER_ASSETS", "bin/k8s"), "folder holding the kube-apiserver and etcd binaries")
	flag.StringVar(&cfg.helm, "helm", "bin/helm", "helm binary")
	flag.StringVar(&cfg.kubectl, "kubectl", "kubectl", "kubectl binary")
	flag.DurationVar(&cfg.timeout, "timeout", 2*time.Minute, "time limit of each check")
	flag.Parse()

	if err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dryrun:", err)
		os.Exit(1)
	}
}

// check is one set of objects to dry-run: render makes the YAML, which is applied in namespace (or
// in the objects' own namespaces when it is empty).
type check struct {
	name      string
	namespace string
	render    func(ctx context.Context) ([]byte, error)
}

// run starts the API server, runs every check and reports each on out.
func run(ctx context.Context, cfg config, out io.Writer) error {
	for _, dir := range []string{"strimzi", "keda", "prometheus-operator"} {
		if _, err := os.Stat(filepath.Join(cfg.upstreamCRDs, dir)); err != nil {
			return fmt.Errorf("upstream CRDs: %w", err)
		}
	}
	tmp, err := os.MkdirTemp("", "recoflow-dryrun-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	env := &envtest.Environment{
		BinaryAssetsDirectory: cfg.assets,
		CRDDirectoryPaths: []string{
			filepath.Join(cfg.upstreamCRDs, "strimzi"),
			filepath.Join(cfg.upstreamCRDs, "keda"),
			filepath.Join(cfg.upstreamCRDs, "prometheus-operator"),
			filepath.Join("operator", "config", "crd"),
		},
		ErrorIfCRDPathMissing: true,
	}
	start := time.Now()
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("start kube-apiserver (built by `make envtest`): %w", err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dryrun: stop kube-apiserver:", err)
		}
	}()
	fmt.Fprintf(out, "dryrun: kube-apiserver with %d CRDs up in %s\n", len(env.CRDs), time.Since(start).Round(time.Millisecond))

	kubeconfig := filepath.Join(tmp, "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		return err
	}
	checks, samples, err := checks(cfg, tmp)
	if err != nil {
		return err
	}
	namespaces, err := namespacesOf(samples)
	if err != nil {
		return err
	}
	k := kubectl{bin: cfg.kubectl, kubeconfig: kubeconfig}
	for _, ns := range append([]string{namespace, samplesNamespace}, namespaces...) {
		if _, err := k.run(ctx, nil, "create", "namespace", ns); err != nil {
			return err
		}
	}

	failed := 0
	for _, c := range checks {
		start := time.Now()
		detail, err := c.run(ctx, cfg.timeout, k)
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s (%s)\n%s\n", c.name, took, indent(err.Error()))
			continue
		}
		fmt.Fprintf(out, "ok   %s (%s, %s)\n", c.name, took, detail)
	}
	fmt.Fprintf(out, "dryrun: %d passed, %d failed\n", len(checks)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checks))
	}
	return nil
}

// checks lists what to dry-run: the chart, the plain manifests, the samples and their rendering. It
// also returns the sample files.
func checks(cfg config, tmp string) ([]check, []string, error) {
	helmTemplate := func(set ...string) func(context.Context) ([]byte, error) {
		args := []string{"template", "recoflow", "charts/recoflow", "--namespace", namespace, "--include-crds"}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		return func(ctx context.Context) ([]byte, error) { return output(ctx, nil, cfg.helm, args...) }
	}
	cs := []check{
		{name: "helm template charts/recoflow (default values)", namespace: namespace, render: helmTemplate()},
		{name: "helm template charts/recoflow (kafka.create, examplePipeline.enabled)", namespace: namespace,
			render: helmTemplate("kafka.create=true", "examplePipeline.enabled=true")},
		{name: "helm template charts/recoflow (metrics.serviceMonitor, monitoring.*: Prometheus Operator and Grafana objects)", namespace: namespace,
			render: helmTemplate("metrics.serviceMonitor.enabled=true", "monitoring.podMonitor.enabled=true",
				"monitoring.rules.enabled=true", "monitoring.dashboard.enabled=true")},
		{name: "manifests/install.yaml", namespace: namespace, render: readFile("manifests/install.yaml")},
		{name: "manifests/kafka/kafka.yaml", namespace: samplesNamespace, render: readFile("manifests/kafka/kafka.yaml")},
		// The KafkaUser of kubectl-recoflow names its namespace, the secured sample pipeline's.
		{name: "manifests/kafka/kafkauser-plugin.yaml", render: readFile("manifests/kafka/kafkauser-plugin.yaml")},
	}

	samples, err := filepath.Glob("manifests/samples/*.yaml")
	if err != nil {
		return nil, nil, err
	}
	if len(samples) == 0 {
		return nil, nil, errors.New("no samples in manifests/samples")
	}
	operator := filepath.Join(tmp, "recoflow-operator")
	built := false
	renderSample := func(sample string) func(context.Context) ([]byte, error) {
		return func(ctx context.Context) ([]byte, error) {
			if !built {
				if _, err := output(ctx, nil, "go", "build", "-o", operator, "./operator/cmd"); err != nil {
					return nil, err
				}
				built = true
			}
			return output(ctx, nil, operator, "render", "-f", sample)
		}
	}
	for _, s := range samples {
		cs = append(cs,
			check{name: s, render: readFile(s)},
			check{name: "render -f " + s, render: renderSample(s)},
		)
	}
	return cs, samples, nil
}

// namespacesOf returns the namespaces that objects in the YAML files name, each once.
func namespacesOf(files []string) ([]string, error) {
	seen := map[string]bool{}
	var namespaces []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		dec := yaml.NewYAMLOrJSONDecoder(f, 4096)
		for {
			var obj struct {
				Metadata struct {
					Namespace string `json:"namespace"`
				} `json:"metadata"`
			}
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if ns := obj.Metadata.Namespace; ns != "" && !seen[ns] {
				seen[ns] = true
				namespaces = append(namespaces, ns)
			}
		}
		f.Close()
	}
	return namespaces, nil
}

// run renders the check's YAML and dry-runs it; it returns what kubectl said it would do.
func (c check) run(ctx context.Context, timeout time.Duration, k kubectl) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	manifest, err := c.render(ctx)
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(manifest)) == 0 {
		return "", errors.New("rendered nothing")
	}
	args := []string{"apply", "--dry-run=server", "-f", "-"}
	if c.namespace != "" {
		args = append(args, "--namespace", c.namespace)
	}
	got, err := k.run(ctx, manifest, args...)
	if err != nil {
		return "", err
	}
	n := strings.Count(strings.TrimSpace(got), "\n") + 1
	return fmt.Sprintf("%d objects accepted", n), nil
}

// kubectl runs kubectl against the envtest API server.
type kubectl struct {
	bin        string
	kubeconfig string
}

func (k kubectl) run(ctx context.Context, stdin []byte, args ...string) (string, error) {
	out, err := output(ctx, stdin, k.bin, append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
	return string(out), err
}

// output runs a command and returns its standard output; on failure the error carries its standard
// error.
func output(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func readFile(name string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return os.ReadFile(name) }
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
