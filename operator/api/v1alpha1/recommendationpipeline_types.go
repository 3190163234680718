package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RecommendationPipelineSpec is the pipeline a platform team declares: the Kafka cluster it runs
// on, its topics, its three functions and how they scale.
// +kubebuilder:validation:XValidation:rule="!has(self.clean) || !has(self.clean.replicas) || !has(self.clean.replicas.min) || self.clean.replicas.min >= 1 || (has(self.scaling) && has(self.scaling.mode) && self.scaling.mode == 'KEDA')",message="clean.replicas.min: 0 needs scaling.mode: KEDA: only KEDA wakes a consumer scaled to zero when records arrive on its topic",fieldPath=.clean.replicas.min
// +kubebuilder:validation:XValidation:rule="!has(self.popularity) || !has(self.popularity.replicas) || !has(self.popularity.replicas.min) || self.popularity.replicas.min >= 1 || (has(self.scaling) && has(self.scaling.mode) && self.scaling.mode == 'KEDA')",message="popularity.replicas.min: 0 needs scaling.mode: KEDA: only KEDA wakes a consumer scaled to zero when records arrive on its topic",fieldPath=.popularity.replicas.min
type RecommendationPipelineSpec struct {
	// kafka names the Strimzi Kafka cluster the pipeline's topics live on.
	// +required
	Kafka KafkaSpec `json:"kafka"`

	// topics sizes the pipeline's four Kafka topics: raw, clean, dead-letter and popularity.
	// +optional
	// +kubebuilder:default={}
	Topics TopicsSpec `json:"topics,omitempty"`

	// ingest configures the function that accepts CloudEvents over HTTP and writes them to the
	// raw topic.
	// +optional
	// +kubebuilder:default={}
	Ingest IngestSpec `json:"ingest,omitempty"`

	// clean configures the function that validates and de-duplicates raw events into the clean
	// topic and dead-letters the rest.
	// +optional
	// +kubebuilder:default={}
	Clean CleanSpec `json:"clean,omitempty"`

	// popularity configures the function that scores items from the clean topic (scoring) and
	// serves the top N over HTTP (serving).
	// +optional
	// +kubebuilder:default={}
	Popularity PopularitySpec `json:"popularity,omitempty"`

	// scaling chooses the autoscaler of the functions.
	// +optional
	// +kubebuilder:default={}
	Scaling ScalingSpec `json:"scaling,omitempty"`

	// imagePullSecrets name Secrets in the pipeline's namespace that hold the credentials of the
	// registry of the function images. When empty, the operator's --image-pull-secrets apply.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// deletionPolicy says what happens to the Kafka topics, and the data in them, when the
	// pipeline is deleted: Retain leaves them in place, Delete removes them with the pipeline.
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// suspend scales every function to zero replicas and keeps everything else, topics included.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// networkPolicy restricts the functions' network traffic to what they need.
	// +optional
	// +kubebuilder:default={}
	NetworkPolicy NetworkPolicySpec `json:"networkPolicy,omitempty"`
}

// KafkaSpec locates the Kafka cluster of a pipeline and says how the functions connect to it.
// +kubebuilder:validation:XValidation:rule="!(has(self.authentication) && self.authentication == 'tls' && has(self.tls) && has(self.tls.enabled) && !self.tls.enabled)",message="authentication tls is mutual TLS: tls.enabled cannot be false"
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || !has(self.tls.caSecretRef) || (has(self.tls.enabled) ? self.tls.enabled : (has(self.authentication) && self.authentication != 'none'))",message="tls.caSecretRef is only used with TLS: set tls.enabled to true or choose an authentication"
type KafkaSpec struct {
	// clusterRef names a Strimzi Kafka in the pipeline's namespace. Its name becomes the
	// strimzi.io/cluster label of every topic.
	// +required
	ClusterRef ClusterReference `json:"clusterRef"`

	// bootstrapServers are the host:port pairs the functions and KEDA connect to,
	// comma-separated. When empty, the Strimzi convention <cluster>-kafka-bootstrap in the
	// pipeline's namespace, on the port of Strimzi's listener conventions: 9092 (plain) without
	// TLS, 9093 (tls) with it. A host name without a dot is a Service in the pipeline's
	// namespace and is completed to <host>.<namespace>.svc.<cluster domain>, so that KEDA,
	// which runs in its own namespace, reaches it too.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	BootstrapServers string `json:"bootstrapServers,omitempty"`

	// authentication is how each function proves its identity to Kafka: none, scram-sha-512 or
	// tls (mutual TLS). With scram-sha-512 or tls, every function gets its own Strimzi KafkaUser,
	// <pipeline>-<function>, whose simple-authorization ACLs allow exactly what the function does,
	// and its pods mount the Secret the User Operator writes for it.
	// +optional
	// +kubebuilder:default=none
	Authentication KafkaAuthentication `json:"authentication,omitempty"`

	// tls encrypts the connections to Kafka and verifies the brokers' certificates. It is on by
	// default whenever authentication is, with Strimzi's cluster CA.
	// +optional
	TLS *KafkaTLS `json:"tls,omitempty"`
}

// ClusterReference names a Strimzi Kafka cluster in the same namespace.
type ClusterReference struct {
	// name is the name of the Kafka resource.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// TopicsSpec sizes the pipeline's Kafka topics.
// +kubebuilder:validation:XValidation:rule="!has(self.minInSyncReplicas) || !has(self.replicas) || self.minInSyncReplicas <= self.replicas",message="minInSyncReplicas cannot exceed replicas: no write could ever be acknowledged"
type TopicsSpec struct {
	// partitions is the partition count of every topic. It bounds how far the clean and popularity
	// functions can scale out, and it can grow but never shrink.
	// +optional
	// +kubebuilder:default=6
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +kubebuilder:validation:XValidation:rule="self >= oldSelf",message="partitions cannot decrease: Kafka cannot remove partitions from a topic"
	Partitions int32 `json:"partitions,omitempty"`

	// replicas is how many brokers hold a copy of each partition. When unset, 3, or the number of
	// brokers of the Kafka cluster when it has fewer (read from its KafkaNodePools), so that a
	// single-broker development cluster works unchanged.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=32767
	Replicas int32 `json:"replicas,omitempty"`

	// retention is how long the raw and clean topics keep events, as a duration such as 168h.
	// +optional
	// +kubebuilder:default="168h"
	Retention Duration `json:"retention,omitempty"`

	// deadLetterRetention is how long the dead-letter topic keeps rejected events.
	// +optional
	// +kubebuilder:default="336h"
	DeadLetterRetention Duration `json:"deadLetterRetention,omitempty"`

	// minInSyncReplicas is how many copies must have a write before Kafka acknowledges it to
	// ingest, which produces with acks=all. When unset, one less than replicas, at most 2 and at
	// least 1: with 3 replicas an acknowledged write survives the loss of a broker, and one
	// broker may be down without stopping writes.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MinInSyncReplicas *int32 `json:"minInSyncReplicas,omitempty"`
}

// FunctionSpec is what every function has: its image, replica range, resources and extra
// environment.
type FunctionSpec struct {
	// image is the container image of the function. When empty, the operator's default image for
	// the function is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// replicas is the range the function scales within. Consumer functions never run more
	// replicas than the topic has partitions. Consumer functions (clean, popularity scoring) may
	// set min to 0 when scaling.mode is KEDA: they then scale to zero when they have no lag and
	// wake on the first record.
	// +optional
	// +kubebuilder:default={min:1,max:10}
	Replicas ReplicaRange `json:"replicas,omitempty"`

	// resources are the compute requests and limits of the function's container. The CPU request
	// is what the autoscalers' utilisation target is measured against: when it is left out, the
	// operator sets it to the CPU limit, or else to 100m.
	// +optional
	// +kubebuilder:default={requests:{cpu:"100m",memory:"128Mi"}}
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// env are extra environment variables of the function's container, set after (and so
	// overriding) the ones the operator derives from this spec.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Env []corev1.EnvVar `json:"env,omitempty"`
}

// ReplicaRange is the least and most replicas a function runs.
// +kubebuilder:validation:XValidation:rule="self.min <= self.max",message="replicas.min cannot exceed replicas.max"
type ReplicaRange struct {
	// min is the fewest replicas the function runs, and the count it runs without an autoscaler.
	// Only consumer functions scaled by KEDA may set 0 (scale to zero when idle); without an
	// autoscaler they still run one.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	Min *int32 `json:"min,omitempty"`

	// max is the most replicas an autoscaler may run.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Max int32 `json:"max,omitempty"`
}

// IngestSpec configures the ingest function.
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || !has(self.replicas.min) || self.replicas.min >= 1",message="ingest.replicas.min must be at least 1: ingest is the HTTP entry point, and scaling HTTP to zero needs a request buffer (such as the KEDA HTTP add-on) that holds requests while a pod starts",fieldPath=.replicas.min
type IngestSpec struct {
	FunctionSpec `json:",inline"`

	// maxBodyBytes is the largest request body ingest accepts. When unset, the function's
	// default (1 MiB) applies.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1073741824
	MaxBodyBytes *int64 `json:"maxBodyBytes,omitempty"`

	// authSecretRef selects a key of a Secret holding the bearer token every request must
	// present. When unset, ingest accepts requests without a token.
	// +optional
	// +kubebuilder:validation:XValidation:rule="has(self.name) && self.name != ''",message="authSecretRef.name must name a Secret"
	AuthSecretRef *corev1.SecretKeySelector `json:"authSecretRef,omitempty"`
}

// CleanSpec configures the clean function.
type CleanSpec struct {
	FunctionSpec `json:",inline"`

	// dedupeWindow is how long a repeated (user, item, action) counts as a duplicate. When unset,
	// the function's default (10m) applies.
	// +optional
	DedupeWindow Duration `json:"dedupeWindow,omitempty"`

	// maxEventAge is the oldest event time clean accepts; older events are dead-lettered. When
	// unset, the function's default (168h) applies.
	// +optional
	MaxEventAge Duration `json:"maxEventAge,omitempty"`
}

// PopularitySpec configures the popularity function, which runs as two Deployments from one
// image: scoring, the consumer that turns the clean topic into scores (the inline image,
// replicas, resources and env), and serving, the HTTP API over the scores (serving).
type PopularitySpec struct {
	FunctionSpec `json:",inline"`

	// serving sizes the Deployment that answers top-N queries from the compacted popularity
	// topic. It scales on CPU, independently of the partition count, and uses popularity's
	// image and env.
	// +optional
	// +kubebuilder:default={}
	Serving ServingSpec `json:"serving,omitempty"`

	// halfLife is the time after which an event's contribution to an item's score has halved.
	// When unset, the function's default (6h) applies.
	// +optional
	HalfLife Duration `json:"halfLife,omitempty"`

	// weights are each action's contribution to an item's score, as decimal numbers, for example
	// {liked: "3", unliked: "-3"}. Actions left out keep the function's defaults. Rated events
	// have no weight: they count their rating minus 3.
	// +optional
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule="!('rated' in self)",message="rated has no weight: a rated event counts its rating minus 3"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k == 'rated' || k in ['liked', 'unliked', 'viewed', 'favorited', 'shared'])",message="weights can only be given for liked, unliked, viewed, favorited and shared"
	Weights map[string]Weight `json:"weights,omitempty"`

	// topN is the largest n a top-N query may ask for. When unset, the function's default (1000)
	// applies.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	TopN *int32 `json:"topN,omitempty"`

	// flushInterval is how often popularity commits its scores and consumer offsets in one
	// transaction. When unset, the function's default (1s) applies.
	// +optional
	FlushInterval Duration `json:"flushInterval,omitempty"`

	// freshnessObjective is the longest the 99th percentile of the time from an event's time
	// until popularity serves it may be. The operator measures that percentile over the last
	// minute, reports it in status.freshness and sets the FreshnessMet condition.
	// +optional
	// +kubebuilder:default="2s"
	FreshnessObjective Duration `json:"freshnessObjective,omitempty"`
}

// ScalingSpec chooses and tunes the functions' autoscaler.
type ScalingSpec struct {
	// mode is the autoscaler: Auto uses KEDA when its CRDs are installed and otherwise an HPA on
	// CPU; KEDA and HPA force one; None runs replicas.min of every function.
	// +optional
	// +kubebuilder:default=Auto
	Mode ScalingMode `json:"mode,omitempty"`

	// lagThreshold is the consumer lag per replica above which KEDA adds a replica of a consumer
	// function.
	// +optional
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=1
	LagThreshold int32 `json:"lagThreshold,omitempty"`

	// pollingInterval is how often KEDA checks each consumer's lag. It bounds how long the first
	// record waits before a consumer scaled to zero starts waking.
	// +optional
	// +kubebuilder:default="30s"
	PollingInterval Duration `json:"pollingInterval,omitempty"`

	// cooldownPeriod is how long a consumer with replicas.min 0 must have had no lag before KEDA
	// scales it to zero.
	// +optional
	// +kubebuilder:default="5m"
	CooldownPeriod Duration `json:"cooldownPeriod,omitempty"`
}

// ScalingMode names how the functions scale.
// +kubebuilder:validation:Enum=Auto;KEDA;HPA;None
type ScalingMode string

// The scaling modes.
const (
	// ScalingAuto uses KEDA when its CRDs are installed, otherwise an HPA on CPU.
	ScalingAuto ScalingMode = "Auto"
	// ScalingKEDA uses KEDA ScaledObjects: consumers on their lag, ingest on CPU.
	ScalingKEDA ScalingMode = "KEDA"
	// ScalingHPA uses autoscaling/v2 HorizontalPodAutoscalers on CPU.
	ScalingHPA ScalingMode = "HPA"
	// ScalingNone runs replicas.min of every function with no autoscaler.
	ScalingNone ScalingMode = "None"
)

// DeletionPolicy says what happens to a pipeline's Kafka topics when the pipeline is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

// The deletion policies.
const (
	// DeletionRetain leaves the Kafka topics, and their data, in place.
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete deletes the Kafka topics with the pipeline.
	DeletionDelete DeletionPolicy = "Delete"
)

// Duration is a positive duration written as Go parses it, such as 90s, 10m, 1h30m or 168h.
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="must be a positive duration such as 90s, 10m or 168h"
type Duration string

// Weight is a finite decimal number, such as 3, -3 or 0.5.
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="self.matches('^[-+]?[0-9]+([.][0-9]+)?$')",message="must be a finite decimal number such as 3, -3 or 0.5"
type Weight string

// RecommendationPipelineStatus is what the operator observed of the pipeline's children.
type RecommendationPipelineStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Ready, TopicsReady, FunctionsAvailable, ScalingReady and KafkaAccessReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// topics reports each KafkaTopic and whether Strimzi made it.
	// +optional
	// +listType=map
	// +listMapKey=name
	Topics []TopicStatus `json:"topics,omitempty"`

	// functions reports each function's Deployment: its replicas and whether it is active or
	// idle (scaled to zero).
	// +optional
	// +listType=map
	// +listMapKey=name
	Functions []FunctionStatus `json:"functions,omitempty"`

	// endpoints are the in-cluster URLs of the functions that serve HTTP.
	// +optional
	Endpoints Endpoints `json:"endpoints,omitempty"`

	// freshness is how fresh popularity's rankings were when last measured; unset while they
	// cannot be measured.
	// +optional
	Freshness *FreshnessStatus `json:"freshness,omitempty"`
}

// FreshnessStatus is the measured freshness of a pipeline's rankings.
type FreshnessStatus struct {
	// p99 is the 99th percentile, over the last minute, of the time from an event's time until
	// popularity served the item it changed, rounded up by at most 10%; such as 850ms.
	// +optional
	P99 string `json:"p99,omitempty"`

	// objective is the spec.popularity.freshnessObjective p99 was compared with.
	// +optional
	Objective Duration `json:"objective,omitempty"`
}

// TopicStatus reports one KafkaTopic.
type TopicStatus struct {
	// name is the name of the KafkaTopic resource.
	// +required
	Name string `json:"name"`

	// ready is whether Strimzi reports the topic Ready.
	// +optional
	Ready bool `json:"ready"`

	// message says why the topic is not ready, with Strimzi's reason and message when Strimzi
	// reports one, such as a replication factor the cluster's brokers cannot satisfy.
	// +optional
	Message string `json:"message,omitempty"`
}

// FunctionStatus reports one function's Deployment.
type FunctionStatus struct {
	// name is the name of the Deployment.
	// +required
	Name string `json:"name"`

	// desiredReplicas is the replica count the Deployment asks for.
	// +optional
	DesiredReplicas int32 `json:"desiredReplicas"`

	// readyReplicas is how many of them are ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// replicas is how many pods the Deployment runs now, ready or not.
	// +optional
	Replicas int32 `json:"replicas"`

	// state is Active when the function runs at least one replica, Idle when its autoscaler
	// scaled it to zero because it had nothing to do, and Suspended when spec.suspend stopped it.
	// +optional
	State FunctionState `json:"state,omitempty"`
}

// Endpoints are in-cluster URLs of a pipeline's HTTP functions.
type Endpoints struct {
	// ingest is where clients send CloudEvents.
	// +optional
	Ingest string `json:"ingest,omitempty"`

	// popularity is where clients read the top N: the serving tier of popularity.
	// +optional
	Popularity string `json:"popularity,omitempty"`
}

// RecommendationPipeline turns user interactions into item popularity: ingest, clean and
// popularity functions connected by Strimzi Kafka topics, scaled by KEDA or an HPA.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rp,categories=recoflow
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Partitions",type=integer,JSONPath=`.spec.topics.partitions`
// +kubebuilder:printcolumn:name="Fresh",type=string,JSONPath=`.status.conditions[?(@.type=="FreshnessMet")].status`
// +kubebuilder:printcolumn:name="P99",type=string,JSONPath=`.status.freshness.p99`
// +kubebuilder:printcolumn:name="Ingest URL",type=string,JSONPath=`.status.endpoints.ingest`
// +kubebuilder:printcolumn:name="Replicas",type=string,JSONPath=`.status.functions[*].replicas`,priority=1
// +kubebuilder:printcolumn:name="States",type=string,JSONPath=`.status.functions[*].state`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$')",message="metadata.name must be a DNS label of at most 40 characters, so that <name>-popularity is a valid Service name"
type RecommendationPipeline struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the pipeline the user declares.
	// +required
	Spec RecommendationPipelineSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status RecommendationPipelineStatus `json:"status,omitempty"`
}

// RecommendationPipelineList is a list of RecommendationPipelines.
//
// +kubebuilder:object:root=true
type RecommendationPipelineList struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the pipelines.
	// +required
	Items []RecommendationPipeline `json:"items"`
}

func init() {
	SchemeBuilder.Register(&RecommendationPipeline{}, &RecommendationPipelineList{})
}
