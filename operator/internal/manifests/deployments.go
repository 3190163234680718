package manifests

import (
	"strconv"
	"strings"
	"time"

	"github.com/recoflow/recoflow/functions/contract"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// Ports the functions listen on, named PortName in their pods.
const (
	PortName       = "http"
	IngestPort     = 8080
	CleanPort      = 8080
	PopularityPort = 8081
)

// Health endpoints every function serves.
const (
	LivenessPath  = contract.PathHealthz
	ReadinessPath = contract.PathReadyz
	MetricsPath   = contract.PathMetrics
)

// RunAsUser is the non-root user and group the function containers run as (distroless nonroot).
const RunAsUser = 65532

// DrainDelay is how long a function that serves a Service keeps serving after its pod started
// terminating, before it gets SIGTERM: the time the endpoints controllers and every node's
// kube-proxy take to stop sending it new connections. The kubelet sleeps it in the preStop hook,
// which needs nothing in the image. It is also how long a new pod of such a function must be ready
// before it counts as available (minReadySeconds): the time they take to start sending it
// connections. Until kube-proxy has programmed a Service's first ready pod, the Service's address
// refuses connections (1 to 8 s, median 1.5 s, on the e2e node under load); so the Deployment, and
// the pipeline's FunctionsAvailable and Ready, say available only once clients can reach it.
const DrainDelay = 5 * time.Second

// shutdownMargin is the time the kubelet waits beyond a function's own shutdown timeout before it
// kills the function.
const shutdownMargin = 10 * time.Second

// drainDelay returns how long a function's pods keep serving after they start terminating:
// DrainDelay for the functions behind a Service (ingest, popularity serving), none for the
// consumers.
func drainDelay(r Role) time.Duration {
	if r.Consumes() {
		return 0
	}
	return DrainDelay
}

// terminationGracePeriod gives a function its drain delay and its whole graceful shutdown,
// finishing in-flight requests and committing offsets, with room to spare before the kubelet
// kills it. The shutdown timeout is the function's default, or the one the pipeline's env sets.
func terminationGracePeriod(r Role, env []corev1.EnvVar) int64 {
	shutdown := config.DefaultCommon().ShutdownTimeout
	for _, v := range env {
		if v.Name != contract.EnvShutdownTimeout || v.ValueFrom != nil {
			continue
		}
		if d, err := time.ParseDuration(strings.TrimSpace(v.Value)); err == nil && d > 0 {
			shutdown = d
		}
	}
	total := drainDelay(r) + shutdown + shutdownMargin
	return int64((total + time.Second - 1) / time.Second)
}

// lifecycle returns the container's lifecycle hooks: a preStop sleep of the drain delay for the
// functions behind a Service, so that no request that a Service still routes to a terminating
// pod is refused.
func lifecycle(r Role) *corev1.Lifecycle {
	d := drainDelay(r)
	if d == 0 {
		return nil
	}
	return &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: int64(d / time.Second)}}}
}

// resources returns the function's compute resources: the pipeline's, always with a CPU request,
// since autoscalers measure CPU utilisation against it (and KEDA refuses a CPU trigger on a
// container without one). A spec without one gets its CPU limit, as Kubernetes would give a pod,
// or else v1alpha1.DefaultCPURequest.
func resources(fn v1alpha1.FunctionSpec) corev1.ResourceRequirements {
	out := *fn.Resources.DeepCopy()
	if _, ok := out.Requests[corev1.ResourceCPU]; ok {
		return out
	}
	cpu, ok := out.Limits[corev1.ResourceCPU]
	if !ok {
		cpu = resource.MustParse(v1alpha1.DefaultCPURequest)
	}
	if out.Requests == nil {
		out.Requests = corev1.ResourceList{}
	}
	out.Requests[corev1.ResourceCPU] = cpu
	return out
}

// imagePullSecrets returns the pull secrets of the function images: the pipeline's, or else the
// operator's.
func (p Params) imagePullSecrets() []corev1.LocalObjectReference {
	secrets := p.Pipeline.Spec.ImagePullSecrets
	if len(secrets) == 0 {
		secrets = p.ImagePullSecrets
	}
	if len(secrets) == 0 {
		return nil
	}
	return append([]corev1.LocalObjectReference(nil), secrets...)
}

// Deployments returns the Deployments of ingest, clean, popularity scoring and popularity
// serving, in Roles order.
//
// Spec.Replicas is set only when the operator owns the replica count: 0 when the pipeline is
// suspended, replicas.min when there is no autoscaler. With an autoscaler it is nil: the apply
// path then leaves the count to the autoscaler, and when the operator owned it before, as after
// a suspension, the API server resets it to its default of one for the autoscaler to take over.
func Deployments(p Params) []*appsv1.Deployment {
	out := make([]*appsv1.Deployment, 0, len(contract.Functions()))
	for _, r := range contract.Functions() {
		out = append(out, deployment(p, r))
	}
	return out
}

func deployment(p Params, r Role) *appsv1.Deployment {
	pl := p.Pipeline
	fn := p.function(r)
	port := containerPort(r)
	labels := Labels(pl.Name, string(r))
	kafkaVolumes, kafkaMounts := kafkaClientVolumes(p, r)
	environment := mergeEnv(env(p, r), fn.Env)

	lo, _ := p.replicaRange(r)
	var replicas *int32
	switch {
	case pl.Spec.Suspend:
		replicas = ptr.To[int32](0)
	case p.Autoscaler == AutoscalerNone:
		replicas = ptr.To(lo)
	}

	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: p.objectMeta(r),
		Spec: appsv1.DeploymentSpec{
			Replicas:        replicas,
			MinReadySeconds: int32(drainDelay(r) / time.Second),
			Selector:        &metav1.LabelSelector{MatchLabels: SelectorLabels(pl.Name, r)},
			// A rollout starts each new pod before it stops an old one, so capacity never drops.
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromString("25%")),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: labels,
					Annotations: map[string]string{
						"prometheus.io/scrape": "true",
						"prometheus.io/port":   strconv.Itoa(int(port)),
						"prometheus.io/path":   MetricsPath,
					},
				},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken:  ptr.To(false),
					ImagePullSecrets:              p.imagePullSecrets(),
					TerminationGracePeriodSeconds: ptr.To(terminationGracePeriod(r, environment)),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](RunAsUser),
						RunAsGroup:     ptr.To[int64](RunAsUser),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:      string(r),
						Image:     p.image(r),
						Ports:     []corev1.ContainerPort{{Name: PortName, ContainerPort: port, Protocol: corev1.ProtocolTCP}},
						Env:       environment,
						Resources: resources(fn),
						Lifecycle: lifecycle(r),
						LivenessProbe: &corev1.Probe{
							ProbeHandler:     httpGet(LivenessPath),
							PeriodSeconds:    10,
							TimeoutSeconds:   2,
							SuccessThreshold: 1,
							FailureThreshold: 3,
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:     httpGet(ReadinessPath),
							PeriodSeconds:    5,
							TimeoutSeconds:   2,
							SuccessThreshold: 1,
							FailureThreshold: 2,
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							RunAsNonRoot:             ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						VolumeMounts: append([]corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}, kafkaMounts...),
					}},
					Volumes: append([]corev1.Volume{{
						Name:         "tmp",
						VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
					}}, kafkaVolumes...),
				},
			},
		},
	}
}

// containerPort returns the port a function serves its API, health and metrics on.
func containerPort(r Role) int32 {
	if r == contract.FunctionPopularity || r == contract.FunctionPopularityServing {
		return PopularityPort
	}
	if r == contract.FunctionClean {
		return CleanPort
	}
	return IngestPort
}

func httpGet(path string) corev1.ProbeHandler {
	return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path:   path,
		Port:   intstr.FromString(PortName),
		Scheme: corev1.URISchemeHTTP,
	}}
}

// env returns the environment the operator derives from the pipeline: where Kafka and the topics
// are, the replica's identity, and the function's settings. A setting the pipeline leaves unset
// is left out, so the function's own default applies.
func env(p Params, r Role) []corev1.EnvVar {
	pl := p.Pipeline
	vars := []corev1.EnvVar{
		{Name: contract.EnvKafkaBrokers, Value: p.BootstrapServers()},
		{Name: contract.EnvTopicRaw, Value: TopicName(pl.Name, contract.TopicRaw)},
		{Name: contract.EnvTopicClean, Value: TopicName(pl.Name, contract.TopicClean)},
		{Name: contract.EnvTopicDeadLetter, Value: TopicName(pl.Name, contract.TopicDeadLetter)},
		{Name: contract.EnvTopicPopularity, Value: TopicName(pl.Name, contract.TopicPopularity)},
		{Name: contract.EnvHTTPAddr, Value: ":" + strconv.Itoa(int(containerPort(r)))},
		{Name: contract.EnvInstanceID, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
		}},
	}
	vars = append(vars, kafkaClientEnv(p, r)...)
	add := func(name, value string) {
		if value != "" {
			vars = append(vars, corev1.EnvVar{Name: name, Value: value})
		}
	}
	switch r {
	case contract.FunctionIngest:
		s := pl.Spec.Ingest
		if s.MaxBodyBytes != nil {
			add(contract.EnvIngestMaxBodyBytes, strconv.FormatInt(*s.MaxBodyBytes, 10))
		}
		if s.AuthSecretRef != nil {
			vars = append(vars, corev1.EnvVar{
				Name:      contract.EnvIngestAuthToken,
				ValueFrom: &corev1.EnvVarSource{SecretKeyRef: s.AuthSecretRef.DeepCopy()},
			})
		}
	case contract.FunctionClean:
		s := pl.Spec.Clean
		add(contract.EnvConsumerGroup, ConsumerGroup(pl.Name, r))
		add(contract.EnvCleanDedupeWindow, string(s.DedupeWindow))
		add(contract.EnvCleanMaxEventAge, string(s.MaxEventAge))
	case contract.FunctionPopularity, contract.FunctionPopularityServing:
		// Both tiers decay scores with one half-life; only scoring joins the group, weighs events
		// and flushes; only serving answers top-N queries.
		s := pl.Spec.Popularity
		add(contract.EnvPopularityMode, popularityMode(r))
		if r == contract.FunctionPopularity {
			add(contract.EnvConsumerGroup, ConsumerGroup(pl.Name, r))
		}
		add(contract.EnvPopularityHalfLife, string(s.HalfLife))
		if r == contract.FunctionPopularity {
			add(contract.EnvPopularityWeights, weights(s.Weights))
			add(contract.EnvPopularityFlushInterval, string(s.FlushInterval))
		}
		if s.TopN != nil && r == contract.FunctionPopularityServing {
			add(contract.EnvPopularityTopNMax, strconv.Itoa(int(*s.TopN)))
		}
	}
	return vars
}

// weights formats the pipeline's weights the way popularity reads them: action=weight pairs, in
// contract.Actions order.
func weights(w map[string]v1alpha1.Weight) string {
	var pairs []string
	for _, a := range contract.Actions {
		if v, ok := w[string(a)]; ok {
			pairs = append(pairs, string(a)+"="+string(v))
		}
	}
	return strings.Join(pairs, ",")
}

// mergeEnv returns the operator's variables with the user's extra ones: a user variable with the
// name of an operator variable replaces it in place, and the rest follow in the user's order.
func mergeEnv(operator, extra []corev1.EnvVar) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(operator)+len(extra))
	out = append(out, operator...)
	index := make(map[string]int, len(out))
	for i, v := range out {
		index[v.Name] = i
	}
	for _, v := range extra {
		if i, ok := index[v.Name]; ok {
			out[i] = *v.DeepCopy()
			continue
		}
		index[v.Name] = len(out)
		out = append(out, *v.DeepCopy())
	}
	return out
}
