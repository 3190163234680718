package manifests

import (
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/event"
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
	LivenessPath  = "/healthz"
	ReadinessPath = "/readyz"
	MetricsPath   = "/metrics"
)

// RunAsUser is the non-root user and group the function containers run as (distroless nonroot).
const RunAsUser = 65532

// terminationGracePeriod gives a function its whole graceful shutdown, finishing in-flight
// requests and committing offsets, with room to spare before the kubelet kills it.
func terminationGracePeriod() int64 {
	return int64((config.DefaultCommon().ShutdownTimeout + 10*time.Second) / time.Second)
}

// AnnotationScalesToZero marks a Deployment whose autoscaler may scale it to zero when it is idle,
// and wakes it: a live count of zero is then the autoscaler's, not left over from a suspension.
const AnnotationScalesToZero = "recoflow.dev/scales-to-zero"

// Deployments returns the Deployments of ingest, clean, popularity scoring and popularity
// serving, in Roles order.
//
// Spec.Replicas is set only when the operator owns the replica count: 0 when the pipeline is
// suspended, replicas.min when there is no autoscaler. With an autoscaler it is nil, and the
// apply path keeps the live count the autoscaler chose (see Replicas).
func Deployments(p Params) []*appsv1.Deployment {
	out := make([]*appsv1.Deployment, 0, len(Roles()))
	for _, r := range Roles() {
		out = append(out, deployment(p, r))
	}
	return out
}

// Replicas returns the replica count the apply path writes to a function's live Deployment,
// given the builder's desired Deployment and the live count. A desired count wins. Without one an
// autoscaler owns the count, so the live count stays, unless it is zero where the autoscaler never
// scales to zero, as after a suspension: an HPA never scales up from zero, so the count restarts
// at one and the autoscaler takes over. Zero stays on a Deployment marked AnnotationScalesToZero.
func Replicas(desired *appsv1.Deployment, live *int32) *int32 {
	switch {
	case desired.Spec.Replicas != nil:
		return ptr.To(*desired.Spec.Replicas)
	case live != nil && *live == 0 && desired.Annotations[AnnotationScalesToZero] == "true":
		return ptr.To[int32](0)
	case live == nil || *live == 0:
		return ptr.To[int32](1)
	default:
		return ptr.To(*live)
	}
}

func deployment(p Params, r Role) *appsv1.Deployment {
	pl := p.Pipeline
	fn := p.function(r)
	port := containerPort(r)
	labels := Labels(pl.Name, string(r))

	lo, _ := p.replicaRange(r)
	var replicas *int32
	switch {
	case pl.Spec.Suspend:
		replicas = ptr.To[int32](0)
	case p.Autoscaler == AutoscalerNone:
		replicas = ptr.To(lo)
	}
	meta := p.objectMeta(r)
	if lo == 0 {
		meta.Annotations = map[string]string{AnnotationScalesToZero: "true"}
	}

	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas,
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(pl.Name, r)},
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
					TerminationGracePeriodSeconds: ptr.To(terminationGracePeriod()),
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
						Env:       mergeEnv(env(p, r), fn.Env),
						Resources: *fn.Resources.DeepCopy(),
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
						VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
					}},
					Volumes: []corev1.Volume{{
						Name:         "tmp",
						VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
					}},
				},
			},
		},
	}
}

// containerPort returns the port a function serves its API, health and metrics on.
func containerPort(r Role) int32 {
	if r == RolePopularity || r == RoleServing {
		return PopularityPort
	}
	if r == RoleClean {
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
		{Name: config.EnvKafkaBrokers, Value: BootstrapServers(pl)},
		{Name: config.EnvTopicRaw, Value: TopicName(pl.Name, event.TopicRaw)},
		{Name: config.EnvTopicClean, Value: TopicName(pl.Name, event.TopicClean)},
		{Name: config.EnvTopicDeadLetter, Value: TopicName(pl.Name, event.TopicDeadLetter)},
		{Name: config.EnvTopicPopularity, Value: TopicName(pl.Name, event.TopicPopularity)},
		{Name: config.EnvHTTPAddr, Value: ":" + strconv.Itoa(int(containerPort(r)))},
		{Name: config.EnvInstanceID, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
		}},
	}
	add := func(name, value string) {
		if value != "" {
			vars = append(vars, corev1.EnvVar{Name: name, Value: value})
		}
	}
	switch r {
	case RoleIngest:
		s := pl.Spec.Ingest
		if s.MaxBodyBytes != nil {
			add(config.EnvIngestMaxBodyBytes, strconv.FormatInt(*s.MaxBodyBytes, 10))
		}
		if s.AuthSecretRef != nil {
			vars = append(vars, corev1.EnvVar{
				Name:      config.EnvIngestAuthToken,
				ValueFrom: &corev1.EnvVarSource{SecretKeyRef: s.AuthSecretRef.DeepCopy()},
			})
		}
	case RoleClean:
		s := pl.Spec.Clean
		add(config.EnvConsumerGroup, ConsumerGroup(pl.Name, r))
		add(config.EnvCleanDedupeWindow, string(s.DedupeWindow))
		add(config.EnvCleanMaxEventAge, string(s.MaxEventAge))
	case RolePopularity, RoleServing:
		// Both tiers decay scores with one half-life; only scoring joins the group, weighs events
		// and flushes; only serving answers top-N queries.
		s := pl.Spec.Popularity
		add(config.EnvPopularityMode, popularityMode(r))
		if r == RolePopularity {
			add(config.EnvConsumerGroup, ConsumerGroup(pl.Name, r))
		}
		add(config.EnvPopularityHalfLife, string(s.HalfLife))
		if r == RolePopularity {
			add(config.EnvPopularityWeights, weights(s.Weights))
			add(config.EnvPopularityFlushInterval, string(s.FlushInterval))
		}
		if s.TopN != nil && r == RoleServing {
			add(config.EnvPopularityTopNMax, strconv.Itoa(int(*s.TopN)))
		}
	}
	return vars
}

// weights formats the pipeline's weights the way popularity reads them: action=weight pairs, in
// event.Actions order.
func weights(w map[string]v1alpha1.Weight) string {
	var pairs []string
	for _, a := range event.Actions {
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
