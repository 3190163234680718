package clean

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
)

// Remember records the keys of an event that is already clean, as if Handle had let it through,
// so that a later copy of it counts as a duplicate. e must be normalised.
func (f *Function) Remember(e *cloudevents.Event) error {
	var in event.Interaction
	if err := json.Unmarshal(e.Data(), &in); err != nil {
		return fmt.Errorf("event %s: %w", e.ID(), err)
	}
	f.duplicate(*e, in)
	return nil
}

// Restorer refills a Function's de-duplication window from the clean topic when the consumer
// group assigns raw partitions that this replica did not have before: the events another
// replica (or this one, before a crash) wrote within the window. A record that is delivered again
// after a rebalance or a crash, and a client's retry that lands on a new replica, are then still
// recognised by their id.
//
// The window itself lives in memory; the clean topic is its durable log. A raw partition's
// events are on the clean partition of the same number when both topics have the same partition
// count (the pipeline creates them so); otherwise every clean partition is read.
type Restorer struct {
	f        *Function
	client   sarama.Client
	raw      string
	topic    string
	log      *slog.Logger
	restored prometheus.Counter

	mu    sync.Mutex
	owned map[int32]bool // raw partitions of the previous assignment
}

// NewRestorer returns a Restorer of f that reads the clean topic through client for partitions
// of the raw topic. It reads back the events of f's window, at most as many, the newest ones, as
// the window can hold anyway. Its metrics are registered on reg.
func NewRestorer(f *Function, client sarama.Client, raw, clean string, reg prometheus.Registerer, log *slog.Logger) *Restorer {
	r := &Restorer{
		f: f, client: client, raw: raw, topic: clean, log: log,
		restored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "recoflow_clean_dedupe_restored_total",
			Help: "Clean events read back into the de-duplication window when partitions were assigned.",
		}),
		owned: map[int32]bool{},
	}
	reg.MustRegister(r.restored)
	return r
}

// OnAssign is the kafka.Source hook: it restores the window for the raw partitions in claims
// that the previous assignment did not hold, before any of their records is processed.
func (r *Restorer) OnAssign(ctx context.Context, claims map[string][]int32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var gained []int32
	assigned := map[int32]bool{}
	for _, partitions := range claims {
		for _, p := range partitions {
			assigned[p] = true
			if !r.owned[p] {
				gained = append(gained, p)
			}
		}
	}
	r.owned = assigned
	if len(gained) == 0 {
		return nil
	}
	start := time.Now()
	n, err := r.restore(ctx, gained, start.Add(-r.f.window))
	r.restored.Add(float64(n))
	if err != nil {
		// Processing goes on without the history: at worst a redelivered record is not
		// recognised as a duplicate, which at-least-once delivery allows.
		r.log.Warn("de-duplication window not restored", "partitions", gained, "error", err)
		return nil
	}
	r.log.Info("de-duplication window restored", "partitions", gained, "events", n, "took", time.Since(start))
	return nil
}

// restore reads the clean partitions that can hold the outputs of the raw partitions, from the
// first record written at or after since, into the window.
func (r *Restorer) restore(ctx context.Context, raw []int32, since time.Time) (int, error) {
	partitions, err := r.client.Partitions(r.topic)
	if err != nil {
		return 0, err
	}
	if rawPartitions, err := r.client.Partitions(r.raw); err == nil && len(rawPartitions) == len(partitions) {
		partitions = slices.Clone(raw) // co-partitioned: raw partition p feeds clean partition p
	}
	if len(partitions) == 0 {
		return 0, nil
	}
	consumer, err := sarama.NewConsumerFromClient(r.client)
	if err != nil {
		return 0, err
	}
	defer consumer.Close()
	n := 0
	budget := int64(r.f.remembers / len(partitions))
	for _, p := range partitions {
		read, err := r.restorePartition(ctx, consumer, p, since, budget)
		n += read
		if err != nil {
			return n, fmt.Errorf("%s/%d: %w", r.topic, p, err)
		}
	}
	return n, nil
}

func (r *Restorer) restorePartition(ctx context.Context, consumer sarama.Consumer, p int32, since time.Time, budget int64) (int, error) {
	end, err := r.client.GetOffset(r.topic, p, sarama.OffsetNewest)
	if err != nil {
		return 0, err
	}
	from, err := r.client.GetOffset(r.topic, p, since.UnixMilli())
	if err != nil {
		return 0, err
	}
	if from < 0 || from >= end {
		return 0, nil
	}
	from = max(from, end-budget)
	pc, err := consumer.ConsumePartition(r.topic, p, from)
	if err != nil {
		return 0, err
	}
	defer pc.Close()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case err := <-pc.Errors():
			return n, err
		case msg := <-pc.Messages():
			if e, err := kafka.DecodeRecord(ctx, msg); err == nil && r.f.Remember(e) == nil {
				n++
			}
			if msg.Offset+1 >= end {
				return n, nil
			}
		}
	}
}
