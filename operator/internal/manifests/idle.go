package manifests

import (
	"math"
	"time"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// ActivationLagThreshold is the total lag above which KEDA wakes a consumer scaled to zero: with
// 0, the first record on the topic wakes it. KEDA counts it over every partition, including one
// the group has never committed on (offsetResetPolicy earliest: the partition's whole length), so
// a consumer is idle only when it has read everything there is.
//
// excludePersistentLag stays off: KEDA leaves a stuck partition's lag out of the replica count
// but not out of activation, so it would not let a stuck consumer go idle either, and it hides
// real lag from scaling. scaleToZeroOnInvalidOffset only applies to offsetResetPolicy latest.
const ActivationLagThreshold = 0

// kedaTiming returns the pipeline's KEDA pollingInterval and cooldownPeriod in whole seconds,
// rounded up, at least one.
func kedaTiming(p *v1alpha1.RecommendationPipeline) (polling, cooldown int64) {
	s := p.Spec.Scaling
	return seconds(s.PollingInterval, v1alpha1.DefaultPollingInterval),
		seconds(s.CooldownPeriod, v1alpha1.DefaultCooldownPeriod)
}

// seconds returns d, or else def, in whole seconds rounded up, at least one. The CRD admits only
// durations Go parses.
func seconds(d, def v1alpha1.Duration) int64 {
	v, err := time.ParseDuration(string(d))
	if err != nil || v <= 0 {
		v, _ = time.ParseDuration(string(def))
	}
	return max(1, int64(math.Ceil(v.Seconds())))
}
