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
// minimal sample pipeline (scaling Auto: KEDA, which this cluster has); posts likes in every mode
// through the ingest Service and reads exact counts through the popularity Service; then removes
// everything the way the README's "Uninstalling" says, within 2 minutes. The operator watches its
// own namespace only, as each installation must where several share a cluster: the other
// scenarios' operators run at the same time.
func TestHelmInstall(t *testing.T) {
	t.Parallel()
	// The sample's Kafka is the chart's development Kafka, "recoflow".
	const namespace, cluster, name = "recoflow", "recoflow", "shop"
	restrictedNamespace(t, namespace)
	standin := kafkaStandin{Namespace: namespace, Cluster: cluster, BrokerReplicas: 1}
	deployKafkaStandin(t, standin)
	installChart(t, namespace, "kafka.create=true", "operator.watchNamespaces={"+namespace+"}")
	uninstalled := false
	t.Cleanup(func() {
		if !uninstalled {
			diagnose(t, namespace)
			_, _ = run(context.Background(), nil, helm(), "uninstall", "recoflow", "--namespace", namespace, "--wait")
		}
	})
	// The chart created the Kafka: from now on the stand-ins belong to it, as Strimzi's would.
	deployKafkaStandin(t, standin)
	// Scaling Auto picks KEDA when it is installed: install it first, so that the pipeline's
	// autoscaler does not depend on when another scenario installs KEDA.
	useKEDA(t, namespace)

	must(t, nil, "kubectl", "apply", "--namespace", namespace, "-f", "manifests/samples/pipeline-minimal.yaml")
	waitPipelineReady(t, namespace, name, 4*time.Minute)

	ingest := sendLikesInEveryMode(t, serviceURL(t, namespace, name+"-ingest"), "helm")
	waitCounts(t, serviceURL(t, namespace, name+"-popularity"), ingest.accepted, 2*time.Minute)

	// What an on-call engineer looks at: the measured freshness in the pipeline's status, under a
	// trickle of likes, and the same through the kubectl plugin, whose top list comes through the
	// API server's service proxy.
	fresh := waitFreshnessMet(t, ingest, namespace, name, "helm-trickle", 3*time.Minute)
	t.Logf("status.freshness: p99 %s, objective %s", fresh.P99, fresh.Objective)
	waitPluginStatus(t, ingest, namespace, name, "helm-trickle", 2*time.Minute)
	waitCounts(t, serviceURL(t, namespace, name+"-popularity"), ingest.accepted, 2*time.Minute)
	checkPluginTop(t, namespace, name, ingest.accepted)
	checkDeadLettersThroughPortForward(t, namespace, name, ingest, serviceURL(t, namespace, name+"-popularity"))

	// What a user does to remove recoflow (README, "Uninstalling"): delete the pipelines and their
	// topics while Kafka still runs (Strimzi's Topic Operator holds the topics' finalizer), then
	// uninstall the release, which takes the chart's Kafka with it, then delete the namespace.
	// Nothing may be left waiting on a finalizer.
	start := time.Now()
	must(t, nil, "kubectl", "delete", "--namespace", namespace, "-f", "manifests/samples/pipeline-minimal.yaml", "--wait", "--timeout=1m")
	must(t, nil, "kubectl", "delete", "--namespace", namespace, "kafkatopics", "-l", "recoflow.dev/pipeline="+name, "--wait", "--timeout=1m")
	must(t, nil, helm(), "uninstall", "recoflow", "--namespace", namespace, "--wait", "--timeout", "2m")
	uninstalled = true
	deleteNamespace(t, namespace, 2*time.Minute-time.Since(start))
}
