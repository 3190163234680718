package controller_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/controller"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// Paths, from this package, of the CRDs and the role the tests install.
const (
	pipelineCRDDir = "../../config/crd"
	strimziCRDDir  = "testdata/crds/strimzi"
	kedaCRDDir     = "testdata/crds/keda"
	rolePath       = "../../config/rbac/role.yaml"
)

// The service account the operator runs as in the tests, bound to the generated ClusterRole.
const (
	operatorNamespace = "recoflow-system"
	operatorAccount   = "recoflow-operator"
)

// testImages are the function images of pipelines that name none.
var testImages = manifests.Images{
	Ingest:     "registry.test/recoflow-ingest:1",
	Clean:      "registry.test/recoflow-clean:1",
	Popularity: "registry.test/recoflow-popularity:1",
}

// clusters are the API servers the tests share, started on first use and stopped by TestMain.
var clusters struct {
	mu      sync.Mutex
	started []*cluster
	full    *cluster
	bare    *cluster
}

func TestMain(m *testing.M) {
	logf.SetLogger(logr.Discard())
	code := m.Run()
	clusters.mu.Lock()
	for _, c := range clusters.started {
		if err := c.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop envtest:", err)
		}
	}
	clusters.mu.Unlock()
	os.Exit(code)
}

// fullCluster returns the shared cluster that serves Strimzi's and KEDA's kinds.
func fullCluster(t testing.TB) *cluster {
	t.Helper()
	clusters.mu.Lock()
	defer clusters.mu.Unlock()
	if clusters.full == nil {
		clusters.full = startCluster(t, pipelineCRDDir, strimziCRDDir, kedaCRDDir)
	}
	return clusters.full
}

// bareCluster returns the shared cluster that serves only RecommendationPipelines, until a test
// installs more.
func bareCluster(t testing.TB) *cluster {
	t.Helper()
	clusters.mu.Lock()
	defer clusters.mu.Unlock()
	if clusters.bare == nil {
		clusters.bare = startCluster(t, pipelineCRDDir)
	}
	return clusters.bare
}

// cluster is a kube-apiserver and etcd with the operator's manager running against them as the
// operator's service account, bound to exactly the generated ClusterRole.
type cluster struct {
	env *envtest.Environment
	// admin is the test's own client, with every permission. Its writes are not counted.
	admin client.Client
	// operator is the rest.Config the manager runs with.
	operator *rest.Config
	// writes counts the manager's API writes.
	writes *writeCounter
	// log counts the reconciles of the operator's reconciler and the errors they return.
	log *reconcileLog
	// cache is the manager's cache, what the operator holds in memory.
	cache cache.Cache
	stop  func() error
}

// startCluster starts an API server with the CRDs in crdDirs and the operator against it.
func startCluster(t testing.TB, crdDirs ...string) *cluster {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = "../../../bin/k8s"
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			t.Fatalf("envtest needs %s in KUBEBUILDER_ASSETS (%s): run `make envtest`: %v", bin, assets, err)
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: kedaWebhookOptions(),
	}
	// Room for the Services of hundreds of pipelines; envtest's default /24 holds 254.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	c := &cluster{env: env, writes: newWriteCounter(), log: newReconcileLog()}
	clusters.started = append(clusters.started, c)
	c.stop = env.Stop

	scheme := newScheme(t)
	if c.admin, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	c.operator = c.operatorConfig(t, cfg)

	mgr, err := ctrl.NewManager(c.operator, ctrl.Options{
		Scheme:                        scheme,
		Logger:                        logr.Discard(),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                true,
		LeaderElectionID:              "recoflow-operator",
		LeaderElectionNamespace:       operatorNamespace,
		LeaderElectionReleaseOnCancel: true,
		// Every cluster runs the same controller in this one process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		NewCache:   controller.NewCache,
	})
	if err != nil {
		t.Fatalf("new manager: %v", err)
	}
	r := &controller.PipelineReconciler{Wrap: c.log.wrap, Images: testImages, MaxConcurrentReconciles: 4,
		Freshness: testFreshness, FreshnessInterval: 2 * time.Second}
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	c.cache = mgr.GetCache()
	c.log.reader = mgr.GetCache()
	ctx, cancel := context.WithCancel(context.Background())
	done, webhookDone := make(chan error, 1), make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	go func() { webhookDone <- serveKEDAWebhook(ctx, env.WebhookInstallOptions, c.admin) }()
	c.stop = func() error {
		cancel()
		return errors.Join(<-done, <-webhookDone, env.Stop())
	}
	return c
}

// newScheme returns a scheme with the built-in kinds and RecommendationPipelines.
func newScheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// operatorConfig binds the generated ClusterRole to the operator's service account and returns a
// config that impersonates it and counts its writes.
func (c *cluster) operatorConfig(t testing.TB, admin *rest.Config) *rest.Config {
	t.Helper()
	raw, err := os.ReadFile(rolePath)
	if err != nil {
		t.Fatalf("read the generated role (run `make generate`): %v", err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(raw, &role); err != nil {
		t.Fatalf("decode %s: %v", rolePath, err)
	}
	ctx := context.Background()
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: operatorAccount, Namespace: operatorNamespace}},
		&role,
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: role.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: operatorAccount, Namespace: operatorNamespace}},
		},
	}
	for _, o := range objs {
		if err := c.admin.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + operatorNamespace + ":" + operatorAccount,
	}
	cfg.WrapTransport = c.writes.wrap
	return cfg
}

// writeCounter counts API writes by namespace, verb and resource.
type writeCounter struct {
	mu     sync.Mutex
	counts map[writeKind]int
}

// writeKind is a verb on a resource in a namespace, such as POST deployments in shop.
type writeKind struct {
	namespace, verb, resource string
}

func newWriteCounter() *writeCounter {
	return &writeCounter{counts: map[writeKind]int{}}
}

// wrap counts the writes made through rt.
func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			ns, resource := parseAPIPath(req.URL.Path)
			w.mu.Lock()
			w.counts[writeKind{namespace: ns, verb: req.Method, resource: resource}]++
			w.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// inNamespace returns how many writes went to namespace ns, in all and by verb and resource.
func (w *writeCounter) inNamespace(ns string) (int, map[string]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, by := 0, map[string]int{}
	for k, v := range w.counts {
		if k.namespace == ns {
			n += v
			by[k.verb+" "+k.resource] += v
		}
	}
	return n, by
}

// parseAPIPath returns the namespace and the resource (with its subresource) of an API path such
// as /apis/apps/v1/namespaces/ns/deployments/name/status.
func parseAPIPath(path string) (namespace, resource string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := 0; i < len(parts); i++ {
		if parts[i] == "namespaces" && i+2 < len(parts) {
			namespace = parts[i+1]
			rest := parts[i+2:]
			resource = rest[0]
			if len(rest) > 2 {
				resource += "/" + rest[2]
			}
			return namespace, resource
		}
	}
	if len(parts) > 0 {
		resource = parts[len(parts)-1]
	}
	return "", resource
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// reconcileLog counts, per pipeline, the reconciles that started and finished, and keeps the
// errors they returned, the result of the last one and the sentinel it saw.
type reconcileLog struct {
	// reader is the manager's cache, which the reconciler reads too; set before the manager starts.
	reader   client.Reader
	mu       sync.Mutex
	started  map[types.NamespacedName]int
	finished map[types.NamespacedName]int
	errors   map[types.NamespacedName][]string
	last     map[types.NamespacedName]reconcile.Result
	sentinel map[types.NamespacedName]string
}

// sentinelAnnotation is the annotation quiet changes to see the operator catch up with a pipeline.
const sentinelAnnotation = "test.recoflow.dev/sentinel"

func newReconcileLog() *reconcileLog {
	return &reconcileLog{
		started:  map[types.NamespacedName]int{},
		finished: map[types.NamespacedName]int{},
		errors:   map[types.NamespacedName][]string{},
		last:     map[types.NamespacedName]reconcile.Result{},
		sentinel: map[types.NamespacedName]string{},
	}
}

// wrap returns r, recording each of its reconciles in l, with the sentinel annotation the
// pipeline had in the cache when the reconcile began.
func (l *reconcileLog) wrap(r reconcile.Reconciler) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		l.mu.Lock()
		l.started[req.NamespacedName]++
		l.mu.Unlock()
		var seen string
		var p v1alpha1.RecommendationPipeline
		if l.reader.Get(ctx, req.NamespacedName, &p) == nil {
			seen = p.Annotations[sentinelAnnotation]
		}
		res, err := r.Reconcile(ctx, req)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.finished[req.NamespacedName]++
		l.sentinel[req.NamespacedName] = seen
		l.last[req.NamespacedName] = res
		if err != nil {
			l.errors[req.NamespacedName] = append(l.errors[req.NamespacedName], err.Error())
		}
		return res, err
	})
}

// sentinelSeen returns the sentinel annotation that the last finished reconcile of the pipeline
// key saw.
func (l *reconcileLog) sentinelSeen(key types.NamespacedName) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sentinel[key]
}

// reconciles returns how many reconciles of the pipeline key started and finished.
func (l *reconcileLog) reconciles(key types.NamespacedName) (started, finished int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started[key], l.finished[key]
}

// lastResult returns the result of the last finished reconcile of the pipeline key, and whether
// one finished.
func (l *reconcileLog) lastResult(key types.NamespacedName) (reconcile.Result, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	res, ok := l.last[key]
	return res, ok
}

// errorsOf returns the errors reconciles of the pipeline key returned.
func (l *reconcileLog) errorsOf(key types.NamespacedName) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errors[key]...)
}

// eventually calls check until it returns nil, and fails the test with its last error when that
// takes longer than timeout.
func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
