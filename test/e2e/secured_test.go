//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

var kafkaUserGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaUser"}

// securedPipeline is a pipeline (name, namespace, Kafka cluster) whose functions authenticate
// with SCRAM-SHA-512 over TLS (on by default with authentication, with Strimzi's cluster CA), under
// the default NetworkPolicies, scaled by KEDA with clean and popularity scoring at zero while idle:
// KEDA's Kafka scaler reads their lag with each function's own credentials, through the
// TriggerAuthentication the operator makes per function.
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
  scaling: {mode: KEDA, pollingInterval: 5s, cooldownPeriod: 30s}
  clean:
    replicas: {min: 0, max: 3}
  popularity:
    replicas: {min: 0, max: 3}
`

// startSecuredKafka turns the scenario's Kafka into a secured one: Strimzi's tls listener on 9093
// with scram-sha-512 authentication and simple authorization, served by the broker stand-in, and
// the entity operator stand-in connected as the superuser and playing the User Operator too
// (testdata/secured-standin.yaml, applied over the plain stand-ins of newScenario).
func (s *scenario) startSecuredKafka() {
	s.t.Helper()
	applyTemplate(s.t, "secured-standin.yaml", kafkaStandin{Namespace: s.namespace, Cluster: s.cluster, BrokerReplicas: 1,
		KafkaUID: kafkaUID(s.t, s.namespace, s.cluster)})
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
// Kafka, scaled by real KEDA: the stand-in publishes the cluster CA as Strimzi does, the operator's
// KafkaUsers become Ready with Strimzi-shaped Secrets, KEDA reports every ScaledObject Ready (its
// Kafka scaler connected with the function's credentials through the function's
// TriggerAuthentication), clean and popularity scoring go to zero while idle, a like posted to
// ingest wakes them (KEDA read their lag as them) and shows in popularity's top list with exact
// counts, every function connects as its own user under its NetworkPolicy, and KafkaAccessReady is
// True.
func TestSecuredPipeline(t *testing.T) {
	t.Parallel()
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
	manifest, err := withScenarioCPU([]byte(fmt.Sprintf(securedPipeline, name, s.namespace, s.cluster)))
	if err != nil {
		t.Fatal(err)
	}
	must(t, manifest, "kubectl", "apply", "--server-side", "--field-manager=e2e", "-f", "-")
	useKEDA(t, s.namespace)
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
		// KEDA itself says Ready: for clean and popularity scoring, that its Kafka scaler
		// connected to the secured listener with the TriggerAuthentication's credentials.
		if err := scaledObjectReady(s.namespace, user); err != nil {
			t.Error(err)
		}
	}
	for _, f := range []string{"clean", "popularity"} {
		checkTriggerAuthentication(t, s.namespace, name+"-"+f, s.cluster+"-cluster-ca-cert")
	}

	p := pipeline(t, s.namespace, name)
	access := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionKafkaAccessReady)
	if access == nil || access.Status != metav1.ConditionTrue || access.ObservedGeneration != p.Generation {
		t.Errorf("KafkaAccessReady is %+v, want True for generation %d", access, p.Generation)
	}

	// Idle: KEDA reads no lag as clean's and popularity's users and scales both to zero.
	idle := map[string]v1alpha1.FunctionState{
		name + "-ingest": v1alpha1.FunctionActive, name + "-clean": v1alpha1.FunctionIdle,
		name + "-popularity": v1alpha1.FunctionIdle, name + "-popularity-serving": v1alpha1.FunctionActive,
	}
	s.waitStates(name, idle, 3*time.Minute)

	// A like wakes them: KEDA sees the lag through the secured listener.
	ingest := newIngestClient(serviceURL(t, s.namespace, name+"-ingest"))
	if err := ingest.post(modeLikes, like{id: "secured-1", user: "secured-user-1", item: "secured-item"}); err != nil {
		t.Fatal(err)
	}
	waitCounts(t, serviceURL(t, s.namespace, name+"-popularity"), ingest.accepted, 3*time.Minute)
	t.Logf("woken by KEDA: %s; %s", describeHPA(s.namespace, "keda-hpa-"+name+"-clean"), describeHPA(s.namespace, "keda-hpa-"+name+"-popularity"))
	checkSecuredDeadLettersThroughPortForward(t, s.namespace, name, s.cluster, ingest)

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

var triggerAuthenticationGVK = schema.GroupVersionKind{Group: "keda.sh", Version: "v1alpha1", Kind: "TriggerAuthentication"}

// checkTriggerAuthentication checks that the ScaledObject of a lag-scaled function refers its Kafka
// trigger to the function's TriggerAuthentication, which takes the password from the function's
// own KafkaUser Secret, the user name from the function's container and the CA from caSecret.
func checkTriggerAuthentication(t *testing.T, namespace, fn, caSecret string) {
	t.Helper()
	ctx := context.Background()
	so := &unstructured.Unstructured{}
	so.SetGroupVersionKind(scaledObjectGVK)
	if err := env.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fn}, so); err != nil {
		t.Errorf("ScaledObject %s: %v", fn, err)
		return
	}
	triggers, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
	kafka := false
	for _, tr := range triggers {
		m, _ := tr.(map[string]any)
		if m["type"] != "kafka" {
			continue
		}
		kafka = true
		ref, _, _ := unstructured.NestedString(m, "authenticationRef", "name")
		sasl, _, _ := unstructured.NestedString(m, "metadata", "sasl")
		tls, _, _ := unstructured.NestedString(m, "metadata", "tls")
		if ref != fn || sasl != "scram_sha512" || tls != "enable" {
			t.Errorf("ScaledObject %s's kafka trigger: authenticationRef %q, sasl %q, tls %q; want %s, scram_sha512, enable", fn, ref, sasl, tls, fn)
		}
	}
	if !kafka {
		t.Errorf("ScaledObject %s has no kafka trigger: %v", fn, triggers)
	}
	ta := &unstructured.Unstructured{}
	ta.SetGroupVersionKind(triggerAuthenticationGVK)
	if err := env.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fn}, ta); err != nil {
		t.Errorf("TriggerAuthentication %s: %v", fn, err)
		return
	}
	want := map[string]string{"password": fn + "/password", "ca": caSecret + "/ca.crt"}
	got := map[string]string{}
	refs, _, _ := unstructured.NestedSlice(ta.Object, "spec", "secretTargetRef")
	for _, r := range refs {
		m, _ := r.(map[string]any)
		got[fmt.Sprint(m["parameter"])] = fmt.Sprintf("%v/%v", m["name"], m["key"])
	}
	envs, _, _ := unstructured.NestedSlice(ta.Object, "spec", "env")
	for _, e := range envs {
		m, _ := e.(map[string]any)
		got[fmt.Sprint(m["parameter"])] = fmt.Sprintf("env %v of %v", m["name"], m["containerName"])
	}
	want["username"] = "env " + contract.EnvKafkaUser + " of " + strings.TrimPrefix(fn, strings.SplitN(fn, "-", 2)[0]+"-")
	if !maps.Equal(got, want) {
		t.Errorf("TriggerAuthentication %s gives %v, want %v", fn, got, want)
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
