// Package standintest starts what the stand-ins' tests share: a kube-apiserver (envtest) with
// Strimzi's upstream CRDs and one namespace. Test-only; see package standin.
package standintest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/recoflow/recoflow/test/upstreamcrds"
)

// APIServer is a running kube-apiserver with Strimzi's CRDs.
type APIServer struct {
	// Config reaches it as an administrator.
	Config *rest.Config
	// Scheme knows the built-in kinds.
	Scheme *runtime.Scheme
	// Client is a direct (uncached) client with Scheme.
	Client client.Client
}

// StartAPIServer starts envtest's kube-apiserver (from $KUBEBUILDER_ASSETS, or bin/k8s of the
// repository at root) with Strimzi's upstream CRDs and creates namespace. It stops when the test
// ends.
func StartAPIServer(t *testing.T, root, namespace string) *APIServer {
	t.Helper()
	logf.SetLogger(logr.Discard())
	crds, err := upstreamcrds.Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		t.Fatalf("envtest needs kube-apiserver in KUBEBUILDER_ASSETS (%s): run `make envtest`: %v", assets, err)
	}
	testEnv := &envtest.Environment{BinaryAssetsDirectory: assets, CRDDirectoryPaths: []string{upstreamcrds.Strimzi(crds)}, ErrorIfCRDPathMissing: true}
	cfg, err := testEnv.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() { _ = testEnv.Stop() })
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	return &APIServer{Config: cfg, Scheme: scheme, Client: c}
}
