package useroperator_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/kafkaauth"
	"github.com/recoflow/recoflow/test/standin/broker"
	"github.com/recoflow/recoflow/test/standin/standintest"
	"github.com/recoflow/recoflow/test/standin/useroperator"
)

const (
	namespace = "recoflow"
	cluster   = "events"
	waitFor   = 30 * time.Second
)

// operatorOutput is what the operator builds for the secured sample pipeline shop in namespace
// recoflow on Kafka events (its builders' golden file), KafkaUsers included.
const operatorOutput = "../../../operator/internal/manifests/testdata/secured-keda.golden.yaml"

// operatorUsers returns the KafkaUsers in the operator's output.
func operatorUsers(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(operatorOutput)
	if err != nil {
		t.Fatal(err)
	}
	var users []*unstructured.Unstructured
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		if u.GetKind() == useroperator.KafkaUserGVK.Kind {
			users = append(users, u)
		}
	}
	if len(users) != 4 {
		t.Fatalf("%s holds %d KafkaUsers, want 4 (ingest, clean, popularity scoring and serving)", operatorOutput, len(users))
	}
	return users
}

// env is a kube-apiserver with the upstream Strimzi CRDs, the secured broker stand-in (TLS,
// SCRAM-SHA-512 and ACLs enforced), and the stand-in reconciling the cluster's KafkaUsers onto it.
type env struct {
	client  client.Client
	brokers []string
	// caFile is the cluster CA's certificate, as a function mounts it.
	caFile string
}

func start(t *testing.T) *env {
	t.Helper()
	api := standintest.StartAPIServer(t, "../../..", namespace)
	c, cfg, scheme := api.Client, api.Config, api.Scheme
	ctx := context.Background()
	kafkaBroker, err := broker.Start(ctx, broker.Options{Secured: &broker.Secured{Client: c, Namespace: namespace, Cluster: cluster}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kafkaBroker.Close)
	superuser, err := broker.SuperuserAuth(ctx, c, namespace, cluster, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	admin := broker.NewAdmin(kafkaBroker.ListenAddrs()[0], "useroperator-test", superuser)
	t.Cleanup(admin.Close)
	for _, topic := range []string{"shop.interactions.raw", "shop.interactions.clean"} {
		if err := admin.Do(func(a sarama.ClusterAdmin) error {
			return a.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: kafkatest.Partitions, ReplicationFactor: 1}, false)
		}); err != nil {
			t.Fatal(err)
		}
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&useroperator.Reconciler{Admin: admin, Cluster: cluster}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	mgrCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	return &env{client: c, brokers: kafkaBroker.ListenAddrs(), caFile: superuser.CAFile}
}

// scramConfig returns the functions' Kafka configuration authenticating as user over TLS,
// through the functions' own set-up (kafkaauth), the password in a file.
func (e *env) scramConfig(user, password string) (*sarama.Config, error) {
	file, err := os.CreateTemp("", "password")
	if err != nil {
		return nil, err
	}
	defer os.Remove(file.Name())
	if _, err := file.WriteString(password); err != nil {
		return nil, errors.Join(err, file.Close())
	}
	if err := file.Close(); err != nil {
		return nil, err
	}
	cfg := kafka.NewSaramaConfig("useroperator-test")
	cfg.Metadata.Retry.Max = 0
	auth := config.KafkaAuth{Authentication: config.KafkaAuthSCRAM, User: user, PasswordFile: file.Name(), TLS: true, CAFile: e.caFile}
	return cfg, kafkaauth.Configure(cfg, auth)
}

// produce writes one record to topic as user.
func (e *env) produce(user, password, topic string) error {
	cfg, err := e.scramConfig(user, password)
	if err != nil {
		return err
	}
	producer, err := sarama.NewSyncProducer(e.brokers, cfg)
	if err != nil {
		return err
	}
	defer producer.Close()
	_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder("v")})
	return err
}

// password returns the password in user's Secret, once the stand-in has written it.
func (e *env) password(user string) (string, error) {
	var s corev1.Secret
	if err := e.client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: user}, &s); err != nil {
		return "", err
	}
	if len(s.Data["password"]) == 0 || len(s.Data["sasl.jaas.config"]) == 0 {
		return "", fmt.Errorf("secret %s lacks password or sasl.jaas.config: %v", user, s.Data)
	}
	return string(s.Data["password"]), nil
}

func eventually(t *testing.T, check func() error) {
	t.Helper()
	kafkatest.Eventually(t, waitFor, check)
}

// TestStandInMakesTheOperatorsUsersReal creates the KafkaUsers the operator builds for a secured
// pipeline (its golden output) and checks that the stand-in makes them real on a broker that enforces ACLs: Ready
// status, a Secret in Strimzi's format whose password authenticates, the ACLs enforced, ACL
// changes applied, and a deleted user locked out.
func TestStandInMakesTheOperatorsUsersReal(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	for _, u := range operatorUsers(t) {
		if err := e.client.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	var ingest, popularity, serving string
	eventually(t, func() error {
		var err error
		if ingest, err = e.password("shop-ingest"); err != nil {
			return err
		}
		if serving, err = e.password("shop-popularity-serving"); err != nil {
			return err
		}
		popularity, err = e.password("shop-popularity")
		return err
	})
	eventually(t, func() error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(useroperator.KafkaUserGVK)
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "shop-ingest"}, u); err != nil {
			return err
		}
		conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		username, _, _ := unstructured.NestedString(u.Object, "status", "username")
		if len(conditions) != 1 || conditions[0].(map[string]any)["type"] != "Ready" || username != "shop-ingest" {
			return fmt.Errorf("status %v, want Ready with username shop-ingest", u.Object["status"])
		}
		return nil
	})

	if err := e.produce("shop-ingest", ingest, "shop.interactions.raw"); err != nil {
		t.Fatalf("ingest's user cannot write raw: %v", err)
	}
	if err := e.produce("shop-ingest", ingest, "shop.interactions.clean"); !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Errorf("ingest's user writing clean: %v, want topic authorization failed", err)
	}
	if err := e.produce("shop-popularity", popularity, "shop.interactions.raw"); !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Errorf("popularity's user writing raw: %v, want topic authorization failed", err)
	}
	// Without Write on any topic, the broker refuses the serving user an idempotent producer id
	// before it looks at the topic.
	if err := e.produce("shop-popularity-serving", serving, "shop.popularity"); !errors.Is(err, sarama.ErrTopicAuthorizationFailed) && !errors.Is(err, sarama.ErrClusterAuthorizationFailed) {
		t.Errorf("popularity serving's user writing the changelog: %v, want topic or cluster authorization failed", err)
	}
	if err := e.produce("shop-ingest", "wrong", "shop.interactions.raw"); err == nil {
		t.Error("a wrong password was accepted")
	}

	t.Run("ACL changes reach the broker", func(t *testing.T) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(useroperator.KafkaUserGVK)
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "shop-ingest"}, u); err != nil {
			t.Fatal(err)
		}
		acls := []any{map[string]any{
			"type": "allow", "operations": []any{"Write"},
			"resource": map[string]any{"type": "topic", "name": "shop.interactions.clean", "patternType": "literal"},
		}}
		if err := unstructured.SetNestedSlice(u.Object, acls, "spec", "authorization", "acls"); err != nil {
			t.Fatal(err)
		}
		if err := e.client.Update(ctx, u); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() error {
			if err := e.produce("shop-ingest", ingest, "shop.interactions.clean"); err != nil {
				return fmt.Errorf("writing clean after the ACL was added: %w", err)
			}
			if err := e.produce("shop-ingest", ingest, "shop.interactions.raw"); !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
				return fmt.Errorf("writing raw after its ACL was removed: %v, want denied", err)
			}
			return nil
		})
	})

	t.Run("a deleted user is locked out", func(t *testing.T) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(useroperator.KafkaUserGVK)
		u.SetNamespace(namespace)
		u.SetName("shop-ingest")
		if err := e.client.Delete(ctx, u); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() error {
			if err := e.produce("shop-ingest", ingest, "shop.interactions.clean"); err == nil {
				return errors.New("the deleted user can still write")
			}
			return nil
		})
	})

	t.Run("tls users get a certificate that kfake cannot authenticate", func(t *testing.T) {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"authentication": map[string]any{"type": "tls"}}}}
		u.SetGroupVersionKind(useroperator.KafkaUserGVK)
		u.SetNamespace(namespace)
		u.SetName("tls-user")
		u.SetLabels(map[string]string{"strimzi.io/cluster": cluster})
		if err := e.client.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() error {
			if err := e.client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
				return err
			}
			conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			username, _, _ := unstructured.NestedString(u.Object, "status", "username")
			if len(conditions) != 1 || conditions[0].(map[string]any)["type"] != "Ready" || username != "CN=tls-user" {
				return fmt.Errorf("status %v, want Ready with username CN=tls-user", u.Object["status"])
			}
			return nil
		})
		dir := t.TempDir()
		if err := broker.MountSecret(ctx, e.client, namespace, "tls-user", dir); err != nil {
			t.Fatal(err)
		}
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "user.crt"), filepath.Join(dir, "user.key"))
		if err != nil {
			t.Fatalf("the Secret's user.crt and user.key: %v", err)
		}
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		clientsCA, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(clientsCA)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil || cert.Subject.CommonName != "tls-user" {
			t.Errorf("user.crt (CN %q) does not verify against the Secret's ca.crt: %v", cert.Subject.CommonName, err)
		}
		// kfake takes a connection's principal from SASL only (see package useroperator): the
		// certificate alone gets the handshake through and every request refused.
		cfg := kafka.NewSaramaConfig("useroperator-test")
		cfg.Metadata.Retry.Max = 0
		auth := config.KafkaAuth{Authentication: config.KafkaAuthTLS, TLS: true, CAFile: e.caFile,
			CertFile: filepath.Join(dir, "user.crt"), KeyFile: filepath.Join(dir, "user.key")}
		if err := kafkaauth.Configure(cfg, auth); err != nil {
			t.Fatal(err)
		}
		if c, err := sarama.NewClient(e.brokers, cfg); err == nil {
			c.Close()
			t.Error("a tls user without SASL was served: kfake may authenticate client certificates now; test mutual TLS ACLs")
		}
	})
}
