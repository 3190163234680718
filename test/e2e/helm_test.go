//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// installChart installs the chart as release recoflow into namespace with the local images, plus
// extra --set values, and waits for the operator.
func installChart(t *testing.T, namespace string, sets ...string) {
	t.Helper()
	args := []string{"install", "recoflow", "charts/recoflow", "--namespace", namespace, "--wait", "--timeout", "3m",
		"--set", "image.registry=" + env.registry, "--set", "image.pullPolicy=IfNotPresent"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	must(t, nil, helm(), args...)
}

func helm() string { return filepath.Join(env.root, "bin", "helm") }

// sendLikesInEveryMode posts likes in every mode to ingest, a different number per item and mode,
// and returns the client that counts what was accepted.
func sendLikesInEveryMode(t *testing.T, ingestURL, prefix string) *ingestClient {
	t.Helper()
	c := newIngestClient(ingestURL)
	for m, mode := range allModes {
		var likes []like
		for i := range 6 {
			item := fmt.Sprintf("%s-item-%d", prefix, (i*(m+1))%4)
			likes = append(likes, like{id: fmt.Sprintf("%s-%s-%d", prefix, mode, i), user: fmt.Sprintf("%s-user-%s-%d", prefix, mode, i), item: item})
		}
		if err := c.post(mode, likes...); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestHelmInstall installs the chart the way its NOTES and README tell a user to, with the chart's
// development Kafka, in a namespace that enforces the restricted Pod Security Standard; runs the
// minimal sample pipeline; posts likes in every mode through the ingest Service and reads exact
// counts through the popularity Service; then uninstalls and deletes the namespace.
func TestHelmInstall(t *testing.T) {
	// The sample's Kafka is the chart's development Kafka, "recoflow".
	const namespace, cluster, name = "recoflow", "recoflow", "shop"
	restrictedNamespace(t, namespace)
	deployKafkaStandin(t, kafkaStandin{Namespace: namespace, Cluster: cluster, BrokerReplicas: 1})
	installChart(t, namespace, "kafka.create=true")
	uninstalled := false
	t.Cleanup(func() {
		if !uninstalled {
			_, _ = run(context.Background(), nil, helm(), "uninstall", "recoflow", "--namespace", namespace, "--wait")
		}
	})

	must(t, nil, "kubectl", "apply", "--namespace", namespace, "-f", "manifests/samples/pipeline-minimal.yaml")
	waitPipelineReady(t, namespace, name, 4*time.Minute)

	ingest := sendLikesInEveryMode(t, serviceURL(t, namespace, name+"-ingest"), "helm")
	waitCounts(t, serviceURL(t, namespace, name+"-popularity"), ingest.accepted, 2*time.Minute)

	// What a user does to remove recoflow: uninstall the release, then delete the namespace. Nothing
	// may be left waiting on a finalizer of an operator that is gone.
	start := time.Now()
	must(t, nil, helm(), "uninstall", "recoflow", "--namespace", namespace, "--wait", "--timeout", "2m")
	uninstalled = true
	deleteNamespace(t, namespace, 2*time.Minute-time.Since(start))
}
