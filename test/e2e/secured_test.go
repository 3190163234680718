//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

var kafkaUserGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaUser"}

// securedPipeline is a pipeline (name, namespace, Kafka cluster) whose functions authenticate
// with SCRAM-SHA-512 over TLS (on by default with authentication, with Strimzi's cluster CA), under
// the default NetworkPolicies. Scaling is off: this scenario is about access, TestScaling about
// scaling.
const securedPipeline = `apiVersion: recoflow.dev/v1alpha1
kind: RecommendationPipeline
metadata:
  name: %s
  namespace: %s
spec:
  kafka:
    clusterRef:
      name: %s
    authentication: scram-sha-512
  topics:
    partitions: 3
    replicas: 1
  deletionPolicy: Delete
  scaling: {mode: None}
`

// startSecuredKafka turns the scenario's Kafka into a secured one: Strimzi's tls listener on 9093
// with scram-sha-512 authentication and simple authorization, served by the broker stand-in, and
// the entity operator stand-in connected as the superuser and playing the User Operator too
// (testdata/secured-standin.yaml, applied over the plain stand-ins of newScenario).
func (s *scenario) startSecuredKafka() {
	s.t.Helper()
	applyTemplate(s.t, "secured-standin.yaml", kafkaStandin{Namespace: s.namespace, Cluster: s.cluster, BrokerReplicas: 1})
	for _, d := range []string{s.cluster + "-kafka", s.cluster + "-entity-operator"} {
		must(s.t, nil, "kubectl", "-n", s.namespace, "rollout", "status", "deployment/"+d, "--timeout=3m")
	}
}

// kafkaUserReady is nil when the stand-in reports the KafkaUser as Strimzi's User Operator does:
// Ready for its generation, with its username and Secret.
func kafkaUserReady(namespace, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(kafkaUserGVK)
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, u); err != nil {
		return err
	}
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	username, _, _ := unstructured.NestedString(u.Object, "status", "username")
	secret, _, _ := unstructured.NestedString(u.Object, "status", "secret")
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	ready := false
	for _, c := range conditions {
		if c, _ := c.(map[string]any); c["type"] == "Ready" && c["status"] == "True" {
			ready = true
		}
	}
	if !ready || observed != u.GetGeneration() || username != name || secret != name {
		return fmt.Errorf("KafkaUser %s: status %v, want Ready for generation %d with username and secret %s", name, u.Object["status"], u.GetGeneration(), name)
	}
	return nil
}

// TestSecuredPipeline runs a pipeline with SCRAM-SHA-512 authentication over TLS on a secured
// Kafka: the stand-in publishes the cluster CA as Strimzi does, the operator's KafkaUsers become
// Ready with Strimzi-shaped Secrets, every function connects as its own user under its
// NetworkPolicy, a like posted to ingest shows in popularity's top list, and KafkaAccessReady is
// True.
func TestSecuredPipeline(t *testing.T) {
	s := newScenario(t, "e2e-secured", 0)
	s.startSecuredKafka()
	ctx := context.Background()

	eventually(t, time.Minute, "the cluster CA published", func() error {
		var ca corev1.Secret
		if err := env.c.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: s.cluster + "-cluster-ca-cert"}, &ca); err != nil {
			return err
		}
		if len(ca.Data["ca.crt"]) == 0 {
			return fmt.Errorf("secret %s has no ca.crt", ca.Name)
		}
		return nil
	})

	const name = "secure"
	must(t, []byte(fmt.Sprintf(securedPipeline, name, s.namespace, s.cluster)), "kubectl", "apply", "--server-side", "--field-manager=e2e", "-f", "-")
	waitPipelineReady(t, s.namespace, name, 5*time.Minute)

	for _, f := range functions {
		user := name + "-" + f
		if err := kafkaUserReady(s.namespace, user); err != nil {
			t.Error(err)
		}
		var secret corev1.Secret
		if err := env.c.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: user}, &secret); err != nil {
			t.Errorf("KafkaUser %s's Secret: %v", user, err)
		} else if len(secret.Data["password"]) == 0 || len(secret.Data["sasl.jaas.config"]) == 0 {
			t.Errorf("Secret %s lacks password or sasl.jaas.config (keys: %d)", user, len(secret.Data))
		}

		var policy networkingv1.NetworkPolicy
		if err := env.c.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: user}, &policy); err != nil {
			t.Errorf("NetworkPolicy of %s: %v", user, err)
		} else if !egressTo(policy, 9093) {
			t.Errorf("NetworkPolicy %s allows no egress to the tls listener's port 9093: %+v", user, policy.Spec.Egress)
		}
	}

	p := pipeline(t, s.namespace, name)
	access := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionKafkaAccessReady)
	if access == nil || access.Status != metav1.ConditionTrue || access.ObservedGeneration != p.Generation {
		t.Errorf("KafkaAccessReady is %+v, want True for generation %d", access, p.Generation)
	}

	ingest := newIngestClient(serviceURL(t, s.namespace, name+"-ingest"))
	if err := ingest.post(modeLikes, like{id: "secured-1", user: "secured-user-1", item: "secured-item"}); err != nil {
		t.Fatal(err)
	}
	waitCounts(t, serviceURL(t, s.namespace, name+"-popularity"), ingest.accepted, 2*time.Minute)

	for _, f := range functions {
		for _, pod := range s.pods(name, f) {
			for _, c := range pod.Status.ContainerStatuses {
				if c.RestartCount != 0 {
					t.Errorf("pod %s container %s restarted %d times (last state %+v)", pod.Name, c.Name, c.RestartCount, c.LastTerminationState)
				}
			}
		}
	}
}

// egressTo reports whether policy allows egress on TCP port.
func egressTo(policy networkingv1.NetworkPolicy, port int) bool {
	for _, rule := range policy.Spec.Egress {
		for _, p := range rule.Ports {
			if p.Port != nil && p.Port.IntValue() == port && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP) {
				return true
			}
		}
	}
	return false
}
