package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Defaults of the spec, the same values the +kubebuilder:default markers give the CRD (a test
// checks that the two agree).
const (
	DefaultPartitions int32 = 6
	// DefaultTopicReplicas is the replicas of each partition when spec.topics.replicas is unset;
	// the operator uses fewer on a Kafka cluster with fewer brokers.
	DefaultTopicReplicas        int32          = 3
	DefaultRetention            Duration       = "168h"
	DefaultDeadLetterRetention  Duration       = "336h"
	DefaultMinReplicas          int32          = 1
	DefaultMaxReplicas          int32          = 10
	DefaultCPURequest                          = "100m"
	DefaultMemoryRequest                       = "128Mi"
	DefaultScalingMode          ScalingMode    = ScalingAuto
	DefaultLagThreshold         int32          = 100
	DefaultPollingInterval      Duration       = "30s"
	DefaultCooldownPeriod       Duration       = "5m"
	DefaultDeletionPolicy       DeletionPolicy = DeletionRetain
	DefaultFreshnessObjective   Duration       = "2s"
	DefaultKafkaAuthentication                 = KafkaAuthenticationNone
	DefaultCAKey                               = "ca.crt"
	DefaultNetworkPolicyEnabled                = true
)

// Default fills every unset field that has a default with that default, as the API server does
// when it admits the object. Code that works without a cluster, such as the render command, calls
// it so that it sees the pipeline the controller would see.
//
// Like the API server, it treats a missing object as unset, with one difference a typed struct
// cannot avoid: an explicitly empty resources: {} is defaulted here but kept empty by the API
// server.
func (p *RecommendationPipeline) Default() {
	s := &p.Spec
	s.Topics.Default()
	s.Ingest.FunctionSpec.Default()
	s.Clean.FunctionSpec.Default()
	s.Popularity.FunctionSpec.Default()
	s.Popularity.Serving.Default()
	if s.Popularity.FreshnessObjective == "" {
		s.Popularity.FreshnessObjective = DefaultFreshnessObjective
	}
	if s.Scaling.Mode == "" {
		s.Scaling.Mode = DefaultScalingMode
	}
	if s.Scaling.LagThreshold == 0 {
		s.Scaling.LagThreshold = DefaultLagThreshold
	}
	if s.Scaling.PollingInterval == "" {
		s.Scaling.PollingInterval = DefaultPollingInterval
	}
	if s.Scaling.CooldownPeriod == "" {
		s.Scaling.CooldownPeriod = DefaultCooldownPeriod
	}
	if s.DeletionPolicy == "" {
		s.DeletionPolicy = DefaultDeletionPolicy
	}
	if s.Kafka.Authentication == "" {
		s.Kafka.Authentication = DefaultKafkaAuthentication
	}
	if s.Kafka.TLS != nil && s.Kafka.TLS.CASecretRef != nil && s.Kafka.TLS.CASecretRef.Key == "" {
		s.Kafka.TLS.CASecretRef.Key = DefaultCAKey
	}
	if s.NetworkPolicy.Enabled == nil {
		enabled := DefaultNetworkPolicyEnabled
		s.NetworkPolicy.Enabled = &enabled
	}
}

// Default fills the unset topic settings with their defaults.
func (t *TopicsSpec) Default() {
	if t.Partitions == 0 {
		t.Partitions = DefaultPartitions
	}
	if t.Retention == "" {
		t.Retention = DefaultRetention
	}
	if t.DeadLetterRetention == "" {
		t.DeadLetterRetention = DefaultDeadLetterRetention
	}
}

// Default fills the unset replica range, resources and environment fields with their defaults.
func (f *FunctionSpec) Default() {
	f.Replicas.Default()
	defaultResources(&f.Resources)
	// The core API's own defaults inside an environment variable's source.
	for i := range f.Env {
		if from := f.Env[i].ValueFrom; from != nil && from.FileKeyRef != nil && from.FileKeyRef.Optional == nil {
			optional := false
			from.FileKeyRef.Optional = &optional
		}
	}
}

// Default fills the unset serving replica range and resources with their defaults.
func (s *ServingSpec) Default() {
	s.Replicas.Default()
	defaultResources(&s.Resources)
}

// Default fills the unset bounds of the range with their defaults.
func (r *ReplicaRange) Default() {
	if r.Min == nil {
		lo := DefaultMinReplicas
		r.Min = &lo
	}
	if r.Max == 0 {
		r.Max = DefaultMaxReplicas
	}
}

// defaultResources gives resources that set nothing the default requests.
func defaultResources(r *corev1.ResourceRequirements) {
	if r.Limits == nil && r.Requests == nil && r.Claims == nil {
		r.Requests = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(DefaultCPURequest),
			corev1.ResourceMemory: resource.MustParse(DefaultMemoryRequest),
		}
	}
}
