// Package popularitytest helps test the popularity function end to end: an embedded Kafka broker
// with the pipeline's topics, random clean interaction events, and a brute-force model of what
// the function must serve for them.
package popularitytest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/kafka"
)

// Cluster is an embedded Kafka broker holding the pipeline's topics.
type Cluster struct {
	*kfake.Cluster
	// Brokers are the broker addresses.
	Brokers []string
}

// NewCluster starts an embedded broker on a random port with the pipeline's four topics, each
// with the given number of partitions, the popularity topic compacted. It stops when the test
// ends.
func NewCluster(t testing.TB, partitions int32, opts ...kfake.Opt) *Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)
	kc, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("start kafka: %v", err)
	}
	t.Cleanup(kc.Close)
	c := &Cluster{Cluster: kc, Brokers: kc.ListenAddrs()}

	names := map[contract.TopicRole]string{}
	for _, role := range contract.TopicRoles {
		names[role] = contract.DefaultTopic(role)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.CreateTopics(ctx, c.Brokers, config.KafkaAuth{}, names, partitions, 1); err != nil {
		t.Fatal(err)
	}
	return c
}

// Config returns popularity settings for the cluster: a short flush interval and the given
// instance id.
func (c *Cluster) Config(instanceID string) config.Popularity {
	cfg := config.DefaultPopularity()
	cfg.Brokers = c.Brokers
	cfg.InstanceID = instanceID
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	return cfg
}

// FastGroups shortens the consumer group timeouts of a sarama configuration, so that tests
// notice a dead group member in about a second, and new partitions in half a second.
func FastGroups(c *sarama.Config) {
	c.Metadata.RefreshFrequency = 500 * time.Millisecond
	c.Consumer.Group.Session.Timeout = 1500 * time.Millisecond
	c.Consumer.Group.Heartbeat.Interval = 150 * time.Millisecond
	c.Consumer.Group.Rebalance.Timeout = 1500 * time.Millisecond
	c.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
	c.Consumer.MaxWaitTime = 100 * time.Millisecond
	c.Metadata.Retry.Backoff = 50 * time.Millisecond
}

// Publisher writes clean events to the clean topic as the clean function does: binary content
// mode, keyed by item id, acknowledged by all replicas.
type Publisher struct {
	client   sarama.Client
	producer *kafka.Producer
	sink     *kafka.Sink
}

// NewPublisher connects a Publisher to the cluster; it is closed when the test ends.
func (c *Cluster) NewPublisher(t testing.TB) *Publisher {
	t.Helper()
	client, err := sarama.NewClient(c.Brokers, kafka.NewSaramaConfig("popularitytest-publisher"))
	if err != nil {
		t.Fatalf("connect to kafka: %v", err)
	}
	producer, err := kafka.NewProducer(client)
	if err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() {
		_ = producer.Close()
		_ = client.Close()
	})
	return &Publisher{client: client, producer: producer, sink: kafka.NewSink(producer, contract.DefaultTopic(contract.TopicClean))}
}

// Stream publishes batches of generated events in the background until stop is called, adding
// each batch to model once Kafka has stored it. stop returns when publishing has ended; it is also
// called when the test ends.
func (p *Publisher) Stream(t testing.TB, gen *Generator, model *Model, batch int) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			events := gen.Events(batch)
			if err := p.Publish(context.Background(), events...); err != nil {
				t.Error(err)
				return
			}
			model.Add(events...)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// Start runs c in the background until stop is called or the test ends. stop returns what Run
// returned, or an error if Run does not return within 30 seconds.
func Start(t testing.TB, c interface{ Run(context.Context) error }) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var (
		once sync.Once
		err  error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("did not stop within 30s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// Publish writes events and waits until Kafka has stored them all.
func (p *Publisher) Publish(ctx context.Context, events ...cloudevents.Event) error {
	if err := p.sink.SendEvents(ctx, events...); err != nil {
		return fmt.Errorf("publish %d clean events: %w", len(events), err)
	}
	return nil
}

// Generator makes random clean interaction events over a fixed set of items, categories and
// segments, with times in the hour before its reference time.
type Generator struct {
	rng   *rand.Rand
	now   time.Time
	items int
	seq   int
}

// NewGenerator returns a Generator of events about the given number of items, seeded with seed,
// whose times fall in the hour before now.
func NewGenerator(seed uint64, items int, now time.Time) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: now, items: items}
}

var (
	categories = []string{"", "", "books", "music", "films"}
	segments   = []string{"", "", "18-24.f", "25-34.m", "65+.x"}
)

// Events returns n new random events, as clean would emit them: with the segment extension
// and lower-case categories.
func (g *Generator) Events(n int) []cloudevents.Event {
	out := make([]cloudevents.Event, n)
	for i := range out {
		out[i] = g.event(false)
	}
	return out
}

// ClientEvents returns n new random events as clients send them to ingest: the user described in
// data.user instead of a segment, categories in any case, and a distinct user in every event so
// that none is a (user, item, type) duplicate that clean would drop.
func (g *Generator) ClientEvents(n int) []cloudevents.Event {
	out := make([]cloudevents.Event, n)
	for i := range out {
		out[i] = g.event(true)
	}
	return out
}

func (g *Generator) event(client bool) cloudevents.Event {
	g.seq++
	action := contract.Actions[g.rng.IntN(len(contract.Actions))]
	data := event.Interaction{
		UserID:   "user-" + strconv.Itoa(g.rng.IntN(1000)),
		ItemID:   "item-" + strconv.Itoa(g.rng.IntN(g.items)),
		Category: categories[g.rng.IntN(len(categories))],
	}
	if client {
		data.UserID = "user-" + strconv.Itoa(g.seq)
		if g.rng.IntN(2) == 0 {
			data.Category = " " + strings.ToUpper(data.Category)
		}
		if g.rng.IntN(3) > 0 {
			age := 10 + g.rng.IntN(70)
			data.User = &event.User{Age: &age, Gender: []string{"", "f", "m", "x"}[g.rng.IntN(4)]}
		}
	}
	if action == contract.ActionRated {
		stars := 1 + g.rng.IntN(5)
		data.Rating = &stars
	}
	e := cloudevents.NewEvent()
	e.SetID("event-" + strconv.Itoa(g.seq))
	e.SetSource("urn:recoflow:popularitytest")
	e.SetType(action.Type())
	e.SetSubject(data.ItemID)
	e.SetTime(g.now.Add(-time.Duration(g.rng.Int64N(int64(time.Hour)))).UTC())
	if segment := segments[g.rng.IntN(len(segments))]; segment != "" && !client {
		e.SetExtension(event.ExtensionSegment, segment)
	}
	_ = e.SetData(cloudevents.ApplicationJSON, data)
	return e
}

// Model is the brute-force reference: it keeps every accepted event and computes what the
// popularity function must serve by summing each event's decayed weight directly.
//
// A Model is safe for concurrent use, so a test can check it while a Stream adds to it.
type Model struct {
	cfg hotness.Config

	mu     sync.Mutex
	items  map[string]*modelItem
	events int
}

type modelItem struct {
	category string
	counts   map[contract.Action]int64
	events   []weighted
	segments map[string][]weighted
}

type weighted struct {
	w float64
	t time.Time
}

// NewModel returns an empty model scoring with cfg's half-life and weights.
func NewModel(cfg config.Popularity) *Model {
	return &Model{
		cfg:   hotness.Config{HalfLife: cfg.HalfLife, Weights: map[contract.Action]float64(cfg.Weights)},
		items: map[string]*modelItem{},
	}
}

// Add records accepted events, in the order the clean topic holds them.
func (m *Model) Add(events ...cloudevents.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range events {
		var data event.Interaction
		if err := e.DataAs(&data); err != nil {
			panic(err)
		}
		action, _ := contract.ActionOf(e.Type())
		w := m.cfg.Weights[action]
		if action == contract.ActionRated {
			w = float64(*data.Rating - 3)
		}
		it := m.items[e.Subject()]
		if it == nil {
			it = &modelItem{counts: map[contract.Action]int64{}, segments: map[string][]weighted{}}
			m.items[e.Subject()] = it
		}
		if category := strings.ToLower(strings.TrimSpace(data.Category)); category != "" {
			it.category = category
		}
		it.counts[action]++
		it.events = append(it.events, weighted{w, e.Time()})
		segment, _ := e.Extensions()[event.ExtensionSegment].(string)
		if segment == "" {
			segment = event.Segment(data.User) // what clean attaches
		}
		if segment != "" {
			it.segments[segment] = append(it.segments[segment], weighted{w, e.Time()})
		}
		m.events++
	}
}

// Events returns the number of events the model holds.
func (m *Model) Events() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events
}

// Items returns the number of distinct items the model has seen.
func (m *Model) Items() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

func (m *Model) score(ws []weighted, now time.Time) float64 {
	var s float64
	for _, x := range ws {
		s += x.w * math.Exp2(-float64(now.Sub(x.t))/float64(m.cfg.HalfLife))
	}
	return s
}

// Ranking is what the popularity function serves.
type Ranking interface {
	Top(q hotness.Query, now time.Time) []hotness.Entry
	Item(id string, now time.Time) (hotness.Entry, bool)
}

// Check compares r with the model at the instant now: every item's counts exactly, its category,
// and its score within a relative 1e-9, and the overall, per-category and per-segment top-N
// rankings. It returns the first difference.
func (m *Model) Check(r Ranking, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, it := range m.items {
		got, ok := r.Item(id, now)
		if !ok {
			return fmt.Errorf("item %s: unknown, want %d events", id, len(it.events))
		}
		for _, a := range contract.Actions {
			if got.Counts[a] != it.counts[a] {
				return fmt.Errorf("item %s: %d %s, want %d", id, got.Counts[a], a, it.counts[a])
			}
		}
		if got.Category != it.category {
			return fmt.Errorf("item %s: category %q, want %q", id, got.Category, it.category)
		}
		if want := m.score(it.events, now); !near(got.Score, want) {
			return fmt.Errorf("item %s: score %v, want %v", id, got.Score, want)
		}
	}
	queries := []hotness.Query{{N: 10}, {N: len(m.items) + 1}}
	for _, c := range categories[2:] {
		queries = append(queries, hotness.Query{N: 5, Category: c})
	}
	for _, s := range segments[2:] {
		queries = append(queries, hotness.Query{N: 5, Segment: s})
	}
	for _, q := range queries {
		if err := m.checkTop(r, q, now); err != nil {
			return err
		}
	}
	return nil
}

// checkTop compares one ranking. Items whose scores tie within rounding may come in either order,
// so it compares the scores at each rank and that each item returned has the score it should.
func (m *Model) checkTop(r Ranking, q hotness.Query, now time.Time) error {
	type ranked struct {
		id    string
		score float64
	}
	var want []ranked
	for id, it := range m.items {
		switch {
		case q.Segment != "":
			if ws, ok := it.segments[q.Segment]; ok {
				want = append(want, ranked{id, m.score(ws, now)})
			}
		case q.Category != "":
			if it.category == q.Category {
				want = append(want, ranked{id, m.score(it.events, now)})
			}
		default:
			want = append(want, ranked{id, m.score(it.events, now)})
		}
	}
	slices.SortFunc(want, func(x, y ranked) int { return cmp.Compare(y.score, x.score) })
	want = want[:min(len(want), q.N)]
	got := r.Top(q, now)
	if len(got) != len(want) {
		return fmt.Errorf("top %+v: %d items, want %d", q, len(got), len(want))
	}
	for i := range got {
		if !near(got[i].Score, want[i].score) {
			return fmt.Errorf("top %+v: rank %d is %s with %v, want a score of %v (%s)", q, i+1, got[i].ItemID, got[i].Score, want[i].score, want[i].id)
		}
	}
	return nil
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}
