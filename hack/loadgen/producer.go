package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka"
)

// producerLoad produces the records ingest would store straight to the raw topic, with a sarama
// AsyncProducer set up like ingest's: kafka.NewSaramaConfig (idempotent, acks=all, one request
// in flight per broker) and ingest's ProducerConfig (record size, lz4). Records are encoded by kafka.Sink, the
// encoder ingest itself uses, so they have the same key, headers and size. Its throughput is
// the ceiling that batch ingest is measured against.
type producerLoad struct {
	// tuned sets the producer up for the most throughput Kafka allows an idempotent acks=all
	// producer (see TunedProducerConfig) instead of ingest's settings.
	tuned bool
	// brokers are the Kafka bootstrap servers.
	brokers []string
	// topic is the raw topic.
	topic string
	// workers is the number of goroutines generating records.
	workers int
	// inflight bounds the records awaiting acknowledgement.
	inflight int
	// pacer spaces the records; nil produces as fast as possible.
	pacer *pacer
	// budget bounds the records produced.
	budget *budget
	// collector gathers the results, one per record.
	collector *Collector
	// generator returns the event stream of one worker.
	generator func(stream uint64) *Generator
}

// run produces until ctx ends or the budget is spent, then waits for every record's
// acknowledgement. Connecting to Kafka must succeed within connectTimeout.
func (l *producerLoad) run(ctx context.Context, connectTimeout time.Duration) error {
	cfg := kafka.NewSaramaConfig(kafka.ClientID("", "loadgen-producer"))
	ingest.ProducerConfig(cfg)
	if l.tuned {
		TunedProducerConfig(cfg)
	}
	connectCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	client, err := kafka.Connect(connectCtx, l.brokers, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer client.Close()
	producer, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return fmt.Errorf("start kafka producer: %w", err)
	}

	slots := make(chan struct{}, l.inflight)
	var acks sync.WaitGroup
	acks.Go(func() {
		shard := l.collector.NewShard()
		for m := range producer.Successes() {
			shard.Record(Result{Events: 1, Latency: time.Since(m.Metadata.(time.Time))})
			<-slots
		}
	})
	acks.Go(func() {
		shard := l.collector.NewShard()
		for perr := range producer.Errors() {
			shard.Record(Result{Events: 1, Latency: time.Since(perr.Msg.Metadata.(time.Time)), Err: perr.Err})
			<-slots
		}
	})

	// The sink is used only to encode records; it never sends.
	sink := kafka.NewSink(nil, l.topic)
	var workers sync.WaitGroup
	errs := make(chan error, l.workers)
	for i := range l.workers {
		workers.Go(func() {
			if err := l.work(ctx, l.generator(uint64(i)), sink, producer, slots); err != nil {
				errs <- err
			}
		})
	}
	workers.Wait()
	producer.AsyncClose()
	acks.Wait()
	close(errs)
	return <-errs
}

// work is one worker's loop: it hands records to producer while a slot is free.
func (l *producerLoad) work(ctx context.Context, gen *Generator, sink *kafka.Sink, producer sarama.AsyncProducer, slots chan struct{}) error {
	for ctx.Err() == nil {
		if l.budget.take(1) == 0 {
			return nil
		}
		due, ok := l.pacer.wait(ctx, 1)
		if !ok {
			return nil
		}
		e, err := gen.Next().Event()
		if err != nil {
			return err
		}
		msg, err := sink.Record(ctx, &e)
		if err != nil {
			return err
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		start := time.Now()
		if !due.IsZero() && due.Before(start) {
			start = due
		}
		msg.Metadata = start
		producer.Input() <- msg
	}
	return nil
}

// TunedProducerConfig sets cfg, an idempotent acks=all producer configuration, up the way that
// produced the most on the benchmark machine's embedded broker (BenchmarkBatchVersusRawProducer
// tries a grid): lz4 batches and large hand-over buffers, no linger. Idempotence keeps one
// request in flight per broker; that cannot be tuned.
func TunedProducerConfig(cfg *sarama.Config) {
	cfg.Producer.Compression = sarama.CompressionLZ4
	cfg.ChannelBufferSize = 4096
}
