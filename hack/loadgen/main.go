// Command loadgen puts a bounded load on a recoflow pipeline running on this machine and reports
// throughput and latency percentiles: a progress line every second on stderr, a summary at the
// end on stdout (-json adds it as JSON).
//
// Modes:
//
//	single        POST one binary-mode CloudEvent per request to <ingest>/
//	batch         POST -batch events per request as application/cloudevents-batch+json
//	likes         POST plain JSON likes to <ingest>/v1/likes
//	raw-producer  no HTTP: produce the records ingest would store straight to the raw topic with
//	              a sarama AsyncProducer configured like ingest's, the yardstick for batch ingest
//	raw-tuned     the same from a sarama AsyncProducer tuned for throughput (still idempotent,
//	              acks=all; see TunedProducerConfig)
//	freshness     a background load of -rate events/s through ingest (single, or batch when
//	              -batch > 1) plus -probe-rate likes/s on fresh items, each polled on
//	              <popularity>/v1/items/{id} until its count shows it
//
// Examples:
//
//	go run ./hack/loadgen -mode single -connections 64 -duration 20s
//	go run ./hack/loadgen -mode batch -batch 100 -connections 8 -duration 20s
//	go run ./hack/loadgen -mode raw-producer -connections 8 -batch 100 -duration 20s
//	go run ./hack/loadgen -mode freshness -rate 5000 -batch 50 -connections 8 -duration 30s
//
// A run always ends by itself, after -duration or -events, whichever comes first; requests in
// flight then finish (each within -timeout). It only targets addresses on this machine.
//
// Latency is recorded for every request (every record in raw-producer mode) in an HDR-style
// histogram, exact to 1/128. Without -rate it runs from sending a request to the end of its
// answer. With -rate it runs from when the request was due, so the time a request waited for a
// free worker behind a slow target counts too (no coordinated omission). Freshness runs from
// ingest's 202 for a probe like to the answer of the first read of /v1/items/{id} that counts
// it; reads are -poll apart, so it is never measured low, and at most one poll and one read high.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
)

// The load modes.
const (
	ModeSingle      = "single"
	ModeBatch       = "batch"
	ModeLikes       = "likes"
	ModeRawProducer = "raw-producer"
	ModeRawTuned    = "raw-tuned"
	ModeFreshness   = "freshness"
)

// Config describes one load run; the flags set it.
type Config struct {
	// Mode is one of the Mode* constants.
	Mode string
	// Ingest is the base URL of the ingest function.
	Ingest string
	// Popularity is the base URL of the popularity function (freshness mode).
	Popularity string
	// Kafka is the host:port of a Kafka broker (raw-producer mode).
	Kafka string
	// Topic is the raw topic raw-producer mode writes to.
	Topic string
	// Rate is the events per second to send; zero sends as fast as the target takes them.
	Rate float64
	// Connections is the number of concurrent workers, each with its own kept-alive connection
	// (raw-producer: goroutines feeding the producer).
	Connections int
	// Duration bounds the run.
	Duration time.Duration
	// Events, when positive, stops the run after that many events.
	Events int64
	// Batch is the events per batch request; in raw-producer mode, Connections × Batch bounds
	// the records awaiting acknowledgement, as it bounds the events in flight in batch mode.
	Batch int
	// Items and Users are the numbers of distinct item and user ids.
	Items, Users int
	// Token, when set, is sent to ingest as a bearer token.
	Token string
	// Seed fixes the generated events; zero picks one from the clock. The summary reports the
	// seed used. Clean drops an interaction of the same user, item and action within its
	// de-duplication window, so two runs with one seed within that window (10 minutes by
	// default) send the pipeline duplicates: ingest takes them, popularity never sees them.
	Seed uint64
	// Timeout bounds each request.
	Timeout time.Duration
	// ProbeRate is the freshness probes per second (freshness mode).
	ProbeRate float64
	// Poll is how often a freshness probe reads its item; it is the measurement's resolution.
	Poll time.Duration
	// ProbeTimeout is how long a probe waits for its like to become visible.
	ProbeTimeout time.Duration
	// JSON also prints the summary as JSON.
	JSON bool
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// parseFlags reads a Config from the command line and checks it.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Mode, "mode", ModeSingle, "load mode: single, batch, likes, raw-producer, raw-tuned or freshness")
	fs.StringVar(&cfg.Ingest, "ingest", "http://localhost:8080", "base URL of ingest")
	fs.StringVar(&cfg.Popularity, "popularity", "http://localhost:8081", "base URL of popularity (freshness mode)")
	fs.StringVar(&cfg.Kafka, "kafka", "localhost:9092", "Kafka broker host:port (raw-producer mode)")
	fs.StringVar(&cfg.Topic, "topic", contract.DefaultTopic(contract.TopicRaw), "raw topic (raw-producer mode)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "events per second; 0 sends as fast as possible")
	fs.IntVar(&cfg.Connections, "connections", 64, "concurrent workers, each with its own kept-alive connection")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send")
	fs.Int64Var(&cfg.Events, "events", 0, "stop after this many events (0: only -duration bounds the run)")
	fs.IntVar(&cfg.Batch, "batch", 100, "events per batch request (batch mode; freshness background when > 1)")
	fs.IntVar(&cfg.Items, "items", 10000, "distinct item ids (Zipf-distributed)")
	fs.IntVar(&cfg.Users, "users", 1000000, "distinct user ids")
	fs.StringVar(&cfg.Token, "token", "", "bearer token for ingest")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the generated events (0: from the clock; the summary reports it)")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "bound on each request")
	fs.Float64Var(&cfg.ProbeRate, "probe-rate", 10, "freshness probes per second (freshness mode)")
	fs.DurationVar(&cfg.Poll, "poll", 10*time.Millisecond, "how often a freshness probe reads its item")
	fs.DurationVar(&cfg.ProbeTimeout, "probe-timeout", 10*time.Second, "how long a probe waits for its like to show")
	fs.BoolVar(&cfg.JSON, "json", false, "also print the summary as JSON")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, cfg.validate()
}

// validate checks that c describes a bounded run.
func (c Config) validate() error {
	var errs []error
	switch c.Mode {
	case ModeSingle, ModeBatch, ModeLikes, ModeRawProducer, ModeRawTuned:
	case ModeFreshness:
		if c.ProbeRate <= 0 || c.Poll <= 0 || c.ProbeTimeout <= 0 {
			errs = append(errs, errors.New("freshness needs a positive -probe-rate, -poll and -probe-timeout"))
		}
		if c.Rate < c.ProbeRate {
			errs = append(errs, fmt.Errorf("freshness needs -rate (events/s, probes included) of at least -probe-rate %g", c.ProbeRate))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown -mode %q; use %s", c.Mode, strings.Join([]string{ModeSingle, ModeBatch, ModeLikes, ModeRawProducer, ModeRawTuned, ModeFreshness}, ", ")))
	}
	if c.Duration <= 0 {
		errs = append(errs, errors.New("-duration must be positive: every run is bounded in time"))
	}
	if c.Rate < 0 || c.Events < 0 {
		errs = append(errs, errors.New("-rate and -events cannot be negative"))
	}
	if c.Connections < 1 || c.Batch < 1 || c.Timeout <= 0 {
		errs = append(errs, errors.New("-connections, -batch and -timeout must be positive"))
	}
	return errors.Join(errs...)
}
