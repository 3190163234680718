//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"text/template"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// scenario is a namespace with a Kafka cluster of the stand-ins and an operator installed by the
// chart as release <namespace>, watching that namespace only: the scenarios run concurrently, each
// with its own operator, as several teams' installations share a cluster.
type scenario struct {
	t         *testing.T
	namespace string
	cluster   string
}

// newScenario creates a restricted namespace with a Kafka cluster of brokers brokers (0: not
// reachable yet) and installs the operator into it. Cleanup deletes the pipelines while the
// operator still runs, then uninstalls it; the namespace's cleanup (restrictedNamespace) then
// deletes the topics while the Kafka still runs, and the Kafka last.
func newScenario(t *testing.T, namespace string, brokers int, sets ...string) *scenario {
	t.Helper()
	s := &scenario{t: t, namespace: namespace, cluster: "events"}
	restrictedNamespace(t, namespace)
	s.applyKafka()
	s.startKafka(brokers)
	installRelease(t, namespace, namespace, append([]string{"operator.watchNamespaces={" + namespace + "}"}, sets...)...)
	t.Cleanup(func() {
		diagnose(t, namespace)
		ctx := context.Background()
		deletePipelines(t, namespace)
		if _, err := run(ctx, nil, helm(), "uninstall", namespace, "--namespace", namespace, "--wait"); err != nil {
			t.Error(err)
		}
	})
	return s
}

// deletePipelines deletes the namespace's pipelines in the foreground and waits until they are
// gone, and so their Deployments and pods: the functions shut down while Kafka still runs (with
// Kafka gone first, each would spend its whole grace period on a broker that no longer answers).
func deletePipelines(t *testing.T, namespace string) {
	t.Helper()
	ctx := context.Background()
	err := env.c.DeleteAllOf(ctx, &v1alpha1.RecommendationPipeline{}, client.InNamespace(namespace), client.PropagationPolicy(metav1.DeletePropagationForeground))
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete pipelines: %v", err)
	}
	eventually(t, 2*time.Minute, "pipelines and their pods deleted", func() error {
		var list v1alpha1.RecommendationPipelineList
		if err := env.c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
			return err
		}
		if n := len(list.Items); n > 0 {
			return fmt.Errorf("%d left", n)
		}
		return nil
	})
}

// installRelease installs the chart as release into namespace with the local images.
func installRelease(t *testing.T, release, namespace string, sets ...string) {
	t.Helper()
	args := []string{"install", release, "charts/recoflow", "--namespace", namespace, "--wait", "--timeout", "3m",
		"--set", "image.registry=" + env.registry, "--set", "image.pullPolicy=IfNotPresent"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	must(t, nil, helm(), args...)
}

// startKafka runs the broker with replicas pods (0: not reachable) and the Topic Operator stand-in.
func (s *scenario) startKafka(replicas int) {
	deployKafkaStandin(s.t, kafkaStandin{Namespace: s.namespace, Cluster: s.cluster, BrokerReplicas: replicas})
}

// applyKafka creates the Kafka and KafkaNodePool the way manifests/kafka/kafka.yaml does, one broker.
func (s *scenario) applyKafka() {
	applyTemplate(s.t, "kafka.yaml", kafkaStandin{Namespace: s.namespace, Cluster: s.cluster})
}

// pipelineSpec is the spec of a test pipeline, in YAML under spec:.
const pipelineTemplate = `apiVersion: recoflow.dev/v1alpha1
kind: RecommendationPipeline
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  kafka:
    clusterRef:
      name: {{.Cluster}}
  topics:
    partitions: 3
    replicas: 1
  deletionPolicy: Delete
{{.Extra}}`

// scenarioCPU is the CPU request of a scenario's function that sets none. The scheduler places pods
// by their requests, and the suite's ten scenarios run at once on a 2-core node, each with its
// operator, broker and Topic Operator: at the default (100m a function) a third of their pods
// would stay Pending. The pipelines that measure CPU utilisation set their own requests.
const scenarioCPU = "20m"

// applyPipeline creates or updates a pipeline; extra is YAML indented under spec. Every function
// whose resources extra does not set requests scenarioCPU.
func (s *scenario) applyPipeline(name, extra string) {
	s.t.Helper()
	tmpl := template.Must(template.New("pipeline").Parse(pipelineTemplate))
	var buf bytes.Buffer
	data := map[string]string{"Name": name, "Namespace": s.namespace, "Cluster": s.cluster, "Extra": extra}
	if err := tmpl.Execute(&buf, data); err != nil {
		s.t.Fatal(err)
	}
	manifest, err := withScenarioCPU(buf.Bytes())
	if err != nil {
		s.t.Fatal(err)
	}
	must(s.t, manifest, "kubectl", "apply", "--server-side", "--field-manager=e2e", "-f", "-")
}

// withScenarioCPU sets the resources of every function of a pipeline manifest that has none to a
// CPU request of scenarioCPU.
func withScenarioCPU(manifest []byte) ([]byte, error) {
	var p map[string]any
	if err := yaml.Unmarshal(manifest, &p); err != nil {
		return nil, err
	}
	spec, _ := p["spec"].(map[string]any)
	for _, path := range [][]string{{"ingest"}, {"clean"}, {"popularity"}, {"popularity", "serving"}} {
		m := spec
		for _, k := range path {
			next, _ := m[k].(map[string]any)
			if next == nil {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		if _, ok := m["resources"]; !ok {
			m["resources"] = map[string]any{"requests": map[string]any{"cpu": scenarioCPU}}
		}
	}
	return yaml.Marshal(p)
}

// deployment returns a Deployment of the scenario.
func (s *scenario) deployment(name string) *appsv1.Deployment {
	s.t.Helper()
	d := &appsv1.Deployment{}
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: s.namespace, Name: name}, d); err != nil {
		s.t.Fatalf("get deployment %s: %v", name, err)
	}
	return d
}

// pods returns the pods of a function of a pipeline.
func (s *scenario) pods(pipeline, role string) []corev1.Pod {
	s.t.Helper()
	var pods corev1.PodList
	err := env.c.List(context.Background(), &pods, client.InNamespace(s.namespace), client.MatchingLabels{
		"recoflow.dev/pipeline": pipeline, "app.kubernetes.io/component": role,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return pods.Items
}
