package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
)

// ServingSpec sizes popularity's serving tier: the replicas that answer top-N queries from the
// compacted popularity topic. Each replica holds every item, so the tier scales with read load,
// not with the partition count.
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || !has(self.replicas.min) || self.replicas.min >= 1",message="popularity.serving.replicas.min must be at least 1: serving answers HTTP reads, and scaling HTTP to zero needs a request buffer (such as the KEDA HTTP add-on) that holds requests while a pod starts",fieldPath=.replicas.min
type ServingSpec struct {
	// replicas is the range the serving tier scales within on CPU. min is at least 1; max is not
	// bounded by the partition count.
	// +optional
	// +kubebuilder:default={min:1,max:10}
	Replicas ReplicaRange `json:"replicas,omitempty"`

	// resources are the compute requests and limits of a serving container. Each replica keeps
	// every item in memory; the CPU request is what CPU scaling is measured against.
	// +optional
	// +kubebuilder:default={requests:{cpu:"100m",memory:"128Mi"}}
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
}

// FunctionState says whether a function is running.
// +kubebuilder:validation:Enum=Active;Idle;Suspended
type FunctionState string

// The states of a function.
const (
	// FunctionActive says the function runs at least one replica.
	FunctionActive FunctionState = "Active"
	// FunctionIdle says its autoscaler scaled the function to zero: it had no lag, and the first
	// record on its topic wakes it.
	FunctionIdle FunctionState = "Idle"
	// FunctionSuspended says spec.suspend scaled the function to zero.
	FunctionSuspended FunctionState = "Suspended"
)
