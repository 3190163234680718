package hotness

import (
	"math"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
)

// Merge returns the state of an item whose events were scored in parts, such as on two
// partitions of a topic whose partition count grew: scores and counts add up, the category is
// the one of the last part (in the order given) that names one, as an item's category is the
// last one applied, and the update time is the latest. Scores are brought to the latest
// ScoreTime of the parts before they are added. Merge of one state is that state.
func Merge(halfLife time.Duration, parts ...ItemState) ItemState {
	if len(parts) == 1 {
		return parts[0]
	}
	var out ItemState
	for _, p := range parts {
		out.ItemID = p.ItemID
		if p.ScoreTime.After(out.ScoreTime) {
			out.ScoreTime = p.ScoreTime
		}
		if p.UpdatedAt.After(out.UpdatedAt) {
			out.UpdatedAt = p.UpdatedAt
		}
		if p.Category != "" {
			out.Category = p.Category
		}
	}
	for _, p := range parts {
		// Both instants are whole half-lives from the epoch, so the shift is a power of two.
		shift := -float64(out.ScoreTime.Sub(p.ScoreTime)) / float64(halfLife)
		out.Score += p.Score * math.Exp2(shift)
		for a, n := range p.Counts {
			if out.Counts == nil {
				out.Counts = map[contract.Action]int64{}
			}
			out.Counts[a] += n
		}
		for s, v := range p.Segments {
			if out.Segments == nil {
				out.Segments = map[string]float64{}
			}
			out.Segments[s] += v * math.Exp2(shift)
		}
	}
	return out
}
