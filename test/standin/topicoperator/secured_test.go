package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/kafkaauth"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/serve"
	"github.com/recoflow/recoflow/test/standin/broker"
	"github.com/recoflow/recoflow/test/standin/standintest"
)

const (
	namespace = "recoflow"
	cluster   = "events"
	waitFor   = time.Minute
)

// operatorOutput is what the operator builds for the secured sample pipeline shop in namespace
// recoflow on Kafka events (its builders' golden file): KafkaTopics, KafkaUsers and the functions'
// Deployments with their Kafka settings and Secret volumes.
const operatorOutput = "../../../operator/internal/manifests/testdata/secured-keda.golden.yaml"

// securedCluster is what a secured Strimzi cluster is in the e2e cluster, without the cluster: a
// kube-apiserver with Strimzi's CRDs, the secured broker stand-in, and this stand-in (Topic and
// User Operator) connected to it as the superuser.
type securedCluster struct {
	client  client.Client
	brokers []string
}

func startSecuredCluster(t *testing.T) *securedCluster {
	t.Helper()
	api := standintest.StartAPIServer(t, "../../..", namespace)
	c, cfg, scheme := api.Client, api.Config, api.Scheme
	ctx := context.Background()
	kafka, err := broker.Start(ctx, broker.Options{Secured: &broker.Secured{Client: c, Namespace: namespace, Cluster: cluster}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kafka.Close)
	// As the stand-in's pod mounts them: the superuser's Secret and the cluster CA's certificate.
	superuser, err := broker.SuperuserAuth(ctx, c, namespace, cluster, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{namespace: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	o := options{namespace: namespace, cluster: cluster, bootstrap: kafka.ListenAddrs()[0], auth: superuser}
	admin := broker.NewAdmin(o.bootstrap, "standin-test", o.auth)
	t.Cleanup(admin.Close)
	if err := setup(mgr, o, admin); err != nil {
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
	return &securedCluster{client: c, brokers: kafka.ListenAddrs()}
}

// operatorObjects returns the objects of kind kind in the operator's output.
func operatorObjects(t *testing.T, kind string) []*unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(operatorOutput)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		if u.GetKind() == kind {
			objs = append(objs, u)
		}
	}
	if len(objs) == 0 {
		t.Fatalf("%s holds no %s", operatorOutput, kind)
	}
	return objs
}

// strimziReady returns nil once obj reports Ready for its generation, as Strimzi's operators do.
func (s *securedCluster) strimziReady(obj *unstructured.Unstructured) error {
	if err := s.client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		if c, _ := c.(map[string]any); c["type"] == "Ready" && c["status"] == "True" && observed == obj.GetGeneration() {
			return nil
		}
	}
	return fmt.Errorf("%s %s: status %v, want Ready for generation %d", obj.GetKind(), obj.GetName(), obj.Object["status"], obj.GetGeneration())
}

// function is one function of the operator's output, run in this process with the settings its
// Deployment gives it and the Secrets its pod mounts, written to files as the kubelet does.
type function struct {
	name string
	env  map[string]string
	// url is the function's base URL once it runs.
	url string
}

// functionOf reads a Deployment's container settings, mounting its Secret volumes under dir and
// pointing the settings that name files in them there, and the brokers at brokers.
func (s *securedCluster) functionOf(t *testing.T, u *unstructured.Unstructured, dir string) *function {
	t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	mounts := map[string]string{} // mount path in the pod → directory here
	for _, m := range pod.Containers[0].VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			local := filepath.Join(dir, d.Name, v.Name)
			if err := broker.MountSecret(context.Background(), s.client, namespace, v.Secret.SecretName, local); err != nil {
				t.Fatal(err)
			}
			mounts[m.MountPath] = local
		}
	}
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		value := e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
			value = d.Name + "-0" // the pod's name
		}
		for mountPath, local := range mounts {
			if rest, ok := strings.CutPrefix(value, mountPath+"/"); ok {
				value = filepath.Join(local, rest)
			}
		}
		env[e.Name] = value
	}
	env[config.EnvKafkaBrokers] = strings.Join(s.brokers, ",")
	return &function{name: d.Name, env: env}
}

// settings parses the function's settings from its environment, as its binary does.
func (f *function) settings(t *testing.T, s serve.Settings) {
	t.Helper()
	lookup := func(name string) (string, bool) { v, ok := f.env[name]; return v, ok }
	if err := serve.ParseSettings(f.name, s, nil, lookup); err != nil {
		t.Fatalf("%s's settings: %v", f.name, err)
	}
}

// start runs the function until the test ends, through the Run its binary calls.
func (f *function) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.url = "http://" + ln.Addr().String()
	opts := serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Listener: ln, ProbeInterval: 100 * time.Millisecond}
	var run func(ctx context.Context) error
	switch component := strings.TrimPrefix(f.name, "shop-"); component {
	case "ingest":
		c := config.DefaultIngest()
		f.settings(t, &c)
		run = func(ctx context.Context) error { return ingest.Run(ctx, c, opts) }
	case "clean":
		c := config.DefaultClean()
		f.settings(t, &c)
		run = func(ctx context.Context) error { return clean.Run(ctx, c, opts) }
	case "popularity", "popularity-serving":
		c := config.DefaultPopularity()
		f.settings(t, &c)
		run = func(ctx context.Context) error { return popularity.Run(ctx, c, opts) }
	default:
		t.Fatalf("unknown function %s", f.name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s stopped with %v", f.name, err)
		}
	})
}

// auth returns how the function connects to Kafka: its own KafkaUser, from its Secret's files.
func (f *function) auth(t *testing.T) config.KafkaAuth {
	t.Helper()
	c := config.DefaultCommon()
	f.settings(t, &c)
	return c.KafkaAuth
}

// get returns the body of a GET that answers 200.
func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body), nil
}

// TestSecuredStandInsRunTheOperatorsPipeline runs what the operator makes for a secured pipeline
// (its KafkaTopics, KafkaUsers and the functions' Deployment settings) on the stand-ins of a
// secured Strimzi cluster: the topics and users become Ready as Strimzi reports them, every
// function connects with its own user's Secret and the published cluster CA, a like posted to
// ingest reaches popularity's top list, each user can do what its ACLs allow and is refused the
// rest, and the Kafka reports its tls listener with the cluster CA as Strimzi does.
func TestSecuredStandInsRunTheOperatorsPipeline(t *testing.T) {
	s := startSecuredCluster(t)
	ctx := context.Background()
	topics, users := operatorObjects(t, "KafkaTopic"), operatorObjects(t, "KafkaUser")
	for _, topic := range topics {
		// One broker: as a pipeline with spec.topics.replicas 1 asks.
		if err := unstructured.SetNestedField(topic.Object, int64(1), "spec", "replicas"); err != nil {
			t.Fatal(err)
		}
	}
	for _, obj := range append(topics, users...) {
		if err := s.client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, obj := range append(topics, users...) {
		kafkatest.Eventually(t, waitFor, func() error { return s.strimziReady(obj) })
	}
	for _, u := range users {
		username, _, _ := unstructured.NestedString(u.Object, "status", "username")
		secret, _, _ := unstructured.NestedString(u.Object, "status", "secret")
		if username != u.GetName() || secret != u.GetName() {
			t.Errorf("KafkaUser %s: status username %q and secret %q, want both %q", u.GetName(), username, secret, u.GetName())
		}
	}

	dir := t.TempDir()
	fns := map[string]*function{}
	for _, d := range operatorObjects(t, "Deployment") {
		f := s.functionOf(t, d, dir)
		fns[strings.TrimPrefix(f.name, "shop-")] = f
		f.start(t)
	}
	for _, f := range fns {
		kafkatest.Eventually(t, waitFor, func() error { _, err := get(f.url + "/readyz"); return err })
	}

	t.Run("a like reaches the top list", func(t *testing.T) {
		resp, err := http.Post(fns["ingest"].url+"/v1/likes", "application/json", strings.NewReader(`{"user_id":"u1","item_id":"dune"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST /v1/likes: %s, want 202", resp.Status)
		}
		kafkatest.Eventually(t, waitFor, func() error {
			top, err := get(fns["popularity-serving"].url + "/v1/top?n=10")
			if err != nil {
				return err
			}
			if !strings.Contains(top, `"dune"`) {
				return fmt.Errorf("top list %s lacks dune", top)
			}
			return nil
		})
	})

	t.Run("each user is allowed its work and refused the rest", func(t *testing.T) {
		raw, cleanTopic, dlq, pop := "shop.interactions.raw", "shop.interactions.clean", "shop.interactions.dlq", "shop.popularity"
		as := func(fn string) config.KafkaAuth { return fns[fn].auth(t) }
		tests := []struct {
			name    string
			do      func() error
			allowed bool
		}{
			{"ingest writes raw", func() error { return kafkatest.ProduceAs(t, s.brokers, as("ingest"), raw) }, true},
			{"ingest cannot read raw", func() error { return kafkatest.FetchAs(t, s.brokers, as("ingest"), raw) }, false},
			{"ingest cannot write clean", func() error { return kafkatest.ProduceAs(t, s.brokers, as("ingest"), cleanTopic) }, false},
			{"clean reads raw", func() error { return kafkatest.FetchAs(t, s.brokers, as("clean"), raw) }, true},
			{"clean uses its group", func() error { return kafkatest.FetchOffsetAs(t, s.brokers, as("clean"), "shop-clean", raw) }, true},
			{"clean writes the dead-letter topic", func() error { return kafkatest.ProduceAs(t, s.brokers, as("clean"), dlq) }, true},
			{"clean cannot write popularity", func() error { return kafkatest.ProduceAs(t, s.brokers, as("clean"), pop) }, false},
			{"clean cannot use popularity's group", func() error {
				return kafkatest.FetchOffsetAs(t, s.brokers, as("clean"), "shop-popularity", cleanTopic)
			}, false},
			{"popularity reads clean", func() error { return kafkatest.FetchAs(t, s.brokers, as("popularity"), cleanTopic) }, true},
			{"popularity cannot write raw", func() error { return kafkatest.ProduceAs(t, s.brokers, as("popularity"), raw) }, false},
			{"popularity cannot read the dead-letter topic", func() error { return kafkatest.FetchAs(t, s.brokers, as("popularity"), dlq) }, false},
			{"serving reads popularity", func() error { return kafkatest.FetchAs(t, s.brokers, as("popularity-serving"), pop) }, true},
			{"serving cannot write popularity", func() error { return kafkatest.ProduceAs(t, s.brokers, as("popularity-serving"), pop) }, false},
			{"serving cannot read clean", func() error { return kafkatest.FetchAs(t, s.brokers, as("popularity-serving"), cleanTopic) }, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.do()
				switch {
				case tt.allowed && err != nil:
					t.Fatalf("denied: %v", err)
				case !tt.allowed && err == nil:
					t.Fatal("allowed, want denied")
				case !tt.allowed && !strings.Contains(kafkaauth.Diagnose(err, nil), "denied"):
					t.Fatalf("failed with %v, which is not a denial (%q)", err, kafkaauth.Diagnose(err, nil))
				}
			})
		}
	})

	t.Run("the Kafka reports the tls listener with the cluster CA", func(t *testing.T) {
		kafka := object(kafkaGVK)
		kafka.SetNamespace(namespace)
		kafka.SetName(cluster)
		kafka.Object["spec"] = map[string]any{"kafka": map[string]any{
			"listeners": []any{map[string]any{"name": "tls", "port": int64(9093), "type": "internal", "tls": true,
				"authentication": map[string]any{"type": "scram-sha-512"}}},
			"authorization": map[string]any{"type": "simple", "superUsers": []any{broker.Superuser(cluster)}},
		}}
		if err := s.client.Create(ctx, kafka); err != nil {
			t.Fatal(err)
		}
		var ca corev1.Secret
		if err := s.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: broker.ClusterCA.CertSecret(cluster)}, &ca); err != nil {
			t.Fatal(err)
		}
		kafkatest.Eventually(t, waitFor, func() error {
			if err := s.strimziReady(kafka); err != nil {
				return err
			}
			listeners, _, _ := unstructured.NestedSlice(kafka.Object, "status", "listeners")
			if len(listeners) != 1 {
				return fmt.Errorf("status.listeners %v, want one", listeners)
			}
			l, _ := listeners[0].(map[string]any)
			certs, _ := l["certificates"].([]any)
			if l["name"] != "tls" || len(certs) != 1 || certs[0] != string(ca.Data[broker.KeyCACert]) {
				return fmt.Errorf("status.listeners[0] %v, want tls with the cluster CA's certificate", l)
			}
			return nil
		})
	})

	t.Run("KEDA's TriggerAuthentications find their keys in the Secrets", func(t *testing.T) {
		for _, ta := range operatorObjects(t, "TriggerAuthentication") {
			refs, _, _ := unstructured.NestedSlice(ta.Object, "spec", "secretTargetRef")
			for _, ref := range refs {
				ref, _ := ref.(map[string]any)
				name, _ := ref["name"].(string)
				key, _ := ref["key"].(string)
				var secret corev1.Secret
				if err := s.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &secret); err != nil {
					t.Errorf("TriggerAuthentication %s: %v", ta.GetName(), err)
				} else if len(secret.Data[key]) == 0 {
					t.Errorf("TriggerAuthentication %s: Secret %s has no key %s", ta.GetName(), name, key)
				}
			}
		}
	})

	t.Run("another function's password is not this user's", func(t *testing.T) {
		stolen := fns["ingest"].auth(t)
		stolen.User = "shop-popularity"
		err := kafkatest.ProduceAs(t, s.brokers, stolen, "shop.popularity")
		if err == nil {
			t.Fatalf("popularity's user with ingest's password: %v, want refused", err)
		}
	})
}
