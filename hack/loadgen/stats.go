package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
)

// Result is what happened to one unit of load: an HTTP request, or one record given to Kafka.
type Result struct {
	// Events is how many events the unit carried.
	Events int
	// Latency is how long the unit took, from when it was due to its answer.
	Latency time.Duration
	// Status is the HTTP status code, or zero when there was no HTTP answer.
	Status int
	// Err is why the unit got no answer at all, such as a refused connection.
	Err error
}

// accepted reports whether the unit's events were taken: an HTTP 2xx answer, or a record that
// Kafka acknowledged.
func (r Result) accepted() bool {
	return r.Err == nil && (r.Status == 0 || r.Status/100 == 2)
}

// Totals are the counts of a load run, or of part of one.
type Totals struct {
	// Requests counts units of load with an outcome (HTTP requests or Kafka records).
	Requests int64
	// Events counts the events those units carried.
	Events int64
	// Accepted counts the events that were taken (see Result).
	Accepted int64
	// Latency holds the latency of every unit.
	Latency Histogram
	// Status counts the units per HTTP status code.
	Status map[int]int64
	// Errors counts the units that got no answer, per kind of error (see errorKind).
	Errors map[string]int64
	// FirstError is the message of the first error, to tell what went wrong.
	FirstError string
}

func newTotals() Totals {
	return Totals{Status: map[int]int64{}, Errors: map[string]int64{}}
}

func (t *Totals) record(r Result) {
	t.Requests++
	t.Events += int64(r.Events)
	if r.accepted() {
		t.Accepted += int64(r.Events)
	}
	t.Latency.Record(r.Latency)
	if r.Status != 0 {
		t.Status[r.Status]++
	}
	if r.Err != nil {
		t.Errors[errorKind(r.Err)]++
		if t.FirstError == "" {
			t.FirstError = r.Err.Error()
		}
	}
}

func (t *Totals) merge(o *Totals) {
	t.Requests += o.Requests
	t.Events += o.Events
	t.Accepted += o.Accepted
	t.Latency.Merge(&o.Latency)
	for code, n := range o.Status {
		t.Status[code] += n
	}
	for kind, n := range o.Errors {
		t.Errors[kind] += n
	}
	if t.FirstError == "" {
		t.FirstError = o.FirstError
	}
}

// Failed returns how many units were not accepted.
func (t *Totals) Failed() int64 {
	var failed int64
	for code, n := range t.Status {
		if code/100 != 2 {
			failed += n
		}
	}
	for _, n := range t.Errors {
		failed += n
	}
	return failed
}

// Shard records the results of one worker. Each worker owns a shard, so recording never waits
// for another worker; the lock only orders it against Collector.Snapshot.
type Shard struct {
	mu     sync.Mutex
	totals Totals
}

// Record adds the result of one unit of load.
func (s *Shard) Record(r Result) {
	s.mu.Lock()
	s.totals.record(r)
	s.mu.Unlock()
}

// Collector gathers the shards of a run and sums them on demand.
type Collector struct {
	mu     sync.Mutex
	shards []*Shard
}

// NewShard returns a new shard whose results count in the collector's snapshots.
func (c *Collector) NewShard() *Shard {
	s := &Shard{totals: newTotals()}
	c.mu.Lock()
	c.shards = append(c.shards, s)
	c.mu.Unlock()
	return s
}

// Snapshot returns the sum of every shard's results so far.
func (c *Collector) Snapshot() Totals {
	sum := newTotals()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.shards {
		s.mu.Lock()
		sum.merge(&s.totals)
		s.mu.Unlock()
	}
	return sum
}

// errorKind names the kind of a transport error, so that the summary counts a few kinds rather
// than every distinct message.
func errorKind(err error) string {
	var netErr net.Error
	var kafkaErr sarama.KError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.As(err, &kafkaErr):
		return "kafka: " + kafkaErr.Error()
	}
	return "other"
}
