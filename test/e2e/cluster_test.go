//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// env is what the whole suite shares: a client of the cluster and where things are.
var env struct {
	c client.Client
	// root is the repository's root.
	root string
	// upstreamCRDs holds Strimzi's and KEDA's CRDs (../shared/reference/crds in CI).
	upstreamCRDs string
	// registry and tag of the recoflow images hack/cluster/images.sh assembled.
	registry, tag string
	// plugin is the kubectl-recoflow binary, built from this checkout.
	plugin string
}

func TestMain(m *testing.M) {
	flag.Parse()
	if !selected("TestScaling") {
		allowKEDA()
	}
	tmp, err := os.MkdirTemp("", "recoflow-e2e-")
	if err == nil {
		err = setup(tmp)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(tmp)
	os.Exit(code)
}

// setup reads where things are, connects to the cluster, builds the kubectl plugin into tmp and
// installs Strimzi's CRDs.
func setup(tmp string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	env.root = root
	// Relative to the repository's root, like .ci/run's UPSTREAM_CRDS.
	env.upstreamCRDs = envOr("UPSTREAM_CRDS", "../shared/reference/crds")
	if !filepath.IsAbs(env.upstreamCRDs) {
		env.upstreamCRDs = filepath.Join(root, env.upstreamCRDs)
	}
	env.registry = envOr("E2E_IMAGE_REGISTRY", "localhost:5001")
	chart, err := os.ReadFile(filepath.Join(root, "charts/recoflow/Chart.yaml"))
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(chart), "\n") {
		if v, ok := strings.CutPrefix(line, "appVersion:"); ok {
			env.tag = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cfg, err := config.GetConfig()
	if err != nil {
		return err
	}
	env.c, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	env.plugin = filepath.Join(tmp, "kubectl-recoflow")
	if _, err := run(context.Background(), nil, "go", "build", "-o", env.plugin, "./operator/cmd/kubectl-recoflow"); err != nil {
		return err
	}
	// Strimzi's CRDs, as a cluster with the Strimzi operator has them, served before the first test.
	strimzi := filepath.Join(env.upstreamCRDs, "strimzi")
	if _, err := run(context.Background(), nil, "kubectl", "apply", "--server-side", "-f", strimzi); err != nil {
		return err
	}
	// kubectl wait fails at once on a CRD that has no status yet (just created): retry, for a minute.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		_, err = run(context.Background(), nil, "kubectl", "wait", "--for=condition=Established", "--timeout=1m", "-f", strimzi)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// run runs a command with stdin and returns its output; the error carries the output.
func run(ctx context.Context, stdin []byte, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = env.root
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// must runs a command and fails the test if it fails.
func must(t *testing.T, stdin []byte, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := run(ctx, stdin, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// applyTemplate renders testdata/NAME with data and applies it.
func applyTemplate(t *testing.T, name string, data any) {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		t.Fatal(err)
	}
	must(t, buf.Bytes(), "kubectl", "apply", "--server-side", "-f", "-")
}

// eventually polls check until it returns nil, and fails the test with check's last error when
// it has not within timeout.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// restrictedNamespace creates a namespace that enforces the "restricted" Pod Security Standard, and
// deletes it when the test ends.
func restrictedNamespace(t *testing.T, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}}}
	if err := env.c.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() { cleanNamespace(t, name) })
	return name
}

// cleanNamespace deletes what a test left in a namespace in the order a Strimzi user must: the
// pipelines and their KafkaTopics while the Kafka cluster and its Topic Operator still run (they
// hold the topics' strimzi.io/topic-operator finalizer), then the Kafka clusters (Strimzi, and so
// the stand-ins, remove the brokers and the Topic Operator with them), then the namespace. A
// finalizer still left after that is a failure; it is reported, and only then released so that the
// next test starts clean.
func cleanNamespace(t *testing.T, name string) {
	t.Helper()
	diagnose(t, name)
	ctx := context.Background()
	err := env.c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{})
	if apierrors.IsNotFound(err) {
		return
	}
	for _, kind := range []string{"recommendationpipelines.recoflow.dev", "kafkatopics.kafka.strimzi.io", "kafkas.kafka.strimzi.io"} {
		// Foreground: a pipeline is gone once its pods are, which stop while Kafka still runs; a
		// Kafka once its brokers and entity operator are.
		out, err := run(ctx, nil, "kubectl", "-n", name, "delete", kind, "--all", "--wait", "--timeout=2m", "--cascade=foreground")
		// A test that failed before it installed recoflow's CRD has no pipeline to delete.
		if err != nil && !strings.Contains(out, "the server doesn't have a resource type") {
			t.Errorf("clean up %s: %v", name, err)
		}
	}
	// The namespace is deleted once its pods are gone (the operator's, say, after helm uninstall):
	// the namespace controller retries a namespace whose pods still terminate only after a backoff
	// that grows to a minute, which would hide whether a finalizer is left.
	eventually(t, 2*time.Minute, "pods of "+name+" gone", func() error {
		var pods corev1.PodList
		if err := env.c.List(ctx, &pods, client.InNamespace(name)); err != nil {
			return err
		}
		if n := len(pods.Items); n > 0 {
			return fmt.Errorf("%d left, such as %s", n, pods.Items[0].Name)
		}
		return nil
	})
	if err := env.c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete namespace %s: %v", name, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if err := env.c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(time.Second)
	}
	out, _ := run(ctx, nil, "kubectl", "-n", name, "get", "recommendationpipelines,kafkatopics,kafkas", "-o", "name")
	conditions, _ := run(ctx, nil, "kubectl", "get", "namespace", name, "-o", "jsonpath={.status.conditions}")
	pods, _ := run(ctx, nil, "kubectl", "-n", name, "get", "pods", "-o", "wide")
	t.Errorf("namespace %s not deleted within 2m (conditions %s; pods:\n%s); releasing the finalizers of: %s", name, conditions, pods, out)
	for _, obj := range strings.Fields(out) {
		_, _ = run(ctx, nil, "kubectl", "-n", name, "patch", obj, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	}
}

// deleteNamespace deletes a namespace and waits until it is gone.
func deleteNamespace(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.c.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete namespace %s: %v", name, err)
		return
	}
	eventually(t, timeout, "namespace "+name+" deleted", func() error {
		err := env.c.Get(ctx, client.ObjectKey{Name: name}, ns)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still %s: %v", ns.Status.Phase, ns.Status.Conditions)
	})
}

// kafkaStandin is a Kafka cluster of the stand-ins: the Kafka and KafkaNodePool come from the chart
// or from the test, the broker and Topic Operator from testdata/standin.yaml.
type kafkaStandin struct {
	Namespace, Cluster string
	// BrokerReplicas is 0 for a Kafka that is not reachable yet.
	BrokerReplicas int
	// KafkaUID is the uid of the Kafka resource that owns the stand-ins, empty while there is none.
	KafkaUID string
}

var kafkaGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "Kafka"}

// deployKafkaStandin starts the broker and the Topic Operator stand-in of a Kafka cluster. Once the
// Kafka resource exists they belong to it, as Strimzi's brokers and entity operator do: deleting the
// Kafka removes them, and with them whatever would still release the KafkaTopics' finalizers.
func deployKafkaStandin(t *testing.T, k kafkaStandin) {
	t.Helper()
	k.KafkaUID = kafkaUID(t, k.Namespace, k.Cluster)
	applyTemplate(t, "standin.yaml", k)
}

// kafkaUID returns the uid of the Kafka namespace/name, empty while there is none.
func kafkaUID(t *testing.T, namespace, name string) string {
	t.Helper()
	kafka := &unstructured.Unstructured{}
	kafka.SetGroupVersionKind(kafkaGVK)
	err := env.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, kafka)
	switch {
	case err == nil:
		return string(kafka.GetUID())
	case !apierrors.IsNotFound(err):
		t.Fatalf("get Kafka %s/%s: %v", namespace, name, err)
	}
	return ""
}

// pipeline returns the pipeline namespace/name.
func pipeline(t *testing.T, namespace, name string) *v1alpha1.RecommendationPipeline {
	t.Helper()
	p := &v1alpha1.RecommendationPipeline{}
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, p); err != nil {
		t.Fatalf("get pipeline %s/%s: %v", namespace, name, err)
	}
	return p
}

// waitPipelineReady waits until the pipeline's status says Ready for its current generation.
func waitPipelineReady(t *testing.T, namespace, name string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("pipeline %s/%s Ready", namespace, name), func() error {
		p := &v1alpha1.RecommendationPipeline{}
		if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, p); err != nil {
			return err
		}
		return readyError(p)
	})
}

// readyError is nil when p is Ready for its generation, otherwise it says what its status says.
func readyError(p *v1alpha1.RecommendationPipeline) error {
	ready := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
	if ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == p.Generation {
		return nil
	}
	var b strings.Builder
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, "%s=%s (%s: %s; generation %d/%d) ", c.Type, c.Status, c.Reason, c.Message, c.ObservedGeneration, p.Generation)
	}
	return errors.New(b.String())
}

// diagnosed holds the namespaces whose state was logged for a failed test.
var diagnosed sync.Map

// diagnose logs, once per namespace and only when the test failed, what the namespace holds: its
// objects, the pipelines' status, recent events, the operator's last log lines and those of every
// container that restarted. Every cleanup that deletes something calls it first, so that the state
// logged is the state the test failed in; with scenarios running concurrently each test's log
// carries only its own namespace.
func diagnose(t *testing.T, namespace string) {
	t.Helper()
	if !t.Failed() {
		return
	}
	if _, done := diagnosed.LoadOrStore(namespace, true); done {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	show := func(args ...string) {
		out, err := run(ctx, nil, "kubectl", append([]string{"-n", namespace}, args...)...)
		if err != nil {
			out = err.Error()
		}
		t.Logf("diagnosis of %s: kubectl %s\n%s", namespace, strings.Join(args, " "), out)
	}
	show("get", "deployments,replicasets,pods,services,endpointslices,hpa,networkpolicies,secrets", "-o", "wide")
	for _, kind := range []string{"recommendationpipelines", "kafkatopics", "kafkausers", "kafkas", "scaledobjects", "triggerauthentications"} {
		show("get", kind, "-o", "wide", "--ignore-not-found")
	}
	show("get", "recommendationpipelines", "-o", "jsonpath={range .items[*]}{.metadata.name}: {.status}{\"\\n\"}{end}", "--ignore-not-found")
	show("get", "events", "--sort-by=.lastTimestamp")
	show("logs", "-l", "app.kubernetes.io/component=operator", "--tail=60", "--all-containers", "--prefix")
	var pods corev1.PodList
	if err := env.c.List(ctx, &pods, client.InNamespace(namespace)); err == nil {
		for _, p := range pods.Items {
			for _, c := range p.Status.ContainerStatuses {
				if c.RestartCount > 0 {
					show("logs", p.Name, "-c", c.Name, "--previous", "--tail=40")
				}
			}
		}
	}
}
