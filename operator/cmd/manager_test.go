package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// runMainEnv makes the test binary run the operator's main instead of the tests, so that a test
// can start the operator as a process of its own.
const runMainEnv = "RECOFLOW_OPERATOR_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestManagerRuns starts the operator as its main does, with a kubeconfig, on a real API server
// (envtest, from $KUBEBUILDER_ASSETS: make envtest builds it), and checks that it serves its
// probes, reconciles the pipelines of the namespaces it watches and of no other, and stops
// cleanly when told to.
func TestManagerRuns(t *testing.T) {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{"../config/crd"},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest (run make envtest): %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	admin, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfigPath := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}

	scheme, err := newScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, ns := range []string{"watched", "ignored"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	// The ignored pipeline exists first, so the operator would meet it first were it watched.
	ignored := newTestPipeline("ignored")
	if err := c.Create(ctx, ignored); err != nil {
		t.Fatal(err)
	}

	// The operator runs in its own process, as its main runs it, and stops on SIGTERM.
	probes := freeAddr(t)
	var logs lockedBuffer
	operator := exec.CommandContext(ctx, os.Args[0],
		"--kubeconfig", kubeconfigPath,
		"--health-probe-bind-address", probes,
		"--metrics-bind-address", "0",
		"--watch-namespaces", "watched",
	)
	operator.Env = append(os.Environ(), runMainEnv+"=1")
	operator.Stdout, operator.Stderr = &logs, &logs
	if err := operator.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- operator.Wait() }()

	for _, probe := range []string{"/healthz", "/readyz"} {
		eventually(t, done, &logs, "probe "+probe, func() bool {
			resp, err := http.Get("http://" + probes + probe)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}

	watched := newTestPipeline("watched")
	if err := c.Create(ctx, watched); err != nil {
		t.Fatal(err)
	}
	eventually(t, done, &logs, "a Ready condition on the watched pipeline", func() bool {
		if err := c.Get(ctx, client.ObjectKeyFromObject(watched), watched); err != nil {
			return false
		}
		return meta.FindStatusCondition(watched.Status.Conditions, v1alpha1.ConditionReady) != nil
	})
	if err := c.Get(ctx, client.ObjectKeyFromObject(ignored), ignored); err != nil {
		t.Fatal(err)
	}
	if len(ignored.Status.Conditions) > 0 || len(ignored.Finalizers) > 0 {
		t.Errorf("the operator reconciled a pipeline outside --watch-namespaces: %+v", ignored.Status)
	}

	if err := operator.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the operator exited with %v on SIGTERM\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the operator did not stop on SIGTERM\n%s", logs.String())
	}
}

func newTestPipeline(namespace string) *v1alpha1.RecommendationPipeline {
	return &v1alpha1.RecommendationPipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: namespace},
		Spec: v1alpha1.RecommendationPipelineSpec{
			Kafka: v1alpha1.KafkaSpec{ClusterRef: v1alpha1.ClusterReference{Name: "events"}},
		},
	}
}

// eventually waits up to a minute for cond, failing with the operator's logs if it never holds
// or if the operator exits first.
func eventually(t *testing.T, done <-chan error, logs *lockedBuffer, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("the operator exited (%v) before %s\n%s", err, what, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute\n%s", what, logs.String())
		}
	}
}

// freeAddr returns a loopback address that nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lockedBuffer is a bytes.Buffer the operator's goroutines may write while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
