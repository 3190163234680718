package charts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestCRDUpgradeStep runs the CRD upgrade the README documents before `helm upgrade`, which never
// touches the chart's crds/:
//
//	helm show crds charts/recoflow | kubectl apply --server-side --force-conflicts -f -
//
// on a real API server where Helm installed an older CRD, with its own field manager as Helm 4
// does, and checks that the new schema is then served and the existing pipeline kept.
func TestCRDUpgradeStep(t *testing.T) {
	out, err := exec.Command(helm(t), "show", "crds", chartDir).Output()
	if err != nil {
		t.Fatalf("helm show crds: %v", err)
	}
	crds := decode(t, out)
	if len(crds) != 1 || crds[0].GetKind() != "CustomResourceDefinition" {
		t.Fatalf("helm show crds printed %v, want the one CRD", crds)
	}
	current := crds[0]
	// The previous release, as far as this test is concerned: the CRD without spec.imagePullSecrets.
	previous := current.DeepCopy()
	versions, _, _ := unstructured.NestedSlice(previous.Object, "spec", "versions")
	unstructured.RemoveNestedField(versions[0].(map[string]any), "schema", "openAPIV3Schema", "properties", "spec", "properties", "imagePullSecrets")
	if err := unstructured.SetNestedSlice(previous.Object, versions, "spec", "versions"); err != nil {
		t.Fatal(err)
	}

	c := startAPIServer(t)
	ctx := context.Background()
	// helm install: Helm 4 applies crds/ server-side as field manager "helm".
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(previous.DeepCopy()), client.FieldOwner("helm")); err != nil {
		t.Fatalf("install the previous CRD as Helm does: %v", err)
	}
	pipeline := func(name string) *unstructured.Unstructured {
		p := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "recoflow.dev/v1alpha1", "kind": "RecommendationPipeline",
			"metadata": map[string]any{"namespace": "default", "name": name},
			"spec": map[string]any{
				"kafka":            map[string]any{"clusterRef": map[string]any{"name": "events"}},
				"imagePullSecrets": []any{map[string]any{"name": "registry"}},
			},
		}}
		return p
	}
	var old *unstructured.Unstructured
	eventually(t, func() error {
		old = pipeline("before")
		return c.Create(ctx, old)
	})
	if _, found, _ := unstructured.NestedSlice(old.Object, "spec", "imagePullSecrets"); found {
		t.Fatal("the previous CRD kept spec.imagePullSecrets; the test cannot tell the versions apart")
	}

	t.Run("without --force-conflicts", func(t *testing.T) {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(current.DeepCopy()), client.FieldOwner("kubectl"))
		if !apierrors.IsConflict(err) {
			t.Fatalf("got %v, want a conflict with Helm's field manager: the README must say --force-conflicts", err)
		}
	})
	t.Run("with --force-conflicts", func(t *testing.T) {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(current.DeepCopy()), client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() error {
			p := pipeline(fmt.Sprintf("after-%d", time.Now().UnixNano()))
			if err := c.Create(ctx, p); err != nil {
				return err
			}
			if _, found, _ := unstructured.NestedSlice(p.Object, "spec", "imagePullSecrets"); !found {
				return fmt.Errorf("spec.imagePullSecrets pruned: the API server does not serve the new schema yet")
			}
			return nil
		})
		kept := &unstructured.Unstructured{}
		kept.SetGroupVersionKind(old.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(old), kept); err != nil {
			t.Fatalf("the pipeline made before the upgrade: %v", err)
		}
	})
}

// startAPIServer starts a kube-apiserver and etcd (`make envtest` builds them) for the test and
// returns a client of it.
func startAPIServer(t *testing.T) client.Client {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		t.Fatalf("this test needs kube-apiserver in KUBEBUILDER_ASSETS (%s): run `make envtest`: %v", assets, err)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually calls check until it returns nil, failing the test with its last error after 30 s.
func eventually(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
