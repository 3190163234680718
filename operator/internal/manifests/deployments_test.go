package manifests

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

func TestDeploymentReplicas(t *testing.T) {
	tests := []struct {
		name       string
		autoscaler Autoscaler
		edit       func(*v1alpha1.RecommendationPipeline)
		want       map[Role]*int32
	}{
		{
			name:       "no autoscaler runs min",
			autoscaler: AutoscalerNone,
			edit:       func(p *v1alpha1.RecommendationPipeline) { p.Spec.Ingest.Replicas.Min = ptr.To[int32](3) },
			want:       map[Role]*int32{contract.FunctionIngest: ptr.To[int32](3), contract.FunctionClean: ptr.To[int32](1), contract.FunctionPopularity: ptr.To[int32](1), contract.FunctionPopularityServing: ptr.To[int32](1)},
		},
		{
			name:       "consumers never above the partition count",
			autoscaler: AutoscalerNone,
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Topics.Partitions = 2
				p.Spec.Ingest.Replicas.Min = ptr.To[int32](4)
				p.Spec.Clean.Replicas.Min = ptr.To[int32](4)
			},
			want: map[Role]*int32{contract.FunctionIngest: ptr.To[int32](4), contract.FunctionClean: ptr.To[int32](2), contract.FunctionPopularity: ptr.To[int32](1), contract.FunctionPopularityServing: ptr.To[int32](1)},
		},
		{
			name:       "KEDA owns the count",
			autoscaler: AutoscalerKEDA,
			edit:       func(*v1alpha1.RecommendationPipeline) {},
			want:       map[Role]*int32{contract.FunctionIngest: nil, contract.FunctionClean: nil, contract.FunctionPopularity: nil, contract.FunctionPopularityServing: nil},
		},
		{
			name:       "HPA owns the count",
			autoscaler: AutoscalerHPA,
			edit:       func(*v1alpha1.RecommendationPipeline) {},
			want:       map[Role]*int32{contract.FunctionIngest: nil, contract.FunctionClean: nil, contract.FunctionPopularity: nil, contract.FunctionPopularityServing: nil},
		},
		{
			name:       "suspended with an autoscaler",
			autoscaler: AutoscalerHPA,
			edit:       func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = true },
			want:       map[Role]*int32{contract.FunctionIngest: ptr.To[int32](0), contract.FunctionClean: ptr.To[int32](0), contract.FunctionPopularity: ptr.To[int32](0), contract.FunctionPopularityServing: ptr.To[int32](0)},
		},
		{
			name:       "serving beyond the partitions",
			autoscaler: AutoscalerNone,
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Topics.Partitions = 2
				p.Spec.Popularity.Serving.Replicas = v1alpha1.ReplicaRange{Min: ptr.To[int32](5), Max: 20}
			},
			want: map[Role]*int32{contract.FunctionIngest: ptr.To[int32](1), contract.FunctionClean: ptr.To[int32](1), contract.FunctionPopularity: ptr.To[int32](1), contract.FunctionPopularityServing: ptr.To[int32](5)},
		},
		{
			name:       "KEDA scales consumers to zero",
			autoscaler: AutoscalerKEDA,
			edit:       scaleToZero,
			want:       map[Role]*int32{contract.FunctionIngest: nil, contract.FunctionClean: nil, contract.FunctionPopularity: nil, contract.FunctionPopularityServing: nil},
		},
		{
			name:       "without KEDA a consumer at min 0 runs one",
			autoscaler: AutoscalerNone,
			edit:       scaleToZero,
			want:       map[Role]*int32{contract.FunctionIngest: ptr.To[int32](1), contract.FunctionClean: ptr.To[int32](1), contract.FunctionPopularity: ptr.To[int32](1), contract.FunctionPopularityServing: ptr.To[int32](1)},
		},
		{
			name:       "suspended without one",
			autoscaler: AutoscalerNone,
			edit:       func(p *v1alpha1.RecommendationPipeline) { p.Spec.Suspend = true },
			want:       map[Role]*int32{contract.FunctionIngest: ptr.To[int32](0), contract.FunctionClean: ptr.To[int32](0), contract.FunctionPopularity: ptr.To[int32](0), contract.FunctionPopularityServing: ptr.To[int32](0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, d := range Deployments(testParams(tt.autoscaler, tt.edit)) {
				role := Role(d.Spec.Template.Spec.Containers[0].Name)
				if got, want := d.Spec.Replicas, tt.want[role]; !equality.Semantic.DeepEqual(got, want) {
					t.Errorf("%s replicas = %v, want %v", d.Name, deref(got), deref(want))
				}
			}
		})
	}
}

// scaleToZero lets the consumers scale to zero.
func scaleToZero(p *v1alpha1.RecommendationPipeline) {
	p.Spec.Scaling.Mode = v1alpha1.ScalingKEDA
	p.Spec.Clean.Replicas.Min = ptr.To[int32](0)
	p.Spec.Popularity.Replicas.Min = ptr.To[int32](0)
}

func TestDeploymentEnv(t *testing.T) {
	full := func(p *v1alpha1.RecommendationPipeline) {
		p.Spec.Kafka.BootstrapServers = "k1:9092,k2:9092"
		p.Spec.Ingest.MaxBodyBytes = ptr.To[int64](2048)
		p.Spec.Ingest.AuthSecretRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "auth"}, Key: "token"}
		p.Spec.Clean.DedupeWindow = "15m"
		p.Spec.Clean.MaxEventAge = "48h"
		p.Spec.Popularity.HalfLife = "12h"
		p.Spec.Popularity.Weights = map[string]v1alpha1.Weight{"shared": "4", "liked": "2.5", "unliked": "-1"}
		p.Spec.Popularity.TopN = ptr.To[int32](50)
		p.Spec.Popularity.FlushInterval = "2s"
		p.Spec.Popularity.Env = []corev1.EnvVar{{Name: contract.EnvLogFormat, Value: "text"}}
		p.Spec.Clean.Env = []corev1.EnvVar{
			{Name: contract.EnvLogLevel, Value: "debug"},
			{Name: contract.EnvCleanDedupeWindow, Value: "1m"},
		}
	}
	common := map[string]string{
		contract.EnvTopicRaw:        "shop.interactions.raw",
		contract.EnvTopicClean:      "shop.interactions.clean",
		contract.EnvTopicDeadLetter: "shop.interactions.dlq",
		contract.EnvTopicPopularity: "shop.popularity",
	}
	tests := []struct {
		name   string
		edit   func(*v1alpha1.RecommendationPipeline)
		role   Role
		want   map[string]string // values; "" means set from a source
		absent []string
	}{
		{
			name: "ingest defaults", edit: func(*v1alpha1.RecommendationPipeline) {}, role: contract.FunctionIngest,
			want:   map[string]string{contract.EnvKafkaBrokers: "events-kafka-bootstrap.recoflow.svc.cluster.local:9092", contract.EnvHTTPAddr: ":8080", contract.EnvInstanceID: ""},
			absent: []string{contract.EnvIngestMaxBodyBytes, contract.EnvIngestAuthToken, contract.EnvConsumerGroup},
		},
		{
			name: "ingest settings", edit: full, role: contract.FunctionIngest,
			want: map[string]string{contract.EnvKafkaBrokers: "k1.recoflow.svc.cluster.local:9092,k2.recoflow.svc.cluster.local:9092", contract.EnvIngestMaxBodyBytes: "2048", contract.EnvIngestAuthToken: ""},
		},
		{
			name: "clean defaults", edit: func(*v1alpha1.RecommendationPipeline) {}, role: contract.FunctionClean,
			want:   map[string]string{contract.EnvConsumerGroup: "shop-clean", contract.EnvHTTPAddr: ":8080"},
			absent: []string{contract.EnvCleanDedupeWindow, contract.EnvCleanMaxEventAge},
		},
		{
			name: "clean settings, user env wins", edit: full, role: contract.FunctionClean,
			want: map[string]string{contract.EnvCleanDedupeWindow: "1m", contract.EnvCleanMaxEventAge: "48h", contract.EnvLogLevel: "debug"},
		},
		{
			name: "popularity defaults", edit: func(*v1alpha1.RecommendationPipeline) {}, role: contract.FunctionPopularity,
			want:   map[string]string{contract.EnvConsumerGroup: "shop-popularity", contract.EnvHTTPAddr: ":8081", contract.EnvPopularityMode: "scoring"},
			absent: []string{contract.EnvPopularityHalfLife, contract.EnvPopularityWeights, contract.EnvPopularityTopNMax, contract.EnvPopularityFlushInterval},
		},
		{
			name: "serving defaults", edit: func(*v1alpha1.RecommendationPipeline) {}, role: contract.FunctionPopularityServing,
			want:   map[string]string{contract.EnvHTTPAddr: ":8081", contract.EnvPopularityMode: "serving"},
			absent: []string{contract.EnvConsumerGroup, contract.EnvPopularityHalfLife, contract.EnvPopularityTopNMax},
		},
		{
			name: "serving settings and popularity's env", edit: full, role: contract.FunctionPopularityServing,
			want: map[string]string{
				contract.EnvPopularityHalfLife: "12h",
				contract.EnvPopularityTopNMax:  "50",
				contract.EnvLogFormat:          "text",
				contract.EnvPopularityMode:     "serving",
			},
			absent: []string{contract.EnvConsumerGroup, contract.EnvPopularityWeights, contract.EnvPopularityFlushInterval},
		},
		{
			name: "popularity settings", edit: full, role: contract.FunctionPopularity,
			want: map[string]string{
				contract.EnvPopularityHalfLife:      "12h",
				contract.EnvPopularityWeights:       "liked=2.5,unliked=-1,shared=4",
				contract.EnvPopularityFlushInterval: "2s",
			},
			absent: []string{contract.EnvPopularityTopNMax},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := deploymentOf(t, testParams(AutoscalerNone, tt.edit), tt.role).Spec.Template.Spec.Containers[0]
			got := map[string]corev1.EnvVar{}
			for _, v := range c.Env {
				if _, dup := got[v.Name]; dup {
					t.Errorf("%s is set twice", v.Name)
				}
				got[v.Name] = v
			}
			for name, want := range common {
				if got[name].Value != want {
					t.Errorf("%s = %q, want %q", name, got[name].Value, want)
				}
			}
			for name, want := range tt.want {
				v, ok := got[name]
				switch {
				case !ok:
					t.Errorf("%s is not set", name)
				case want == "" && v.ValueFrom == nil:
					t.Errorf("%s = %q, want it from a source", name, v.Value)
				case want != "" && v.Value != want:
					t.Errorf("%s = %q, want %q", name, v.Value, want)
				}
			}
			for _, name := range tt.absent {
				if v, ok := got[name]; ok {
					t.Errorf("%s = %q, want it unset so the function's default applies", name, v.Value)
				}
			}
			if id := got[contract.EnvInstanceID].ValueFrom; id == nil || id.FieldRef == nil || id.FieldRef.FieldPath != "metadata.name" {
				t.Errorf("%s is not the pod name: %+v", contract.EnvInstanceID, id)
			}
			if tt.role == contract.FunctionIngest && got[contract.EnvIngestAuthToken].ValueFrom != nil {
				if ref := got[contract.EnvIngestAuthToken].ValueFrom.SecretKeyRef; ref == nil || ref.Name != "auth" || ref.Key != "token" {
					t.Errorf("%s comes from %+v, want secret auth key token", contract.EnvIngestAuthToken, ref)
				}
			}
		})
	}
}

func TestDeploymentPod(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*v1alpha1.RecommendationPipeline)
		role  Role
		image string
		port  int32
		cpu   string
	}{
		{"default image", func(*v1alpha1.RecommendationPipeline) {}, contract.FunctionIngest, "ghcr.io/recoflow/recoflow-ingest:0.1.0", 8080, "100m"},
		{
			"own image and resources",
			func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Popularity.Image = "example.com/pop:1"
				p.Spec.Popularity.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}
			},
			contract.FunctionPopularity, "example.com/pop:1", 8081, "2",
		},
		{"clean", func(*v1alpha1.RecommendationPipeline) {}, contract.FunctionClean, "ghcr.io/recoflow/recoflow-clean:0.1.0", 8080, "100m"},
		{"serving", func(*v1alpha1.RecommendationPipeline) {}, contract.FunctionPopularityServing, "ghcr.io/recoflow/recoflow-popularity:0.1.0", 8081, "100m"},
		{
			"serving runs popularity's image with its own resources",
			func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Popularity.Image = "example.com/pop:1"
				p.Spec.Popularity.Serving.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}
			},
			contract.FunctionPopularityServing, "example.com/pop:1", 8081, "500m",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deploymentOf(t, testParams(AutoscalerNone, tt.edit), tt.role)
			pod := d.Spec.Template.Spec
			c := pod.Containers[0]
			if c.Image != tt.image {
				t.Errorf("image = %s, want %s", c.Image, tt.image)
			}
			if len(c.Ports) != 1 || c.Ports[0].ContainerPort != tt.port || c.Ports[0].Name != PortName {
				t.Errorf("ports = %+v, want %s on %d", c.Ports, PortName, tt.port)
			}
			if cpu := c.Resources.Requests[corev1.ResourceCPU]; cpu.String() != tt.cpu {
				t.Errorf("cpu request = %s, want %s", cpu.String(), tt.cpu)
			}
			if !equality.Semantic.DeepEqual(d.Spec.Selector.MatchLabels, SelectorLabels("shop", tt.role)) {
				t.Errorf("selector = %v", d.Spec.Selector.MatchLabels)
			}
			for k, v := range d.Spec.Selector.MatchLabels {
				if d.Spec.Template.Labels[k] != v {
					t.Errorf("pod labels %v do not match the selector %s=%s", d.Spec.Template.Labels, k, v)
				}
			}
			if a := d.Spec.Template.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] == "" {
				t.Errorf("scrape annotations = %v", a)
			}
			for name, probe := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
				if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name || probe.HTTPGet.Port.StrVal != PortName {
					t.Errorf("probe %s = %+v", name, probe)
				}
			}
			shutdown := int64(config.DefaultCommon().ShutdownTimeout.Seconds())
			if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= shutdown || *g < 30 {
				t.Errorf("termination grace = %v s, want more than the %d s shutdown timeout", deref64(g), shutdown)
			}
			assertRestricted(t, pod)
		})
	}
}

func TestDeploymentCPURequest(t *testing.T) {
	tests := []struct {
		name      string
		resources corev1.ResourceRequirements
		want      corev1.ResourceRequirements
	}{
		{
			name:      "memory only gets the default CPU request",
			resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}},
			want: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceMemory: resource.MustParse("256Mi"), corev1.ResourceCPU: resource.MustParse("100m"),
			}},
		},
		{
			name:      "limits only get a CPU request of the CPU limit",
			resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("1Gi")}},
			want: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")},
			},
		},
		{
			name:      "memory limit only gets the default CPU request",
			resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
			want: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
			},
		},
		{
			name:      "a CPU request is kept",
			resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
			want:      corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range contract.Functions() {
				params := testParams(AutoscalerKEDA, func(p *v1alpha1.RecommendationPipeline) {
					p.Spec.Ingest.Resources, p.Spec.Clean.Resources, p.Spec.Popularity.Resources = tt.resources, tt.resources, tt.resources
					p.Spec.Popularity.Serving.Resources = tt.resources
				})
				got := deploymentOf(t, params, r).Spec.Template.Spec.Containers[0].Resources
				if !equality.Semantic.DeepEqual(got, tt.want) {
					t.Errorf("%s resources = %v, want %v", r, got, tt.want)
				}
			}
		})
	}
}

func TestDeploymentShutdown(t *testing.T) {
	tests := []struct {
		name     string
		role     Role
		env      []corev1.EnvVar
		preStop  int64 // seconds the kubelet sleeps before SIGTERM; 0 for no hook
		grace    int64
		shutdown string
	}{
		{name: "ingest drains, then shuts down", role: contract.FunctionIngest, preStop: 5, grace: 40},
		{name: "popularity serving drains too", role: contract.FunctionPopularityServing, preStop: 5, grace: 40},
		// (minReadySeconds, the same delay when a pod starts, is TestDeploymentMinReadySeconds.)
		{name: "clean has no Service to drain", role: contract.FunctionClean, grace: 35},
		{name: "nor has popularity scoring", role: contract.FunctionPopularity, grace: 35},
		{
			name: "a longer shutdown timeout extends the grace period", role: contract.FunctionIngest,
			env:     []corev1.EnvVar{{Name: contract.EnvShutdownTimeout, Value: "60s"}},
			preStop: 5, grace: 75,
		},
		{
			name: "a fractional one rounds up", role: contract.FunctionClean,
			env:   []corev1.EnvVar{{Name: contract.EnvShutdownTimeout, Value: "1m0.5s"}},
			grace: 71,
		},
		{
			name: "an unreadable one leaves the default", role: contract.FunctionPopularityServing,
			env:     []corev1.EnvVar{{Name: contract.EnvShutdownTimeout, Value: "soon"}},
			preStop: 5, grace: 40,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := testParams(AutoscalerKEDA, func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Ingest.Env, p.Spec.Clean.Env, p.Spec.Popularity.Env = tt.env, tt.env, tt.env
			})
			pod := deploymentOf(t, params, tt.role).Spec.Template.Spec
			var preStop int64
			if l := pod.Containers[0].Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
				preStop = l.PreStop.Sleep.Seconds
			}
			if preStop != tt.preStop {
				t.Errorf("preStop sleep = %d s, want %d s", preStop, tt.preStop)
			}
			if g := deref64(pod.TerminationGracePeriodSeconds); g != tt.grace {
				t.Errorf("terminationGracePeriodSeconds = %v, want %d", g, tt.grace)
			}
		})
	}
}

// TestDeploymentMinReadySeconds: a new pod behind a Service counts as available only once the
// endpoints controllers and kube-proxy have had the drain delay to route to it, so that a pipeline
// reported Ready does not refuse connections; a consumer serves no Service and is available when ready.
func TestDeploymentMinReadySeconds(t *testing.T) {
	tests := []struct {
		role contract.Function
		want int32
	}{
		{contract.FunctionIngest, 5},
		{contract.FunctionPopularityServing, 5},
		{contract.FunctionClean, 0},
		{contract.FunctionPopularity, 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			d := deploymentOf(t, testParams(AutoscalerKEDA), tt.role)
			if got := d.Spec.MinReadySeconds; got != tt.want {
				t.Errorf("minReadySeconds = %d, want %d", got, tt.want)
			}
			preStop := int32(0)
			if l := d.Spec.Template.Spec.Containers[0].Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
				preStop = int32(l.PreStop.Sleep.Seconds)
			}
			if d.Spec.MinReadySeconds != preStop {
				t.Errorf("minReadySeconds %d differs from the preStop drain of %d s", d.Spec.MinReadySeconds, preStop)
			}
		})
	}
}

func TestDeploymentImagePullSecrets(t *testing.T) {
	operator := []corev1.LocalObjectReference{{Name: "operator-registry"}}
	tests := []struct {
		name           string
		operator, spec []corev1.LocalObjectReference
		want           []corev1.LocalObjectReference
	}{
		{name: "none"},
		{name: "the operator's", operator: operator, want: operator},
		{name: "the pipeline's win", operator: operator, spec: []corev1.LocalObjectReference{{Name: "team"}}, want: []corev1.LocalObjectReference{{Name: "team"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := testParams(AutoscalerKEDA, func(p *v1alpha1.RecommendationPipeline) { p.Spec.ImagePullSecrets = tt.spec })
			params.ImagePullSecrets = tt.operator
			for _, r := range contract.Functions() {
				if got := deploymentOf(t, params, r).Spec.Template.Spec.ImagePullSecrets; !equality.Semantic.DeepEqual(got, tt.want) {
					t.Errorf("%s imagePullSecrets = %v, want %v", r, got, tt.want)
				}
			}
		})
	}
}

// assertRestricted checks the pod against the restricted Pod Security Standard.
func assertRestricted(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	if sc := pod.SecurityContext; sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext = %+v, want non-root with the RuntimeDefault seccomp profile", sc)
	}
	if ptr.Deref(pod.AutomountServiceAccountToken, true) {
		t.Error("the pod mounts a service account token it never uses")
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil {
			t.Fatalf("container %s has no securityContext", c.Name)
		}
		if ptr.Deref(sc.AllowPrivilegeEscalation, true) || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) || !ptr.Deref(sc.RunAsNonRoot, false) {
			t.Errorf("container %s securityContext = %+v", c.Name, sc)
		}
		if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0 {
			t.Errorf("container %s capabilities = %+v, want all dropped", c.Name, sc.Capabilities)
		}
	}
}

func deploymentOf(t *testing.T, p Params, r Role) *appsv1.Deployment {
	t.Helper()
	for _, d := range Deployments(p) {
		if d.Name == DeploymentName(p.Pipeline.Name, r) {
			return d
		}
	}
	t.Fatalf("no Deployment for %s", r)
	return nil
}

func deref(p *int32) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func deref64(p *int64) any {
	if p == nil {
		return "nil"
	}
	return *p
}
