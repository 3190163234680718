package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// startCluster starts a real kube-apiserver (envtest; `make envtest` builds it) that serves
// pipelines, with namespace namespace, and returns its config, a client of it and a kubeconfig
// file that reaches it. It stops when the test ends.
func startCluster(t *testing.T, namespace string) (*rest.Config, client.Client, string) {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = "../../../bin/k8s"
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ErrorIfCRDPathMissing: true,
		CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd")}}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest (make envtest builds it): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := newClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, c, kubeconfig
}
