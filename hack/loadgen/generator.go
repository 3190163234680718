package main

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

// Source is the CloudEvent source of the events the load program makes.
const Source = "urn:recoflow:loadgen"

// Sample is one generated interaction: the attributes of its CloudEvent and its payload.
type Sample struct {
	// ID is the CloudEvent id, unique within a run.
	ID string
	// Action is what the user did; its CloudEvent type is Action.Type().
	Action contract.Action
	// Time is when the interaction happened.
	Time time.Time
	// Data is the payload; Data.ItemID is also the CloudEvent subject.
	Data event.Interaction
}

// GeneratorOptions shape the events a Generator makes.
type GeneratorOptions struct {
	// Seed fixes the sequence of actions, items, users and audiences.
	Seed uint64
	// Stream tells apart the generators of one run (one per worker): each stream has its own
	// random sequence and its own event ids.
	Stream uint64
	// IDPrefix starts every event id. Give each run its own prefix, so that clean's
	// de-duplication by id does not drop the events of a run that repeats an earlier seed.
	IDPrefix string
	// Items is the number of distinct items; their popularity follows a Zipf law, as real
	// traffic does, so a few items get most events.
	Items int
	// Users is the number of distinct users, equally active.
	Users int
	// Now tells the time events carry; time.Now when nil.
	Now func() time.Time
}

// Generator makes a realistic, reproducible stream of valid interaction events: mostly likes,
// some views, favourites, ratings, shares and unlikes, items in stable categories, and about a
// third of the events describing the user's age and gender. It is not safe for concurrent use.
type Generator struct {
	rng        *rand.Rand
	items      *rand.Zipf
	users      int
	idPrefix   string
	seq        uint64
	now        func() time.Time
	categories []string
	genders    []string
}

// NewGenerator returns a Generator for opts. Items and Users below one count as one.
func NewGenerator(opts GeneratorOptions) *Generator {
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Stream))
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Generator{
		rng:        rng,
		items:      rand.NewZipf(rng, 1.1, 1, uint64(max(opts.Items, 1)-1)),
		users:      max(opts.Users, 1),
		idPrefix:   opts.IDPrefix + "-" + strconv.FormatUint(opts.Stream, 10) + "-",
		now:        now,
		categories: []string{"books", "music", "movies", "games", "news", "sports", "food", "travel"},
		genders:    []string{"f", "m", "f", "m", "x"},
	}
}

// Next returns the next event of the stream.
func (g *Generator) Next() Sample {
	g.seq++
	item := g.items.Uint64()
	s := Sample{
		ID:     g.idPrefix + strconv.FormatUint(g.seq, 10),
		Action: g.action(),
		Time:   g.now().UTC(),
		Data: event.Interaction{
			UserID:   "user-" + strconv.Itoa(g.rng.IntN(g.users)),
			ItemID:   "item-" + strconv.FormatUint(item, 10),
			Title:    "Item " + strconv.FormatUint(item, 10),
			Category: g.categories[item%uint64(len(g.categories))],
		},
	}
	if s.Action == contract.ActionRated {
		rating := g.rating()
		s.Data.Rating = &rating
	}
	if g.rng.IntN(3) == 0 {
		age := 13 + g.rng.IntN(65)
		s.Data.User = &event.User{Age: &age, Gender: g.genders[g.rng.IntN(len(g.genders))]}
	}
	return s
}

// action draws an action: 60% liked, 20% viewed, 6% favorited, 6% rated, 5% shared, 3% unliked.
func (g *Generator) action() contract.Action {
	switch n := g.rng.IntN(100); {
	case n < 60:
		return contract.ActionLiked
	case n < 80:
		return contract.ActionViewed
	case n < 86:
		return contract.ActionFavorited
	case n < 92:
		return contract.ActionRated
	case n < 97:
		return contract.ActionShared
	default:
		return contract.ActionUnliked
	}
}

// rating draws 1 to 5 stars, leaning towards the good ratings people leave most.
func (g *Generator) rating() int {
	switch n := g.rng.IntN(10); {
	case n < 1:
		return 1
	case n < 2:
		return 2
	case n < 4:
		return 3
	case n < 7:
		return 4
	default:
		return 5
	}
}
