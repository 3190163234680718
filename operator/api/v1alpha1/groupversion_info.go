// Package v1alpha1 contains the recoflow.dev/v1alpha1 API: the RecommendationPipeline a platform
// team declares, from which the operator makes Kafka topics, function Deployments, Services and
// autoscalers.
//
// +kubebuilder:object:generate=true
// +groupName=recoflow.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "recoflow.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this API's types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
