package clean

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/dedupe"
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

// forget empties the de-duplication window. No Handle may run meanwhile.
func (f *Function) forget() {
	f.seen = dedupe.New(f.window, 2*f.remembers)
}

// Restorer refills a Function's de-duplication window from the clean topic before a raw
// partition is processed: the events that committed transactions wrote within the window, by
// another replica or by this one before a crash. A client's retry that lands after a
// rebalance or a restart is then still recognised by its id.
//
// The window itself lives in memory; the clean topic is its durable log, read with
// read_committed isolation so that outputs of transactions that never committed do not count.
// A raw partition's events are on the clean partition of the same number when both topics have
// the same partition count (the pipeline creates them so); otherwise every clean partition is
// read.
type Restorer struct {
	f        *Function
	brokers  []string
	clientID string
	raw      string
	topic    string
	log      *slog.Logger
	restored prometheus.Counter
}

// NewRestorer returns a Restorer of f that reads the clean topic on brokers for partitions of
// the raw topic. It reads back the events of f's window, at most as many, the newest ones, as
// the window can hold anyway. Its metrics are registered on reg.
func NewRestorer(f *Function, brokers []string, clientID, raw, clean string, reg prometheus.Registerer, log *slog.Logger) *Restorer {
	r := &Restorer{
		f: f, brokers: brokers, clientID: clientID, raw: raw, topic: clean, log: log,
		restored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "recoflow_clean_dedupe_restored_total",
			Help: "Clean events read back into the de-duplication window when partitions were assigned.",
		}),
	}
	reg.MustRegister(r.restored)
	return r
}

// Restore reads into the window the clean partitions that can hold the outputs of raw
// partition p, from the first record written within the window before the raw record at
// offset (where processing resumes) to the end.
//
// The window is measured back from that raw record, not from now: after a stall, the events
// about to be processed again were ingested long ago, and so were the originals their retries
// repeat. An original ingested within the window before it was output no earlier than it was
// ingested, so its clean record is read back.
func (r *Restorer) Restore(ctx context.Context, p int32, offset int64) error {
	start := time.Now()
	reader, err := kafka.NewLogReader(r.brokers, r.clientID, r.topic, 100*time.Millisecond)
	if err != nil {
		return err
	}
	defer reader.Close()
	partitions, err := reader.TopicPartitions(ctx, r.topic)
	if err != nil {
		return err
	}
	if raw, err := reader.TopicPartitions(ctx, r.raw); err == nil && len(raw) == len(partitions) {
		partitions = []int32{p} // co-partitioned: raw partition p feeds clean partition p
	}
	resume, err := r.resumeTime(ctx, p, offset)
	if err != nil {
		return err
	}
	since := resume.Add(-r.f.window).UnixMilli()
	from, err := reader.Offsets(ctx, partitions, since, false)
	if err != nil {
		return err
	}
	// Read to the high water mark: a transaction still open now (left by a crashed replica) ends
	// within the transaction timeout, and what it wrote, if it commits, belongs to the window.
	ends, err := reader.Offsets(ctx, partitions, kafka.OffsetEnd, false)
	if err != nil {
		return err
	}
	budget := int64(r.f.remembers / len(partitions))
	for q := range from {
		from[q] = max(from[q], ends[q]-budget)
	}
	reader.Add(from)
	n := 0
	for !reader.CaughtUp(ends) {
		err := reader.Poll(ctx, func(msg *sarama.ConsumerMessage) error {
			if e, err := kafka.DecodeRecord(ctx, msg); err == nil && r.f.Remember(e) == nil {
				n++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("restore the de-duplication window of raw partition %d: %w", p, err)
		}
	}
	r.restored.Add(float64(n))
	r.log.Info("de-duplication window restored", "partition", p, "events", n, "took", time.Since(start))
	return nil
}

// resumeTime returns when the raw record at offset of partition p was written, or now when
// there is none yet.
func (r *Restorer) resumeTime(ctx context.Context, p int32, offset int64) (time.Time, error) {
	now := time.Now()
	reader, err := kafka.NewLogReader(r.brokers, r.clientID, r.raw, 100*time.Millisecond)
	if err != nil {
		return now, err
	}
	defer reader.Close()
	ends, err := reader.Offsets(ctx, []int32{p}, kafka.OffsetEnd, true)
	if err != nil {
		return now, err
	}
	if offset < 0 || offset >= ends[p] {
		return now, nil
	}
	reader.Add(map[int32]int64{p: offset})
	at := time.Time{}
	for at.IsZero() && !reader.CaughtUp(ends) {
		err := reader.Poll(ctx, func(msg *sarama.ConsumerMessage) error {
			if at.IsZero() {
				at = msg.Timestamp
			}
			return nil
		})
		if err != nil {
			return now, err
		}
	}
	if at.IsZero() || at.After(now) {
		return now, nil
	}
	return at, nil
}
