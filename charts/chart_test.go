package charts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	chartDir  = "recoflow"
	release   = "recoflow"
	namespace = "recoflow-system"
	operator  = "recoflow-operator"
)

// TestMain reads the chart's files before the tests run: helm reads them in another process, and
// only what the test process itself reads tells `go test` to run the tests again after a change.
func TestMain(m *testing.M) {
	err := filepath.WalkDir(chartDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "read the chart:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// helm returns the helm binary that `make tools` builds.
func helm(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "bin", "helm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the chart tests need bin/helm: run `make tools` (%v)", err)
	}
	return bin
}

// template renders the chart with helm template and the given --set values.
func template(t *testing.T, set ...string) ([]byte, error) {
	t.Helper()
	args := []string{"template", release, chartDir, "--namespace", namespace}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// render renders the chart and returns its objects.
func render(t *testing.T, set ...string) objects {
	t.Helper()
	out, err := template(t, set...)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

// objects are the Kubernetes objects of a multi-document YAML stream.
type objects []*unstructured.Unstructured

func decode(t *testing.T, data []byte) objects {
	t.Helper()
	var objs objects
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode YAML: %v", err)
		}
		if obj != nil {
			objs = append(objs, &unstructured.Unstructured{Object: obj})
		}
	}
}

// get returns the object of the kind and name, or nil.
func (objs objects) get(kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// must returns the object of the kind and name, failing the test when there is none.
func (objs objects) must(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	o := objs.get(kind, name)
	if o == nil {
		t.Fatalf("no %s %q among %v", kind, name, objs)
	}
	return o
}

// String lists the objects as kind/name, for failure messages.
func (objs objects) String() string {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.GetKind() + "/" + o.GetName()
	}
	return strings.Join(names, ", ")
}

// as converts an unstructured object to its typed form.
func as[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	typed := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, typed, true); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return typed
}

// field returns a nested field of an object, failing the test when it is missing.
func field(t *testing.T, o *unstructured.Unstructured, path ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(o.Object, path...)
	if err != nil || !ok {
		t.Fatalf("%s %s has no %s (%v)", o.GetKind(), o.GetName(), strings.Join(path, "."), err)
	}
	return v
}

// appVersion returns the chart's appVersion, the tag of every image.
func appVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	if chart.AppVersion == "" || chart.AppVersion != chart.Version {
		t.Fatalf("Chart.yaml: version %q and appVersion %q must be set and equal", chart.Version, chart.AppVersion)
	}
	return chart.AppVersion
}

func operatorContainer(t *testing.T, objs objects) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	d := as[appsv1.Deployment](t, objs.must(t, "Deployment", operator))
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("operator pod has %d containers, want 1", n)
	}
	return d, d.Spec.Template.Spec.Containers[0]
}

func TestOperatorDeploymentDefaults(t *testing.T) {
	objs := render(t)
	tag := appVersion(t)
	d, c := operatorContainer(t, objs)

	t.Run("images are tagged with the appVersion", func(t *testing.T) {
		if want := "ghcr.io/recoflow/recoflow-operator:" + tag; c.Image != want {
			t.Errorf("image = %q, want %q", c.Image, want)
		}
		for _, fn := range []string{"ingest", "clean", "popularity"} {
			want := fmt.Sprintf("--%s-image=ghcr.io/recoflow/recoflow-%s:%s", fn, fn, tag)
			if !slices.Contains(c.Args, want) {
				t.Errorf("args %q lack %q", c.Args, want)
			}
		}
	})

	t.Run("flags", func(t *testing.T) {
		for _, want := range []string{"--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081", "--log-level=info", "--cluster-domain=cluster.local"} {
			if !slices.Contains(c.Args, want) {
				t.Errorf("args %q lack %q", c.Args, want)
			}
		}
		for _, a := range c.Args {
			if strings.HasPrefix(a, "--watch-namespaces") || strings.HasPrefix(a, "--image-pull-secrets") {
				t.Errorf("by default the operator watches every namespace and pulls without secrets, but args have %q", a)
			}
		}
	})

	t.Run("restricted pod security", func(t *testing.T) {
		pod := d.Spec.Template.Spec.SecurityContext
		if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
			t.Error("pod securityContext.runAsNonRoot is not true")
		}
		if pod == nil || pod.RunAsUser == nil || *pod.RunAsUser == 0 {
			t.Error("pod securityContext.runAsUser is not a non-root user")
		}
		if pod == nil || pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Error("pod seccompProfile is not RuntimeDefault")
		}
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Fatal("container has no securityContext")
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Error("allowPrivilegeEscalation is not false")
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Error("readOnlyRootFilesystem is not true")
		case sc.Privileged != nil && *sc.Privileged:
			t.Error("container is privileged")
		case sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("capabilities = %+v, want drop [ALL] and add none", sc.Capabilities)
		}
	})

	t.Run("probes on the health port", func(t *testing.T) {
		for name, probe := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
			if probe == nil || probe.HTTPGet == nil {
				t.Errorf("no HTTP probe on %s", name)
				continue
			}
			if probe.HTTPGet.Path != name || probe.HTTPGet.Port.String() != "http-health" {
				t.Errorf("probe %s:%s, want %s:http-health", probe.HTTPGet.Path, probe.HTTPGet.Port.String(), name)
			}
		}
		if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "http-health" && p.ContainerPort == 8081 }) {
			t.Errorf("ports %+v lack http-health 8081", c.Ports)
		}
	})

	t.Run("resources", func(t *testing.T) {
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("resources = %+v, want cpu and memory requests and a memory limit", c.Resources)
		}
	})

	t.Run("service account, RBAC and metrics", func(t *testing.T) {
		if sa := d.Spec.Template.Spec.ServiceAccountName; sa != operator || objs.get("ServiceAccount", sa) == nil {
			t.Errorf("pod runs as %q, want the chart's ServiceAccount %q", sa, operator)
		}
		crb := as[rbacv1.ClusterRoleBinding](t, objs.must(t, "ClusterRoleBinding", operator))
		wantSubject := rbacv1.Subject{Kind: "ServiceAccount", Name: operator, Namespace: namespace}
		if crb.RoleRef.Name != operator || !reflect.DeepEqual(crb.Subjects, []rbacv1.Subject{wantSubject}) {
			t.Errorf("ClusterRoleBinding binds %s to %+v", crb.RoleRef.Name, crb.Subjects)
		}
		// Leader election needs to get, create and update its Lease.
		rules := as[rbacv1.ClusterRole](t, objs.must(t, "ClusterRole", operator)).Rules
		for _, verb := range []string{"get", "create", "update"} {
			if !slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
				return slices.Contains(r.APIGroups, "coordination.k8s.io") && slices.Contains(r.Resources, "leases") && slices.Contains(r.Verbs, verb)
			}) {
				t.Errorf("the ClusterRole does not let the operator %s its leader-election Lease", verb)
			}
		}
		svc := as[corev1.Service](t, objs.must(t, "Service", operator+"-metrics"))
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http-metrics" {
			t.Errorf("metrics Service ports = %+v", svc.Spec.Ports)
		}
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("metrics Service selector %s=%s does not select the operator's pods", k, v)
			}
		}
	})

	t.Run("no optional objects", func(t *testing.T) {
		for _, kind := range []string{"ServiceMonitor", "Kafka", "KafkaNodePool", "RecommendationPipeline"} {
			if slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind }) {
				t.Errorf("default values render a %s", kind)
			}
		}
	})
}

func TestNonDefaultValues(t *testing.T) {
	tests := []struct {
		name  string
		set   []string
		check func(t *testing.T, objs objects)
	}{{
		name: "registry and tag",
		set:  []string{"image.registry=registry.example.com/team/", "image.tag=1.2.3"},
		check: func(t *testing.T, objs objects) {
			_, c := operatorContainer(t, objs)
			if want := "registry.example.com/team/recoflow-operator:1.2.3"; c.Image != want {
				t.Errorf("image = %q, want %q", c.Image, want)
			}
			if want := "--clean-image=registry.example.com/team/recoflow-clean:1.2.3"; !slices.Contains(c.Args, want) {
				t.Errorf("args %q lack %q", c.Args, want)
			}
		},
	}, {
		name: "bare image names",
		set:  []string{"image.registry="},
		check: func(t *testing.T, objs objects) {
			_, c := operatorContainer(t, objs)
			if want := "recoflow-operator:" + appVersion(t); c.Image != want {
				t.Errorf("image = %q, want %q", c.Image, want)
			}
		},
	}, {
		name: "pull secrets and cluster domain",
		set:  []string{"imagePullSecrets[0].name=registry-a", "imagePullSecrets[1].name=registry-b", "clusterDomain=corp.example"},
		check: func(t *testing.T, objs objects) {
			d, c := operatorContainer(t, objs)
			for _, want := range []string{"--image-pull-secrets=registry-a,registry-b", "--cluster-domain=corp.example"} {
				if !slices.Contains(c.Args, want) {
					t.Errorf("args %q lack %q", c.Args, want)
				}
			}
			if got := d.Spec.Template.Spec.ImagePullSecrets; len(got) != 2 || got[0].Name != "registry-a" {
				t.Errorf("the operator's own pod pulls with %v, want registry-a and registry-b", got)
			}
		},
	}, {
		name: "watched namespaces",
		set:  []string{"operator.watchNamespaces={shop,news}"},
		check: func(t *testing.T, objs objects) {
			_, c := operatorContainer(t, objs)
			if !slices.Contains(c.Args, "--watch-namespaces=shop,news") {
				t.Errorf("args %q lack --watch-namespaces=shop,news", c.Args)
			}
		},
	}, {
		name: "no leader election",
		set:  []string{"operator.leaderElection=false"},
		check: func(t *testing.T, objs objects) {
			_, c := operatorContainer(t, objs)
			if slices.Contains(c.Args, "--leader-elect") {
				t.Errorf("args %q have --leader-elect", c.Args)
			}
		},
	}, {
		name: "existing service account, no RBAC",
		set:  []string{"serviceAccount.create=false", "serviceAccount.name=platform-operator", "rbac.create=false"},
		check: func(t *testing.T, objs objects) {
			d, _ := operatorContainer(t, objs)
			if sa := d.Spec.Template.Spec.ServiceAccountName; sa != "platform-operator" {
				t.Errorf("serviceAccountName = %q, want platform-operator", sa)
			}
			for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding"} {
				if slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind }) {
					t.Errorf("a %s is rendered", kind)
				}
			}
		},
	}, {
		name: "service monitor",
		set:  []string{"metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.interval=15s", "metrics.serviceMonitor.labels.release=prom"},
		check: func(t *testing.T, objs objects) {
			sm := objs.must(t, "ServiceMonitor", operator)
			if sm.GetLabels()["release"] != "prom" {
				t.Errorf("labels = %v, want release=prom", sm.GetLabels())
			}
			endpoints := field(t, sm, "spec", "endpoints").([]any)
			want := map[string]any{"port": "http-metrics", "path": "/metrics", "interval": "15s"}
			if len(endpoints) != 1 || !reflect.DeepEqual(endpoints[0], want) {
				t.Errorf("endpoints = %v, want [%v]", endpoints, want)
			}
		},
	}, {
		name: "operator placement and resources",
		set:  []string{"operator.nodeSelector.pool=system", "operator.resources.requests.cpu=50m", "operator.replicas=2"},
		check: func(t *testing.T, objs objects) {
			d, c := operatorContainer(t, objs)
			if d.Spec.Template.Spec.NodeSelector["pool"] != "system" {
				t.Errorf("nodeSelector = %v", d.Spec.Template.Spec.NodeSelector)
			}
			if got := c.Resources.Requests.Cpu().String(); got != "50m" {
				t.Errorf("cpu request = %s, want 50m", got)
			}
			if *d.Spec.Replicas != 2 {
				t.Errorf("replicas = %d, want 2", *d.Spec.Replicas)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, render(t, tt.set...)) })
	}
}

// TestGeneratedFilesAreCopiedExactly checks that the chart carries the CRD and RBAC rules that
// controller-gen generated (hack/render-manifests.sh copies them).
func TestGeneratedFilesAreCopiedExactly(t *testing.T) {
	t.Run("CRDs", func(t *testing.T) {
		generated, err := filepath.Glob(filepath.Join("..", "operator", "config", "crd", "*.yaml"))
		if err != nil || len(generated) == 0 {
			t.Fatalf("no generated CRDs in operator/config/crd (run `make generate`): %v", err)
		}
		copied, err := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(copied) != len(generated) {
			t.Errorf("chart has %d CRDs, operator/config/crd %d: run `make manifests`", len(copied), len(generated))
		}
		for _, g := range generated {
			sameFile(t, g, filepath.Join(chartDir, "crds", filepath.Base(g)))
		}
	})
	t.Run("RBAC", func(t *testing.T) {
		sameFile(t, filepath.Join("..", "operator", "config", "rbac", "role.yaml"), filepath.Join(chartDir, "files", "role.yaml"))
	})
}

func sameFile(t *testing.T, want, got string) {
	t.Helper()
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w, g) {
		t.Errorf("%s differs from %s: run `make manifests`", got, want)
	}
}

// TestClusterRoleHasTheGeneratedRules checks that the rendered ClusterRole grants exactly what the
// operator's +kubebuilder:rbac markers ask for.
func TestClusterRoleHasTheGeneratedRules(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "operator", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatalf("run `make generate`: %v", err)
	}
	var want []rbacv1.PolicyRule
	for _, o := range decode(t, data) {
		if o.GetKind() == "ClusterRole" {
			want = as[rbacv1.ClusterRole](t, o).Rules
		}
	}
	if len(want) == 0 {
		t.Fatal("operator/config/rbac/role.yaml has no ClusterRole rules")
	}
	got := as[rbacv1.ClusterRole](t, render(t).must(t, "ClusterRole", operator)).Rules
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ClusterRole rules differ from operator/config/rbac/role.yaml:\n got %+v\nwant %+v", got, want)
	}
}

func TestDevelopmentKafkaAndExamplePipeline(t *testing.T) {
	objs := render(t, "kafka.create=true", "examplePipeline.enabled=true")

	kafka := objs.must(t, "Kafka", "recoflow")
	pool := objs.must(t, "KafkaNodePool", "dual-role")
	t.Run("Kafka", func(t *testing.T) {
		if kafka.GetAPIVersion() != "kafka.strimzi.io/v1" || pool.GetAPIVersion() != "kafka.strimzi.io/v1" {
			t.Errorf("apiVersions %s and %s, want kafka.strimzi.io/v1", kafka.GetAPIVersion(), pool.GetAPIVersion())
		}
		if v := field(t, kafka, "spec", "kafka", "version"); v != "4.3.1" {
			t.Errorf("Kafka version = %v, want 4.3.1", v)
		}
		config := field(t, kafka, "spec", "kafka", "config").(map[string]any)
		for _, key := range []string{"default.replication.factor", "min.insync.replicas", "offsets.topic.replication.factor",
			"transaction.state.log.replication.factor", "transaction.state.log.min.isr"} {
			if v, ok := config[key]; !ok || fmt.Sprint(v) != "1" {
				t.Errorf("config %s = %v, want 1 on a single broker", key, v)
			}
		}
		if _, ok := field(t, kafka, "spec", "entityOperator").(map[string]any)["topicOperator"]; !ok {
			t.Error("no Topic Operator: the pipeline's KafkaTopics would never become topics")
		}
	})
	t.Run("KafkaNodePool", func(t *testing.T) {
		if c := pool.GetLabels()["strimzi.io/cluster"]; c != kafka.GetName() {
			t.Errorf("node pool belongs to cluster %q, want %q", c, kafka.GetName())
		}
		if r := field(t, pool, "spec", "replicas"); fmt.Sprint(r) != "1" {
			t.Errorf("replicas = %v, want 1", r)
		}
		if roles := field(t, pool, "spec", "roles"); !reflect.DeepEqual(roles, []any{"controller", "broker"}) {
			t.Errorf("roles = %v, want controller and broker", roles)
		}
		if s := field(t, pool, "spec", "storage", "type"); s != "ephemeral" {
			t.Errorf("storage = %v, want ephemeral", s)
		}
		// Strimzi's default pods do not meet the restricted standard that the namespace enforces.
		for _, sc := range []struct {
			o    *unstructured.Unstructured
			path []string
		}{
			{pool, []string{"spec", "template", "pod", "securityContext", "runAsNonRoot"}},
			{pool, []string{"spec", "template", "kafkaContainer", "securityContext", "capabilities", "drop"}},
			{kafka, []string{"spec", "entityOperator", "template", "pod", "securityContext", "runAsNonRoot"}},
			{kafka, []string{"spec", "entityOperator", "template", "topicOperatorContainer", "securityContext", "capabilities", "drop"}},
		} {
			if v := field(t, sc.o, sc.path...); !reflect.DeepEqual(v, true) && !reflect.DeepEqual(v, []any{"ALL"}) {
				t.Errorf("%s %s = %v", sc.o.GetKind(), strings.Join(sc.path, "."), v)
			}
		}
	})
	t.Run("manifests/kafka/kafka.yaml is the same cluster", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("..", "manifests", "kafka", "kafka.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		plain := decode(t, data)
		for _, rendered := range []*unstructured.Unstructured{kafka, pool} {
			p := plain.must(t, rendered.GetKind(), rendered.GetName())
			if !reflect.DeepEqual(p.Object["spec"], rendered.Object["spec"]) {
				t.Errorf("%s spec differs:\nchart %v\nplain %v", rendered.GetKind(), rendered.Object["spec"], p.Object["spec"])
			}
			if p.GetLabels()["strimzi.io/cluster"] != rendered.GetLabels()["strimzi.io/cluster"] {
				t.Errorf("%s strimzi.io/cluster labels differ", rendered.GetKind())
			}
		}
	})
	t.Run("example pipeline", func(t *testing.T) {
		rp := objs.must(t, "RecommendationPipeline", "likes")
		if rp.GetAPIVersion() != "recoflow.dev/v1alpha1" || rp.GetNamespace() != namespace {
			t.Errorf("pipeline is %s in %q", rp.GetAPIVersion(), rp.GetNamespace())
		}
		if ref := field(t, rp, "spec", "kafka", "clusterRef", "name"); ref != kafka.GetName() {
			t.Errorf("clusterRef = %v, want the chart's Kafka %q", ref, kafka.GetName())
		}
		if r := field(t, rp, "spec", "topics", "replicas"); fmt.Sprint(r) != "1" {
			t.Errorf("topic replicas = %v, want 1 on a single broker", r)
		}
		tag := appVersion(t)
		for _, fn := range []string{"ingest", "clean", "popularity"} {
			if img, want := field(t, rp, "spec", fn, "image"), "ghcr.io/recoflow/recoflow-"+fn+":"+tag; img != want {
				t.Errorf("%s image = %v, want %s", fn, img, want)
			}
		}
	})
}

func TestSchemaRejectsBadValues(t *testing.T) {
	tests := []struct {
		set  string
		want string
	}{
		{set: "replicas=2", want: "additional properties 'replicas' not allowed"},
		{set: "operator.image=x", want: "additional properties 'image' not allowed"},
		{set: "kafka.replicas=3", want: "additional properties 'replicas' not allowed"},
		{set: "operator.replicas=two", want: "got string, want integer"},
		{set: "kafka.create=yes", want: "got string, want boolean"},
		{set: "operator.logLevel=verbose", want: "value must be one of"},
		{set: "examplePipeline.scalingMode=Fast", want: "value must be one of"},
		{set: "examplePipeline.partitions=0", want: "minimum"},
		{set: "kafka.name=Not_A_Name", want: "does not match pattern"},
		{set: "clusterDomain=Cluster_Local", want: "does not match pattern"},
		{set: "operator.resources.requests.cpu=lots", want: "/operator/resources/requests/cpu"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			_, err := template(t, tt.set)
			if err == nil {
				t.Fatalf("helm template --set %s succeeded, want a schema error", tt.set)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestTemplateRejectsReplicasWithoutLeaderElection(t *testing.T) {
	_, err := template(t, "operator.replicas=2", "operator.leaderElection=false")
	if err == nil || !strings.Contains(err.Error(), "leaderElection") {
		t.Errorf("err = %v, want a message about leaderElection", err)
	}
}

// TestInstallYAMLIsUpToDate checks that manifests/install.yaml is the chart rendered with default
// values (hack/render-manifests.sh adds a Namespace in front).
func TestInstallYAMLIsUpToDate(t *testing.T) {
	install, err := os.ReadFile(filepath.Join("..", "manifests", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm(t), "template", release, chartDir, "--namespace", namespace, "--include-crds")
	rendered, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(install, rendered) {
		t.Error("manifests/install.yaml is stale: run `make manifests`")
	}
	objs := decode(t, install)
	if ns := objs.must(t, "Namespace", namespace); ns.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("Namespace labels = %v, want pod-security.kubernetes.io/enforce=restricted", ns.GetLabels())
	}
	objs.must(t, "CustomResourceDefinition", "recommendationpipelines.recoflow.dev")
}

func TestLintStrict(t *testing.T) {
	for _, set := range [][]string{nil, {"kafka.create=true", "examplePipeline.enabled=true", "metrics.serviceMonitor.enabled=true"}} {
		t.Run(strings.Join(append([]string{"defaults"}, set...), ","), func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir}
			for _, s := range set {
				args = append(args, "--set", s)
			}
			out, err := exec.Command(helm(t), args...).CombinedOutput()
			if err != nil {
				t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}
