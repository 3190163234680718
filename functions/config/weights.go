package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/recoflow/recoflow/functions/contract"
)

// Weights is each action's contribution to an item's score. Rated events are not in it: they
// weigh rating - 3, so one and two stars count against an item.
type Weights map[contract.Action]float64

// DefaultWeights returns the default weights: liked 3, unliked -3, viewed 1, favorited 5, shared 4.
func DefaultWeights() Weights {
	return Weights{
		contract.ActionLiked:     3,
		contract.ActionUnliked:   -3,
		contract.ActionViewed:    1,
		contract.ActionFavorited: 5,
		contract.ActionShared:    4,
	}
}

// String formats w as action=weight pairs in a stable order, the form Set reads.
func (w Weights) String() string {
	parts := make([]string, 0, len(w))
	for _, a := range contract.Actions {
		if v, ok := w[a]; ok {
			parts = append(parts, string(a)+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}

// Set reads comma-separated action=weight pairs over the current weights, so a value that names
// one action keeps the others' defaults.
func (w *Weights) Set(value string) error {
	merged := Weights{}
	for a, v := range *w {
		merged[a] = v
	}
	for _, pair := range strings.Split(value, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, number, ok := strings.Cut(pair, "=")
		if !ok {
			return fmt.Errorf("weight %q is not action=number", pair)
		}
		action := contract.Action(strings.TrimSpace(name))
		if !action.Valid() || action == contract.ActionRated {
			return fmt.Errorf("weight for %q: action must be one of %s (rated weighs rating-3)", name, weightedActions())
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(number), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("weight for %s: %q is not a finite number", action, number)
		}
		merged[action] = v
	}
	*w = merged
	return nil
}

func weightedActions() string {
	names := []string{}
	for _, a := range contract.Actions {
		if a != contract.ActionRated {
			names = append(names, string(a))
		}
	}
	return strings.Join(slices.Clip(names), ", ")
}
