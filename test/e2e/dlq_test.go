//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/functions/contract"
)

// checkDeadLettersThroughPortForward operates the dead letters of pipeline namespace/name the way
// the README's Operations section tells an on-call engineer to: `kubectl recoflow dlq ls`, `dlq
// show` and `dlq redrive` with nothing but the kubeconfig, the plugin reaching the pipeline's
// Kafka (bootstrap Service and the brokers it advertises) through the API server's port-forward;
// and `status`, whose lag columns come the same way.
//
// TestHelmInstall should call it after checkPluginTop, with its namespace and pipeline name, the
// ingest client that sent the likes and popularity's URL:
//
//	checkDeadLettersThroughPortForward(t, namespace, name, ingest, serviceURL(t, namespace, name+"-popularity"))
//
// It needs the pipeline's clean to run with the default limits (spec.clean.maxEventAge 7 days, a
// 5 minute future skew) and no other dead letters from the minute before it starts. It posts
// likes that ingest accepts and clean dead-letters: some a year old (too_old, which no redrive
// cures: they are dead-lettered again with the same id) and some 5m30s ahead of the clock
// (time_in_future, which time cures: once redriven after their time has come they are counted,
// once, even when redriven twice). The redriven likes join ingest.accepted, so later count
// checks stay exact. It takes about a minute.
func checkDeadLettersThroughPortForward(t *testing.T, namespace, name string, ingest *ingestClient, popularityURL string) {
	t.Helper()
	const maxFutureSkew = 5 * time.Minute
	start := time.Now()
	since := start.Add(-time.Minute).UTC().Format(time.RFC3339)
	plugin := func(args ...string) string {
		t.Helper()
		return must(t, nil, env.plugin, append([]string{"-n", namespace}, args...)...)
	}

	var old, ahead []like
	for i := range 3 {
		old = append(old, like{id: fmt.Sprintf("dlq-old-%d", i), user: fmt.Sprintf("dlq-old-user-%d", i), item: fmt.Sprintf("dlq-old-item-%d", i)})
	}
	for i := range 2 {
		ahead = append(ahead, like{id: fmt.Sprintf("dlq-ahead-%d", i), user: fmt.Sprintf("dlq-ahead-user-%d", i), item: fmt.Sprintf("dlq-ahead-item-%d", i)})
	}
	aheadAt := start.Add(maxFutureSkew + 30*time.Second)
	postLikesAt(t, ingest, start.Add(-365*24*time.Hour), old...)
	postLikesAt(t, ingest, aheadAt, ahead...)

	eventually(t, 2*time.Minute, "dlq ls lists the dead-lettered likes by reason", func() error {
		ls := plugin("dlq", "ls", name, "--since", since)
		if got := reasonCount(ls, "too_old"); got != len(old) {
			return fmt.Errorf("too_old %d, want %d:\n%s", got, len(old), ls)
		}
		if got := reasonCount(ls, "time_in_future"); got != len(ahead) {
			return fmt.Errorf("time_in_future %d, want %d:\n%s", got, len(ahead), ls)
		}
		return nil
	})
	show := plugin("dlq", "show", name, "--reason", "time_in_future", "--since", since)
	for _, l := range ahead {
		if !strings.Contains(show, l.id) {
			t.Errorf("dlq show --reason time_in_future lacks %s:\n%s", l.id, show)
		}
	}
	if strings.Contains(show, old[0].id) || !strings.Contains(show, contract.TopicName(name, contract.TopicRaw)+"/") {
		t.Errorf("dlq show --reason time_in_future, want only the likes ahead, each with the raw offset it came from:\n%s", show)
	}

	// A dry run says what it would do and produces nothing: the real redrive after it finds
	// nothing already redriven.
	dry := plugin("dlq", "redrive", name, "--reason", "too_old", "--since", since, "--dry-run")
	if want := fmt.Sprintf("%d dead letters with reason too_old: would redrive (dry run) %d; skipped 0 already redriven", len(old), len(old)); !strings.Contains(dry, want) {
		t.Errorf("dry run, want %q:\n%s", want, dry)
	}
	redrive := plugin("dlq", "redrive", name, "--reason", "too_old", "--since", since)
	if want := fmt.Sprintf("%d dead letters with reason too_old: redrove %d; skipped 0 already redriven", len(old), len(old)); !strings.Contains(redrive, want) {
		t.Errorf("redrive after a dry run, want %q (a dry run that produced would show here as already redriven):\n%s", want, redrive)
	}
	// Still too old: clean dead-letters each again, with the same CloudEvent id.
	eventually(t, 2*time.Minute, "the redriven too_old likes dead-lettered again", func() error {
		show := plugin("dlq", "show", name, "--reason", "too_old", "--since", since, "--limit", "0")
		for _, l := range old {
			if n := strings.Count(show, " "+l.id+" "); n != 2 {
				return fmt.Errorf("%s dead-lettered %d times, want 2:\n%s", l.id, n, show)
			}
		}
		return nil
	})
	// Only the chosen reason was redriven.
	if ls := plugin("dlq", "ls", name, "--since", since); reasonCount(ls, "time_in_future") != len(ahead) {
		t.Errorf("after redriving too_old, want time_in_future unchanged at %d:\n%s", len(ahead), ls)
	}

	// Once their time is within the skew, the likes ahead are valid: redriven, they are counted.
	validAt := aheadAt.Add(-maxFutureSkew).Add(5 * time.Second)
	t.Logf("waiting %s for the likes ahead to come within %s of now", time.Until(validAt).Round(time.Second), maxFutureSkew)
	<-time.After(time.Until(validAt))
	redrive = plugin("dlq", "redrive", name, "--reason", "time_in_future", "--since", since)
	if want := fmt.Sprintf("%d dead letters with reason time_in_future: redrove %d; skipped 0 already redriven", len(ahead), len(ahead)); !strings.Contains(redrive, want) {
		t.Errorf("redrive of time_in_future, want %q:\n%s", want, redrive)
	}
	for _, l := range ahead {
		ingest.accepted[l.item]++
	}
	waitCounts(t, popularityURL, ingest.accepted, 2*time.Minute)

	// A redrive repeated by mistake puts nothing back; the likes stay counted once.
	again := plugin("dlq", "redrive", name, "--reason", "time_in_future", "--since", since)
	if want := fmt.Sprintf("redrove 0; skipped %d already redriven", len(ahead)); !strings.Contains(again, want) {
		t.Errorf("second redrive, want %q:\n%s", want, again)
	}
	waitCounts(t, popularityURL, ingest.accepted, 2*time.Minute)

	// status reads the consumer lag through the same port-forward: numbers, not "?" or "-".
	status := plugin("status", name)
	for _, line := range strings.Split(status, "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || f[0] != name {
			continue
		}
		for _, lag := range f[len(f)-2:] {
			if _, err := strconv.ParseInt(lag, 10, 64); err != nil {
				t.Errorf("status line %q: lag %q is not a number", line, lag)
			}
		}
		return
	}
	t.Errorf("status has no line for %s:\n%s", name, status)
}

// postLikesAt posts likes to ingest as structured CloudEvents whose time is at, and fails the
// test unless ingest accepts them. It does not count them as accepted likes: clean rejects them.
func postLikesAt(t *testing.T, c *ingestClient, at time.Time, likes ...like) {
	t.Helper()
	for _, l := range likes {
		e := cloudEvent(l)
		e["time"] = at.UTC().Format(time.RFC3339Nano)
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.http.Post(c.url+"/", "application/cloudevents+json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("post like %s: %v", l.id, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("post like %s at %s: %s: %s", l.id, at.Format(time.RFC3339), resp.Status, b)
		}
	}
}

// reasonCount returns the RECORDS of reason in the output of `dlq ls`, 0 when it lists none.
func reasonCount(ls, reason string) int {
	for _, line := range strings.Split(ls, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == reason {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// checkSecuredDeadLettersThroughPortForward runs `kubectl recoflow dlq` on a pipeline whose Kafka
// authenticates, as the README says: without --kafka-user the plugin says which KafkaUser it
// needs; with the KafkaUser of manifests/kafka/kafkauser-plugin.yaml applied for this pipeline
// (and Ready, its Secret written by the User Operator) it lists a dead letter and redrives it
// through the API server's port-forward, over TLS and SCRAM-SHA-512, allowed only that user's ACLs.
//
// TestSecuredPipeline should call it after its like is counted, with the scenario's namespace,
// the pipeline's name, the Kafka cluster's name and the ingest client:
//
//	checkSecuredDeadLettersThroughPortForward(t, s.namespace, name, s.cluster, ingest)
func checkSecuredDeadLettersThroughPortForward(t *testing.T, namespace, name, cluster string, ingest *ingestClient) {
	t.Helper()
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	out, err := run(context.Background(), nil, env.plugin, "-n", namespace, "dlq", "ls", name)
	if err == nil || !strings.Contains(out, "give --kafka-user") || !strings.Contains(out, "kafkauser-plugin.yaml") {
		t.Errorf("dlq ls of a secured pipeline without --kafka-user: %v, want an error naming --kafka-user and the sample KafkaUser:\n%s", err, out)
	}

	user := applyPluginKafkaUser(t, namespace, name, cluster)
	eventually(t, 2*time.Minute, "the plugin's KafkaUser Ready", func() error { return kafkaUserReady(namespace, user) })

	old := like{id: "dlq-secured-old-1", user: "dlq-secured-user-1", item: "dlq-secured-item-1"}
	postLikesAt(t, ingest, time.Now().Add(-365*24*time.Hour), old)
	plugin := func(args ...string) string {
		t.Helper()
		return must(t, nil, env.plugin, append([]string{"-n", namespace, "--kafka-user", user}, args...)...)
	}
	eventually(t, 2*time.Minute, "dlq ls as the plugin's KafkaUser", func() error {
		ls, err := run(context.Background(), nil, env.plugin, "-n", namespace, "--kafka-user", user, "dlq", "ls", name, "--since", since)
		if err != nil {
			return err
		}
		if got := reasonCount(ls, "too_old"); got != 1 {
			return fmt.Errorf("too_old %d, want 1:\n%s", got, ls)
		}
		return nil
	})
	redrive := plugin("dlq", "redrive", name, "--reason", "too_old", "--since", since)
	if want := "1 dead letters with reason too_old: redrove 1; skipped 0 already redriven"; !strings.Contains(redrive, want) {
		t.Errorf("redrive as the plugin's KafkaUser, want %q:\n%s", want, redrive)
	}
	eventually(t, 2*time.Minute, "the redriven like dead-lettered again", func() error {
		show := plugin("dlq", "show", name, "--reason", "too_old", "--since", since, "--limit", "0")
		if n := strings.Count(show, " "+old.id+" "); n != 2 {
			return fmt.Errorf("%s dead-lettered %d times, want 2:\n%s", old.id, n, show)
		}
		return nil
	})
}

// applyPluginKafkaUser applies manifests/kafka/kafkauser-plugin.yaml made for pipeline name in
// namespace on Kafka cluster, as its comment tells a user to (its shop, recoflow and events
// replaced), and returns the KafkaUser's name.
func applyPluginKafkaUser(t *testing.T, namespace, name, cluster string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(env.root, "manifests", "kafka", "kafkauser-plugin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &u.Object); err != nil {
		t.Fatal(err)
	}
	const sample = "shop"
	u.SetName(name + strings.TrimPrefix(u.GetName(), sample))
	u.SetNamespace(namespace)
	labels := u.GetLabels()
	labels["strimzi.io/cluster"] = cluster
	labels["app.kubernetes.io/instance"] = name
	u.SetLabels(labels)
	acls, _, _ := unstructured.NestedSlice(u.Object, "spec", "authorization", "acls")
	for _, a := range acls {
		resource := a.(map[string]any)["resource"].(map[string]any)
		resource["name"] = name + strings.TrimPrefix(resource["name"].(string), sample)
	}
	if err := unstructured.SetNestedSlice(u.Object, acls, "spec", "authorization", "acls"); err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	must(t, b, "kubectl", "apply", "--server-side", "--field-manager=e2e", "-f", "-")
	return u.GetName()
}
