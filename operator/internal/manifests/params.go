// Package manifests builds the Kubernetes objects a RecommendationPipeline is made of: Strimzi
// KafkaTopics, the functions' Deployments, Services and PodDisruptionBudgets, and KEDA
// ScaledObjects or HorizontalPodAutoscalers.
//
// Every builder is a pure function of Params: no client, no cluster, no clock. The controller
// applies what they return; the render command prints it.
package manifests

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// Version is the recoflow release whose function images the operator runs by default.
const Version = "0.1.0"

// DefaultRegistry is the registry of the released images.
const DefaultRegistry = "ghcr.io/recoflow"

// Params is everything the builders need.
type Params struct {
	// Pipeline is the pipeline to build, with its defaults applied (by the API server, or by
	// Default when there is no cluster).
	Pipeline *v1alpha1.RecommendationPipeline
	// Images are the operator's images of the functions, used where the pipeline names none.
	Images Images
	// Autoscaler is what scales the functions, resolved from spec.scaling.mode and what the
	// cluster has installed (see ResolveAutoscaler).
	Autoscaler Autoscaler
	// ClusterDomain is the DNS suffix of the cluster's Service names; empty means
	// DefaultClusterDomain.
	ClusterDomain string
	// ImagePullSecrets are the operator's pull secrets of the function images, used where the
	// pipeline names none. They name Secrets in the pipeline's namespace.
	ImagePullSecrets []corev1.LocalObjectReference
	// Brokers is how many brokers the pipeline's Kafka cluster has; 0 when unknown. Topics that
	// do not set their replicas get min(3, Brokers).
	Brokers int32
}

// Images are the default container image of each function.
type Images struct {
	Ingest, Clean, Popularity string
}

// DefaultImages returns the released images of this Version: ghcr.io/recoflow/recoflow-<role>:<version>.
func DefaultImages() Images {
	image := func(r Role) string { return DefaultRegistry + "/recoflow-" + string(r) + ":" + Version }
	return Images{Ingest: image(contract.FunctionIngest), Clean: image(contract.FunctionClean), Popularity: image(contract.FunctionPopularity)}
}

// For returns the image of a function.
func (i Images) For(r Role) string {
	switch r {
	case contract.FunctionIngest:
		return i.Ingest
	case contract.FunctionClean:
		return i.Clean
	default:
		return i.Popularity
	}
}

// image returns the function's image: the pipeline's, or else the operator's default.
func (p Params) image(r Role) string {
	if img := p.function(r).Image; img != "" {
		return img
	}
	return p.Images.For(r)
}

// objectMeta returns the name, namespace and labels of a function's Deployment, Service, PDB and
// autoscaler.
func (p Params) objectMeta(r Role) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      DeploymentName(p.Pipeline.Name, r),
		Namespace: p.Pipeline.Namespace,
		Labels:    Labels(p.Pipeline.Name, string(r)),
	}
}

// function returns the spec every function has.
func (p Params) function(r Role) v1alpha1.FunctionSpec {
	s := p.Pipeline.Spec
	switch r {
	case contract.FunctionIngest:
		return s.Ingest.FunctionSpec
	case contract.FunctionClean:
		return s.Clean.FunctionSpec
	case contract.FunctionPopularityServing:
		return servingFunction(s.Popularity)
	default:
		return s.Popularity.FunctionSpec
	}
}

// replicaRange returns the range a role scales within: its spec's, with consumers capped at the
// partition count, since a consumer group cannot use more members than partitions. Only KEDA
// wakes a function scaled to zero, so with any other autoscaler, or none, the least is one.
func (p Params) replicaRange(r Role) (lo, hi int32) {
	rr := p.function(r).Replicas
	lo, hi = ptr.Deref(rr.Min, v1alpha1.DefaultMinReplicas), rr.Max
	if r.Consumes() {
		parts := p.Pipeline.Spec.Topics.Partitions
		lo, hi = min(lo, parts), min(hi, parts)
	}
	if p.Autoscaler != AutoscalerKEDA {
		lo = max(lo, 1)
	}
	return lo, hi
}

// Autoscaler is what scales the functions of a pipeline.
type Autoscaler string

// The autoscalers.
const (
	// AutoscalerKEDA scales with KEDA ScaledObjects: consumers on their lag, ingest on CPU.
	AutoscalerKEDA Autoscaler = "keda"
	// AutoscalerHPA scales with autoscaling/v2 HorizontalPodAutoscalers on CPU.
	AutoscalerHPA Autoscaler = "hpa"
	// AutoscalerNone runs replicas.min of every function.
	AutoscalerNone Autoscaler = "none"
)

// ResolveAutoscaler returns the autoscaler of a scaling mode in a cluster that has, or lacks, the
// KEDA CRDs. Auto picks KEDA when it is installed and an HPA otherwise. The result is false when
// the mode asks for KEDA and it is not installed; the functions then run without an autoscaler
// and the pipeline should say so (ReasonKEDANotInstalled).
func ResolveAutoscaler(mode v1alpha1.ScalingMode, kedaInstalled bool) (Autoscaler, bool) {
	switch mode {
	case v1alpha1.ScalingKEDA:
		if !kedaInstalled {
			return AutoscalerNone, false
		}
		return AutoscalerKEDA, true
	case v1alpha1.ScalingHPA:
		return AutoscalerHPA, true
	case v1alpha1.ScalingNone:
		return AutoscalerNone, true
	default: // Auto
		if kedaInstalled {
			return AutoscalerKEDA, true
		}
		return AutoscalerHPA, true
	}
}

// ParseAutoscaler reads an autoscaler name: keda, hpa or none, in any case.
func ParseAutoscaler(s string) (Autoscaler, error) {
	switch a := Autoscaler(strings.ToLower(s)); a {
	case AutoscalerKEDA, AutoscalerHPA, AutoscalerNone:
		return a, nil
	}
	return "", fmt.Errorf("autoscaler %q: want keda, hpa or none", s)
}
