// Package clean is the function between the raw and the clean topic: it checks each interaction
// against the event contract and the time rules, normalises it, attaches the audience segment
// and drops duplicates. Package kafka runs it over Kafka and sends what it rejects to the
// dead-letter topic.
package clean

import (
	"context"
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/dedupe"
	"github.com/recoflow/recoflow/functions/event"
)

// Kinds of duplicates, the values of the duplicates metric's kind label.
const (
	// DuplicateID is an event whose source and id were already seen: a retried delivery.
	DuplicateID = "id"
	// DuplicateInteraction repeats the latest state of the same user and item within the window:
	// a second like after a like, the same rating again, another view.
	DuplicateInteraction = "interaction"
)

// Function is the clean function. It is safe for concurrent use.
type Function struct {
	maxAge     time.Duration
	maxFuture  time.Duration
	window     time.Duration
	remembers  int // events the window holds: two keys each
	seen       *dedupe.Window
	now        func() time.Time
	duplicates *prometheus.CounterVec
}

// New returns the clean function with the time rules and de-duplication window of cfg. Its
// metrics are registered on reg.
//
// Each event records two keys in one window of cfg.DedupeMaxKeys keys, so the window remembers
// the last DedupeMaxKeys/2 events, at the memory per key the dedupe package documents.
func New(cfg config.Clean, reg prometheus.Registerer) *Function {
	f := &Function{
		maxAge:    cfg.MaxEventAge,
		maxFuture: cfg.MaxFutureSkew,
		window:    cfg.DedupeWindow,
		remembers: cfg.DedupeMaxKeys / 2,
		seen:      dedupe.New(cfg.DedupeWindow, cfg.DedupeMaxKeys),
		now:       time.Now,
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recoflow_clean_duplicates_total",
			Help: "Events dropped as duplicates, by kind: id (a retried event) or interaction (the same user, item and type within the window).",
		}, []string{"kind"}),
	}
	reg.MustRegister(f.duplicates)
	f.duplicates.WithLabelValues(DuplicateID)
	f.duplicates.WithLabelValues(DuplicateInteraction)
	return f
}

// Handle cleans one raw interaction event. It returns the normalised event, nil for a
// duplicate, or an *event.Error saying why the event is invalid. Handle owns e and normalises it
// in place (copies of an Event share their attributes).
//
// Duplicates are judged at the event's time: a repeat of an event's source and id, or a repeat of
// the latest state of its user and item (see interactionKey), less than the window away from
// the occurrence that set that state. A change of state, such as a like after an unlike, is never
// a duplicate. Repeats do not extend the window.
func (f *Function) Handle(_ context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	in, err := event.Validate(e)
	if err != nil {
		return nil, err
	}
	now := f.now()
	if err := event.CheckTime(e, now, f.maxAge, f.maxFuture); err != nil {
		return nil, err
	}
	if err := event.Normalise(&e, in, now); err != nil {
		return nil, fmt.Errorf("normalise event %s: %w", e.ID(), err)
	}
	if kind := f.duplicate(e, in); kind != "" {
		f.duplicates.WithLabelValues(kind).Inc()
		return nil, nil
	}
	return &e, nil
}

// duplicate reports the kind of duplicate e is, or "" when it is new. e is normalised; in is its
// payload before normalisation.
func (f *Function) duplicate(e cloudevents.Event, in event.Interaction) string {
	at := e.Time()
	if f.seen.Seen(idKey(e.Source(), e.ID()), at) {
		return DuplicateID
	}
	if key, state := interactionKey(e.Type(), in); f.seen.Repeats(key, state, at) {
		return DuplicateInteraction
	}
	return ""
}

// idKey is the de-duplication key of an event's identity: CloudEvents makes source and id
// together unique.
func idKey(source, id string) string {
	return dedupe.Key("id", strings.TrimSpace(source), strings.TrimSpace(id))
}

// interactionKey returns the de-duplication key of what an event says happened, who did what to
// which item, and the state the event puts that in. Liked and unliked are two states of one key,
// so like, unlike, like counts every step; a rating's state is its value, so a changed rating
// counts; every other action has a key of its own and a single state.
func interactionKey(eventType string, in event.Interaction) (key string, state uint32) {
	action, _ := contract.ActionOf(eventType)
	family := string(action)
	switch action {
	case contract.ActionLiked:
		family, state = string(contract.ActionLiked), 1
	case contract.ActionUnliked:
		family, state = string(contract.ActionLiked), 2
	case contract.ActionRated:
		if in.Rating != nil {
			state = uint32(*in.Rating)
		}
	}
	return dedupe.Key("interaction", strings.TrimSpace(in.UserID), strings.TrimSpace(in.ItemID), family), state
}
