package manifests

import (
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// Popularity runs as two Deployments of one image, told apart by contract.EnvPopularityMode:
// scoring (contract.FunctionPopularity) consumes the clean topic, scales on its lag within the
// partition count and may scale to zero; serving (contract.FunctionPopularityServing) follows the
// compacted popularity topic, answers the top-N API behind the popularity Service, and scales on
// CPU from at least one replica whatever the partition count.

// servingFunction returns the serving tier as a function: popularity's image and env with the
// serving tier's own replicas and resources.
func servingFunction(s v1alpha1.PopularitySpec) v1alpha1.FunctionSpec {
	return v1alpha1.FunctionSpec{
		Image:     s.Image,
		Replicas:  s.Serving.Replicas,
		Resources: s.Serving.Resources,
		Env:       s.Env,
	}
}

// popularityMode returns the popularity mode a role's container runs in, or "" for the roles
// that are not popularity.
func popularityMode(r Role) string {
	switch r {
	case contract.FunctionPopularity:
		return contract.PopularityModeScoring
	case contract.FunctionPopularityServing:
		return contract.PopularityModeServing
	}
	return ""
}

// readsFrom returns the role whose pods a role's Service sends requests to: popularity's Service
// is the read endpoint, served by the serving tier.
func readsFrom(r Role) Role {
	if r == contract.FunctionPopularity {
		return contract.FunctionPopularityServing
	}
	return r
}
