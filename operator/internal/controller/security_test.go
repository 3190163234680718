package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
	"github.com/recoflow/recoflow/test/upstreamcrds"
)

// securedClusters is the cluster that serves the upstream Strimzi (KafkaUser included) and KEDA
// (TriggerAuthentication included) CRDs, started on first use.
var securedClusters struct {
	once    sync.Once
	cluster *cluster
}

// upstreamCluster returns the shared cluster that serves the upstream Strimzi and KEDA CRDs.
func upstreamCluster(t testing.TB) *cluster {
	t.Helper()
	securedClusters.once.Do(func() {
		dir, err := upstreamcrds.Dir("../../..")
		if err != nil {
			t.Fatal(err)
		}
		clusters.mu.Lock()
		defer clusters.mu.Unlock()
		securedClusters.cluster = startCluster(t, pipelineCRDDir, upstreamcrds.Strimzi(dir), upstreamcrds.KEDA(dir))
	})
	if securedClusters.cluster == nil {
		t.Fatal("the cluster with the upstream CRDs did not start")
	}
	return securedClusters.cluster
}

// newUpstreamKafka creates a Strimzi Kafka that the upstream schema accepts, with Strimzi's
// conventional plain and tls listeners.
func newUpstreamKafka(t testing.TB, c *cluster, ns, name string) {
	t.Helper()
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(manifests.KafkaGVK)
	k.SetNamespace(ns)
	k.SetName(name)
	k.Object["spec"] = map[string]any{"kafka": map[string]any{
		"listeners": []any{
			map[string]any{"name": "plain", "port": int64(9092), "type": "internal", "tls": false},
			map[string]any{"name": "tls", "port": int64(9093), "type": "internal", "tls": true, "authentication": map[string]any{"type": "scram-sha-512"}},
		},
		"authorization": map[string]any{"type": "simple"},
	}}
	if err := c.admin.Create(context.Background(), k); err != nil {
		t.Fatal(err)
	}
}

// newSecret creates Secret name in ns holding keys, as Strimzi's operators do.
func newSecret(t testing.TB, c *cluster, ns, name string, keys ...string) {
	t.Helper()
	data := map[string][]byte{}
	for _, k := range keys {
		data[k] = []byte("not read by the operator")
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	if err := c.admin.Create(context.Background(), s); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// playUserOperator does what Strimzi's User Operator does for p's KafkaUsers: it writes each
// user's Secret and reports the user Ready.
func playUserOperator(c *cluster, p *v1alpha1.RecommendationPipeline, keys ...string) error {
	users, err := children(c, p, manifests.KafkaUserGVK)
	if err != nil {
		return err
	}
	if len(users) != len(contract.Functions()) {
		return fmt.Errorf("%d KafkaUsers, want one per Deployment", len(users))
	}
	for _, u := range users {
		data := map[string][]byte{}
		for _, k := range keys {
			data[k] = []byte("x")
		}
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName()}, Data: data}
		if err := c.admin.Create(context.Background(), s); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		u.Object["status"] = map[string]any{
			"observedGeneration": u.GetGeneration(),
			"username":           u.GetName(),
			"secret":             u.GetName(),
			"conditions": []any{map[string]any{
				"type": "Ready", "status": "True", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			}},
		}
		if err := c.admin.Status().Update(context.Background(), u); err != nil {
			return err
		}
	}
	return nil
}

// wantConditionMessage checks that p's condition typ has status and reason and says want.
func wantConditionMessage(c *cluster, p *v1alpha1.RecommendationPipeline, typ string, status metav1.ConditionStatus, reason, want string) error {
	if err := wantCondition(c, p, typ, status, reason); err != nil {
		return err
	}
	got, err := getPipeline(c, p)
	if err != nil {
		return err
	}
	if msg := meta.FindStatusCondition(got.Status.Conditions, typ).Message; !strings.Contains(msg, want) {
		return fmt.Errorf("%s says %q, want it to mention %q", typ, msg, want)
	}
	return nil
}

var (
	kafkaUserGVK             = manifests.KafkaUserGVK
	triggerAuthenticationGVK = manifests.TriggerAuthenticationGVK
	networkPolicyGVK         = schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}
)

// TestSecuredPipeline runs a pipeline with SCRAM-SHA-512 over TLS against the upstream Strimzi and
// KEDA CRDs, as the operator's service account bound to the generated role: the API server
// accepts the KafkaUsers, their ACLs and the TriggerAuthentications; each is owned by the
// pipeline; the status names the Secret or user still missing; and turning security off prunes
// them.
func TestSecuredPipeline(t *testing.T) {
	t.Parallel()
	c := upstreamCluster(t)
	ns := newNamespace(t, c, nil)
	newUpstreamKafka(t, c, ns, "kafka")
	p := newPipeline(ns, "secure", func(p *v1alpha1.RecommendationPipeline) {
		p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationSCRAM
		p.Spec.Scaling.Mode = v1alpha1.ScalingKEDA
		p.Spec.NetworkPolicy.ClientNamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}}
	})
	if err := c.admin.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}

	eventually(t, waitFor, func() error {
		return wantChildren(c, p, map[schema.GroupVersionKind]int{
			manifests.KafkaTopicGVK: 4, kafkaUserGVK: 4, deploymentGVK: 4, networkPolicyGVK: 4,
			manifests.ScaledObjectGVK: 4, triggerAuthenticationGVK: 2,
		})
	})
	for _, gvk := range []schema.GroupVersionKind{kafkaUserGVK, triggerAuthenticationGVK, networkPolicyGVK} {
		objs, err := children(c, p, gvk)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if err := ownedBy(o, p); err != nil {
				t.Errorf("%s %v", gvk.Kind, err)
			}
		}
	}

	t.Run("users and ACLs as the API server stored them", func(t *testing.T) {
		acls := func(name string) []string {
			t.Helper()
			var u unstructured.Unstructured
			u.SetGroupVersionKind(kafkaUserGVK)
			if err := c.admin.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &u); err != nil {
				t.Fatal(err)
			}
			if u.GetLabels()["strimzi.io/cluster"] != "kafka" {
				t.Errorf("%s labels %v, want strimzi.io/cluster=kafka", name, u.GetLabels())
			}
			stored, _, _ := unstructured.NestedSlice(u.Object, "spec", "authorization", "acls")
			var got []string
			for _, a := range stored {
				a := a.(map[string]any)
				r := a["resource"].(map[string]any)
				got = append(got, fmt.Sprintf("%s %s %s %v", r["type"], r["patternType"], r["name"], a["operations"]))
			}
			return got
		}
		want := []string{
			"topic literal secure.interactions.clean [Read]",
			"topic literal secure.popularity [Read Write]",
			"group literal secure-popularity [Read]",
			"transactionalId prefix secure-popularity. [Write Describe]",
		}
		if got := acls("secure-popularity"); !slices.Equal(got, want) {
			t.Errorf("popularity scoring's ACLs:\n got %q\nwant %q", got, want)
		}
		// The serving tier only follows the changelog.
		want = []string{"topic literal secure.popularity [Read]"}
		if got := acls("secure-popularity-serving"); !slices.Equal(got, want) {
			t.Errorf("popularity serving's ACLs:\n got %q\nwant %q", got, want)
		}
	})

	t.Run("scaled objects authenticate", func(t *testing.T) {
		objs, err := children(c, p, manifests.ScaledObjectGVK)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.GetName() == "secure-ingest" || o.GetName() == "secure-popularity-serving" {
				continue // scaled on CPU
			}
			triggers, _, _ := unstructured.NestedSlice(o.Object, "spec", "triggers")
			trigger := triggers[0].(map[string]any)
			ref, _, _ := unstructured.NestedString(trigger, "authenticationRef", "name")
			metadata := trigger["metadata"].(map[string]any)
			if ref != o.GetName() || metadata["sasl"] != "scram_sha512" || metadata["tls"] != "enable" || metadata["bootstrapServers"] != "kafka-kafka-bootstrap."+ns+".svc.cluster.local:9093" {
				t.Errorf("%s trigger %v, want SCRAM over TLS on port 9093 with TriggerAuthentication %s", o.GetName(), trigger, o.GetName())
			}
		}
	})

	t.Run("status names what is missing", func(t *testing.T) {
		eventually(t, waitFor, func() error {
			if err := markTopicsReady(c, p); err != nil {
				return err
			}
			if err := wantConditionMessage(c, p, v1alpha1.ConditionKafkaAccessReady, metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound, "Secret kafka-cluster-ca-cert"); err != nil {
				return err
			}
			// With the topics ready, the missing Secret is what the pipeline waits for.
			return wantCondition(c, p, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound)
		})
		newSecret(t, c, ns, "kafka-cluster-ca-cert", contract.SecretKeyCACert)
		eventually(t, waitFor, func() error {
			return wantConditionMessage(c, p, v1alpha1.ConditionKafkaAccessReady, metav1.ConditionFalse, v1alpha1.ReasonKafkaUserNotReady, "KafkaUser secure-ingest")
		})
		eventually(t, waitFor, func() error {
			if err := playUserOperator(c, p, contract.SecretKeyPassword); err != nil {
				return err
			}
			if err := markTopicsReady(c, p); err != nil {
				return err
			}
			if err := markDeploymentsAvailable(c, p); err != nil {
				return err
			}
			if err := markAutoscalersReady(c, p); err != nil {
				return err
			}
			if err := wantCondition(c, p, v1alpha1.ConditionKafkaAccessReady, metav1.ConditionTrue, v1alpha1.ReasonKafkaAccessReady); err != nil {
				return err
			}
			return wantCondition(c, p, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled)
		})

		// A user's Secret that goes away is named, once the operator looks again.
		gone := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "secure-clean"}}
		if err := c.admin.Delete(context.Background(), gone); err != nil {
			t.Fatal(err)
		}
		updatePipeline(t, c, p, func(p *v1alpha1.RecommendationPipeline) { p.Spec.Scaling.LagThreshold = 150 })
		eventually(t, waitFor, func() error {
			return wantConditionMessage(c, p, v1alpha1.ConditionKafkaAccessReady, metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound, "Secret secure-clean of KafkaUser secure-clean")
		})
		if errs := c.log.errorsOf(client.ObjectKeyFromObject(p)); len(errs) > 0 {
			t.Errorf("reconcile errors as the operator's service account: %q", errs)
		}
	})

	t.Run("mutual TLS users", func(t *testing.T) {
		updatePipeline(t, c, p, func(p *v1alpha1.RecommendationPipeline) {
			p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationTLS
		})
		eventually(t, waitFor, func() error {
			users, err := children(c, p, kafkaUserGVK)
			if err != nil {
				return err
			}
			for _, u := range users {
				if typ, _, _ := unstructured.NestedString(u.Object, "spec", "authentication", "type"); typ != "tls" {
					return fmt.Errorf("KafkaUser %s authenticates with %q, want tls", u.GetName(), typ)
				}
			}
			return nil
		})
	})

	t.Run("turning security off prunes", func(t *testing.T) {
		updatePipeline(t, c, p, func(p *v1alpha1.RecommendationPipeline) {
			p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationNone
			p.Spec.NetworkPolicy.Enabled = new(bool)
		})
		eventually(t, waitFor, func() error {
			return wantChildren(c, p, map[schema.GroupVersionKind]int{
				kafkaUserGVK: 0, triggerAuthenticationGVK: 0, networkPolicyGVK: 0, manifests.ScaledObjectGVK: 4,
			})
		})
		eventually(t, waitFor, func() error {
			ctr, err := container(c, p, "secure-clean")
			if err != nil {
				return err
			}
			if v := envValue(ctr.Env, contract.EnvKafkaBrokers); v != "kafka-kafka-bootstrap."+ns+".svc.cluster.local:9092" {
				return fmt.Errorf("brokers %q, want the plain listener", v)
			}
			for _, v := range ctr.Env {
				if v.Name == contract.EnvKafkaAuthentication || v.Name == contract.EnvKafkaCAFile {
					return fmt.Errorf("clean still has %s", v.Name)
				}
			}
			if len(ctr.VolumeMounts) != 1 {
				return fmt.Errorf("clean still mounts %v", ctr.VolumeMounts)
			}
			return wantCondition(c, p, v1alpha1.ConditionKafkaAccessReady, metav1.ConditionTrue, v1alpha1.ReasonKafkaAccessReady)
		})
	})
}

// TestNetworkPoliciesAccepted checks that the API server stores the NetworkPolicies as built: the
// clean function reachable only on its HTTP port, egress to DNS and the Strimzi brokers only.
func TestNetworkPoliciesAccepted(t *testing.T) {
	t.Parallel()
	c := fullCluster(t)
	p := createPipeline(t, c, "fenced")
	var np networkingv1.NetworkPolicy
	eventually(t, waitFor, func() error {
		return c.admin.Get(context.Background(), client.ObjectKey{Namespace: p.Namespace, Name: "fenced-clean"}, &np)
	})
	if err := ownedBy(&np, p); err != nil {
		t.Error(err)
	}
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.String() != manifests.PortName {
		t.Errorf("clean ingress %v, want only its HTTP port", np.Spec.Ingress)
	}
	if len(np.Spec.Egress) != 2 || np.Spec.Egress[1].To[0].PodSelector.MatchLabels["strimzi.io/cluster"] != "kafka" {
		t.Errorf("clean egress %v, want DNS and the brokers of Kafka kafka", np.Spec.Egress)
	}
}
