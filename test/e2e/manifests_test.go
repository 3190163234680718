//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPlainManifests installs the operator from manifests/install.yaml (with the local images in
// place of ghcr.io/recoflow, as a kustomize images: entry would) and runs a pipeline on it. It runs
// alone, before the other scenarios (it is the one test that is not parallel): a plain-YAML install
// owns the cluster-wide CRD, which it deletes again, with every pipeline, as
// `kubectl delete -f install.yaml` does, and its operator watches every namespace.
func TestPlainManifests(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(env.root, "manifests/install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	install := []byte(strings.ReplaceAll(string(b), "ghcr.io/recoflow/", env.registry+"/"))
	// A plain-YAML user's cluster has no CRD that Helm manages (Helm 4 applies its CRDs server-side
	// as field manager "helm"; another manager's apply would conflict): start without it.
	crd := "crd/recommendationpipelines.recoflow.dev"
	must(t, nil, "kubectl", "delete", crd, "--ignore-not-found", "--wait", "--timeout=1m")
	must(t, install, "kubectl", "apply", "--server-side", "-f", "-")
	t.Cleanup(func() {
		// Everything goes, the CRD too, as `kubectl delete -f install.yaml` would do.
		ctx := context.Background()
		defer func() {
			if _, err := run(ctx, nil, "kubectl", "delete", crd, "--ignore-not-found", "--wait", "--timeout=1m"); err != nil {
				t.Error(err)
			}
		}()
		for _, kind := range []string{"deployment", "service", "serviceaccount"} {
			_, _ = run(ctx, nil, "kubectl", "-n", "recoflow-system", "delete", kind, "--all", "--wait")
		}
		_, _ = run(ctx, nil, "kubectl", "delete", "clusterrolebinding,clusterrole", "-l", "app.kubernetes.io/part-of=recoflow", "--wait")
		deleteNamespace(t, "recoflow-system", 2*time.Minute)
	})
	must(t, nil, "kubectl", "-n", "recoflow-system", "rollout", "status", "deployment", "--timeout=3m")

	const namespace = "e2e-manifests"
	s := &scenario{t: t, namespace: namespace, cluster: "events"}
	restrictedNamespace(t, namespace)
	s.applyKafka()
	s.startKafka(1)
	s.applyPipeline("plain", "  scaling: {mode: None}\n")
	t.Cleanup(func() {
		diagnose(t, namespace)
		_, _ = run(context.Background(), nil, "kubectl", "-n", namespace, "delete", "recommendationpipelines", "--all", "--wait", "--timeout=1m", "--cascade=foreground")
	})
	waitPipelineReady(t, namespace, "plain", 4*time.Minute)
	ingest := sendLikesInEveryMode(t, serviceURL(t, namespace, "plain-ingest"), "plain")
	waitCounts(t, serviceURL(t, namespace, "plain-popularity"), ingest.accepted, 2*time.Minute)
}
