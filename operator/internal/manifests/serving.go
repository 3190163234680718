package manifests

import (
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// Popularity runs as two Deployments of one image, told apart by contract.EnvPopularityMode:
// scoring (RolePopularity) consumes the clean topic, scales on its lag within the partition
// count and may scale to zero; serving (RoleServing) follows the compacted popularity topic,
// answers the top-N API behind the popularity Service, and scales on CPU from at least one replica
// whatever the partition count.

// Consumes reports whether the role is a Kafka consumer in a consumer group: clean and popularity
// scoring. A consumer never runs more replicas than partitions, scales on lag and may scale to
// zero.
func (r Role) Consumes() bool { return r == RoleClean || r == RolePopularity }

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
	case RolePopularity:
		return contract.PopularityModeScoring
	case RoleServing:
		return contract.PopularityModeServing
	}
	return ""
}

// readsFrom returns the role whose pods a role's Service sends requests to: popularity's Service
// is the read endpoint, served by the serving tier.
func readsFrom(r Role) Role {
	if r == RolePopularity {
		return RoleServing
	}
	return r
}
