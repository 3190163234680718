// Package hotness scores items by time-decayed user interactions and ranks them, overall, per
// category and per audience segment.
//
// Every interaction adds its action's weight to the item's score, and every score halves each
// half-life:
//
//	score(t) = sum over events of w(action) * 2^(-(t - t_event)/halfLife)
//
// Decay multiplies every score by the same factor at one instant, so it never changes the
// order of items: only new interactions do. A Board therefore keeps each score in one fixed
// reference frame, score * 2^((t - origin)/halfLife), updates it in O(1) without timers, and
// keeps each ranking in an indexed heap that changes only when an item's score does. A top-N read
// walks the top of the heap and never scans all items.
//
// The package has no Kafka or HTTP in it: the popularity function feeds it clean interactions,
// changelogs ItemState records and serves Top and Item.
package hotness

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
)

// Config sets how interactions weigh and how fast they fade.
type Config struct {
	// HalfLife is the time after which an interaction's contribution to a score has halved.
	HalfLife time.Duration
	// Weights is each action's contribution to a score. Rated interactions are not in it: they
	// weigh Rating - 3, so one and two stars count against an item. An action that is missing
	// weighs zero; it is still counted.
	Weights map[contract.Action]float64
}

// Validate reports whether c can configure a Board: a positive half-life and finite weights.
func (c Config) Validate() error {
	var errs []error
	if c.HalfLife <= 0 {
		errs = append(errs, fmt.Errorf("half-life %v is not positive", c.HalfLife))
	}
	for a, w := range c.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			errs = append(errs, fmt.Errorf("weight of %s is %v, not a finite number", a, w))
		}
	}
	return errors.Join(errs...)
}

// Interaction is one clean user interaction with an item, as the popularity function reads it
// from the clean topic.
type Interaction struct {
	// ItemID identifies the item; it is the CloudEvent subject.
	ItemID string
	// Category is the item's category, or empty when the event does not say. An item belongs to
	// the most recent non-empty category applied to it.
	Category string
	// Segment is the audience segment of the user, such as "25-34.f", or empty when unknown.
	Segment string
	// Action is what the user did.
	Action contract.Action
	// Rating is the number of stars of a rated interaction and is ignored for other actions.
	Rating int
	// Time is when the interaction happened (the CloudEvent time).
	Time time.Time
}

// Query selects a ranking and how much of it to read.
type Query struct {
	// N is the number of items to return at most.
	N int
	// Category restricts the ranking to the items currently in that category.
	Category string
	// Segment ranks by the score that interactions of that audience segment gave each item.
	// With Category also set, the result is the segment's ranking restricted to the category;
	// that read visits the segment's items in rank order until it finds N in the category, so
	// its cost grows as the category gets rarer within the segment.
	Segment string
}

// Entry is one item as a read sees it, and as the popularity HTTP API writes it in JSON.
type Entry struct {
	// ItemID identifies the item.
	ItemID string `json:"id"`
	// Category is the item's most recent non-empty category, or empty.
	Category string `json:"category,omitempty"`
	// Score is the score the read ranks by, decayed to the read instant: the item's overall score,
	// or its score within the queried segment.
	Score float64 `json:"score"`
	// Counts is the plain number of interactions per action, for every action.
	Counts map[contract.Action]int64 `json:"counts"`
	// UpdatedAt is the latest interaction time applied to the item.
	UpdatedAt time.Time `json:"updated_at"`
}

// ItemState is the whole state of one item, the form the popularity function changelogs (as the
// JSON payload of a contract.TypePopularity event): a Board that restores it continues exactly as
// the Board it came from.
//
// Its numbers survive JSON exactly: encoding/json writes times in RFC 3339 with nanoseconds and
// floats in their shortest round-tripping form. The changelog writes times in UTC.
type ItemState struct {
	// ItemID identifies the item; it is also the record key and the event subject.
	ItemID string `json:"item_id"`
	// Category is the item's most recent non-empty category, or empty.
	Category string `json:"category,omitempty"`
	// Score is the item's overall score as of ScoreTime.
	Score float64 `json:"score"`
	// ScoreTime is the instant Score and Segments are expressed at: the start of the half-life
	// period, counted from the Unix epoch, in which UpdatedAt falls. The score at any time t is
	// Score * 2^(-(t - ScoreTime)/HalfLife).
	ScoreTime time.Time `json:"score_time"`
	// Counts is the plain number of interactions per action; actions never applied are left out.
	Counts map[contract.Action]int64 `json:"counts"`
	// Segments is the item's score per audience segment as of ScoreTime.
	Segments map[string]float64 `json:"segments,omitempty"`
	// UpdatedAt is the latest interaction time applied to the item.
	UpdatedAt time.Time `json:"updated_at"`
}

// numActions is the number of actions a Board counts, one per contract.Actions entry.
const numActions = contract.NumActions

// actionIndex returns the position of a in contract.Actions.
func actionIndex(a contract.Action) (int, bool) { return a.Index() }
