//go:build e2e

package e2e

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The scenarios run concurrently (t.Parallel), each in its own namespace with its own operator,
// and share one KEDA, which is cluster-wide. TestScaling checks that a pipeline created before KEDA
// waits for it, so KEDA is installed only once TestScaling has seen that (kedaAllowed), or at
// once when this run does not include TestScaling; it is uninstalled when the last scenario that
// uses it is done.
var keda struct {
	// allowed is closed once KEDA may be installed.
	allowed     chan struct{}
	allowedOnce sync.Once
	// mu serialises installing and uninstalling; users counts the scenarios using KEDA.
	mu    sync.Mutex
	users int
}

func init() { keda.allowed = make(chan struct{}) }

// allowKEDA lets the scenarios install KEDA.
func allowKEDA() { keda.allowedOnce.Do(func() { close(keda.allowed) }) }

// kedaManifest is KEDA's own manifests, rendered by hack/cluster/build.sh.
func kedaManifest() string { return filepath.Join(env.root, "bin/cluster/keda.yaml") }

// useKEDA makes sure KEDA runs (operator, metrics API server, admission webhooks), installing it
// when no other scenario did, and waits until it serves. Cleanup first deletes the namespace's
// pipelines, so that KEDA releases their ScaledObjects, then uninstalls KEDA if no other scenario
// still uses it.
func useKEDA(t *testing.T, namespace string) {
	t.Helper()
	start := time.Now()
	select {
	case <-keda.allowed:
	case <-time.After(10 * time.Minute):
		t.Fatal("TestScaling did not let the scenarios install KEDA within 10 minutes")
	}
	allowed := time.Since(start)
	keda.mu.Lock()
	defer keda.mu.Unlock()
	defer func() {
		t.Logf("KEDA serves after %s (%s of it waiting for TestScaling)", time.Since(start).Round(time.Second), allowed.Round(time.Second))
	}()
	keda.users++
	t.Cleanup(func() { releaseKEDA(t, namespace) })
	if keda.users == 1 {
		must(t, nil, "kubectl", "apply", "--server-side", "-f", kedaManifest())
	}
	for _, d := range []string{"keda-operator", "keda-metrics-apiserver", "keda-admission"} {
		must(t, nil, "kubectl", "-n", "keda", "rollout", "status", "deployment/"+d, "--timeout=3m")
	}
	eventually(t, 2*time.Minute, "KEDA's external metrics API available", func() error {
		out, err := run(context.Background(), nil, "kubectl", "get", "apiservice", "v1beta1.external.metrics.k8s.io",
			"-o", `jsonpath={.status.conditions[?(@.type=="Available")].status}`)
		if err != nil {
			return err
		}
		if out != "True" {
			return fmt.Errorf("Available=%q", out)
		}
		return nil
	})
}

// releaseKEDA deletes the namespace's pipelines, waits until KEDA released their ScaledObjects, and
// uninstalls KEDA when this was its last user.
func releaseKEDA(t *testing.T, namespace string) {
	diagnose(t, namespace)
	ctx := context.Background()
	deletePipelines(t, namespace)
	eventually(t, 2*time.Minute, "ScaledObjects released", func() error {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(scaledObjectGVK.GroupVersion().WithKind("ScaledObjectList"))
		if err := env.c.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return err
		}
		if n := len(list.Items); n > 0 {
			return fmt.Errorf("%d left", n)
		}
		return nil
	})
	keda.mu.Lock()
	defer keda.mu.Unlock()
	keda.users--
	if keda.users > 0 {
		return
	}
	if _, err := run(ctx, nil, "kubectl", "delete", "--ignore-not-found", "--wait", "--timeout=2m", "-f", kedaManifest()); err != nil {
		t.Error(err)
	}
}

// selected reports whether `go test -run/-skip` selects the top-level test name in this run.
func selected(name string) bool {
	match := func(flagName string, empty bool) bool {
		f := flag.Lookup(flagName)
		if f == nil || f.Value.String() == "" {
			return empty
		}
		// The top-level part of the pattern, as `go test` splits it at slashes.
		re, err := regexp.Compile(strings.Split(f.Value.String(), "/")[0])
		return err == nil && re.MatchString(name)
	}
	return match("test.run", true) && !match("test.skip", false)
}
