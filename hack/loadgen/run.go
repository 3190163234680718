package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// connectTimeout bounds how long raw-producer mode waits for Kafka to answer.
const connectTimeout = 10 * time.Second

// run carries out the load cfg describes, printing a progress line to progress every second
// and the summary to out at the end. It stops by itself after cfg.Duration or cfg.Events, or
// earlier when ctx ends.
func run(ctx context.Context, cfg Config, out, progress io.Writer) (Summary, error) {
	if err := checkTargets(cfg); err != nil {
		return Summary{}, err
	}
	start := time.Now()
	runID := strconv.FormatInt(start.UnixNano(), 36)
	if cfg.Seed == 0 {
		cfg.Seed = uint64(start.UnixNano())
	}
	generator := func(stream uint64) *Generator {
		return NewGenerator(GeneratorOptions{Seed: cfg.Seed, Stream: stream, IDPrefix: "lg" + runID, Items: cfg.Items, Users: cfg.Users})
	}
	sendCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()

	var collector Collector
	stopProgress := startProgress(progress, start, &collector)
	probes, err := drive(sendCtx, cfg, start, &collector, generator, "lg"+runID)
	elapsed := time.Since(start)
	stopProgress()
	if err != nil {
		return Summary{}, err
	}

	totals := collector.Snapshot()
	summary := summarize(cfg, totals, elapsed)
	if probes != nil {
		fresh := probes.snapshot()
		summary.Freshness = summarizeFreshness(&fresh)
	}
	summary.WriteText(out)
	if cfg.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(summary); err != nil {
			return summary, fmt.Errorf("write summary: %w", err)
		}
	}
	return summary, nil
}

// drive sends the load of cfg's mode until ctx ends or cfg.Events are sent, and waits for the
// answers. It returns the freshness probes in freshness mode; prefix makes their ids unique.
func drive(ctx context.Context, cfg Config, start time.Time, collector *Collector, generator func(uint64) *Generator, prefix string) (*probeLoad, error) {
	switch cfg.Mode {
	case ModeRawProducer, ModeRawTuned:
		load := &producerLoad{
			brokers: strings.Split(cfg.Kafka, ","), topic: cfg.Topic, workers: cfg.Connections,
			inflight: cfg.Connections * cfg.Batch, pacer: newPacer(cfg.Rate, start),
			budget: newBudget(cfg.Events), collector: collector, generator: generator,
		}
		load.tuned = cfg.Mode == ModeRawTuned
		return nil, load.run(ctx, connectTimeout)
	case ModeFreshness:
		background := newHTTPLoad(cfg, cfg.Rate-cfg.ProbeRate, start, collector, generator)
		probes := newProbeLoad(cfg, prefix)
		probeCtx, stopProbes := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { probes.run(probeCtx) })
		background.run(ctx)
		stopProbes() // the background may end early, after cfg.Events
		wg.Wait()
		return probes, nil
	default:
		newHTTPLoad(cfg, cfg.Rate, start, collector, generator).run(ctx)
		return nil, nil
	}
}

// checkTargets refuses a run whose targets are not on this machine.
func checkTargets(cfg Config) error {
	switch cfg.Mode {
	case ModeRawProducer, ModeRawTuned:
		for _, broker := range strings.Split(cfg.Kafka, ",") {
			if err := checkLoopback(broker); err != nil {
				return err
			}
		}
		return nil
	case ModeFreshness:
		if err := checkLoopback(cfg.Popularity); err != nil {
			return err
		}
	}
	return checkLoopback(cfg.Ingest)
}

// newHTTPLoad returns the HTTP load of cfg's mode at rate events per second: in freshness mode
// the background load, single events or batches as cfg.Batch says.
func newHTTPLoad(cfg Config, rate float64, start time.Time, collector *Collector, generator func(uint64) *Generator) *httpLoad {
	base := strings.TrimSuffix(cfg.Ingest, "/")
	load := &httpLoad{
		client: newHTTPClient(cfg.Connections, cfg.Timeout), url: base + "/", encode: encodeBinary, batch: 1,
		workers: cfg.Connections, token: cfg.Token, timeout: cfg.Timeout, pacer: newPacer(rate, start),
		budget: newBudget(cfg.Events), collector: collector, generator: generator,
	}
	switch {
	case cfg.Mode == ModeLikes:
		load.url, load.encode = base+"/v1/likes", encodeLike
	case cfg.Mode == ModeBatch, cfg.Mode == ModeFreshness && cfg.Batch > 1:
		load.encode, load.batch = encodeBatch, cfg.Batch
	}
	return load
}

// newProbeLoad returns the freshness probes of cfg; prefix makes their ids unique to the run.
func newProbeLoad(cfg Config, prefix string) *probeLoad {
	return &probeLoad{
		client:   newHTTPClient(64, cfg.Timeout),
		likesURL: strings.TrimSuffix(cfg.Ingest, "/") + "/v1/likes",
		itemsURL: strings.TrimSuffix(cfg.Popularity, "/") + "/v1/items/",
		token:    cfg.Token, rate: cfg.ProbeRate, poll: cfg.Poll,
		timeout: cfg.Timeout, probeTimeout: cfg.ProbeTimeout, prefix: prefix,
	}
}

// startProgress writes a progress line to w every second until the returned function is called.
func startProgress(w io.Writer, start time.Time, collector *Collector) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-ticker.C:
				t := collector.Snapshot()
				writeProgress(w, now.Sub(start), &t)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
