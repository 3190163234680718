package v1alpha1_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// devKafkaPath is the development Kafka the documentation pairs with the samples.
const devKafkaPath = "../../../manifests/kafka/kafka.yaml"

// TestSamplesAreSelfConsistent checks that every sample pipeline works where the documentation
// applies it: its bootstrap servers are those of the Kafka cluster it names, in its own
// namespace, and a sample without a namespace, which users apply with -n next to the development
// Kafka, names that Kafka and fits on its brokers.
func TestSamplesAreSelfConsistent(t *testing.T) {
	s := loadCRD(t)
	devKafka, devBrokers := readDevKafka(t)
	paths, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no samples in %s (%v)", samplesDir, err)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			if errs := s.admit(t, readSample(t, name), nil); len(errs) > 0 {
				t.Fatalf("the API server would reject it: %v", errs.ToAggregate())
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var p v1alpha1.RecommendationPipeline
			if err := yaml.UnmarshalStrict(raw, &p); err != nil {
				t.Fatal(err)
			}
			applied := p.DeepCopy()
			if applied.Namespace == "" {
				applied.Namespace = "any-namespace" // kubectl apply -n any-namespace
			}
			applied.Default()
			cluster := applied.Spec.Kafka.ClusterRef.Name
			params := manifests.Params{Pipeline: applied}
			strimzi := params
			strimzi.Pipeline = applied.DeepCopy()
			strimzi.Pipeline.Spec.Kafka.BootstrapServers = ""
			if got, want := hosts(params.BootstrapServers()), hosts(strimzi.BootstrapServers()); got != want {
				t.Errorf("bootstrap servers %q reach %s, but the Kafka %q in namespace %s is %s",
					p.Spec.Kafka.BootstrapServers, got, cluster, applied.Namespace, want)
			}
			if p.Namespace != "" {
				return
			}
			if cluster != devKafka {
				t.Errorf("names Kafka %q, but the development Kafka it is applied with is %q", cluster, devKafka)
			}
			params.Brokers = devBrokers
			if _, err := manifests.KafkaTopics(params); err != nil {
				t.Errorf("its topics cannot be made on the development Kafka: %v", err)
			}
			if r := params.TopicReplicas(); r > devBrokers {
				t.Errorf("its topics want %d replicas, but the development Kafka has %d brokers", r, devBrokers)
			}
		})
	}
}

// hosts returns the hosts of a bootstrap server list, without ports, and without the cluster
// domain that <service>.<namespace>.svc resolves to.
func hosts(servers string) string {
	var out []string
	for _, hostPort := range strings.Split(servers, ",") {
		host, _, _ := strings.Cut(hostPort, ":")
		out = append(out, strings.TrimSuffix(host, "."+manifests.DefaultClusterDomain))
	}
	return strings.Join(out, ",")
}

// readDevKafka returns the name of the development Kafka and the brokers of its node pools.
func readDevKafka(t *testing.T) (name string, brokers int32) {
	t.Helper()
	raw, err := os.ReadFile(devKafkaPath)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				Replicas int32    `json:"replicas"`
				Roles    []string `json:"roles"`
			} `json:"spec"`
		}
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode %s: %v", devKafkaPath, err)
		}
		switch obj.Kind {
		case manifests.KafkaGVK.Kind:
			name = obj.Metadata.Name
		case manifests.KafkaNodePoolGVK.Kind:
			for _, role := range obj.Spec.Roles {
				if role == "broker" {
					brokers += obj.Spec.Replicas
				}
			}
		}
	}
	if name == "" || brokers == 0 {
		t.Fatalf("%s has no Kafka with brokers (Kafka %q, %d brokers)", devKafkaPath, name, brokers)
	}
	return name, brokers
}
