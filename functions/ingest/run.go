package ingest

import (
	"context"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/health"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/serve"
)

// topicMaxMessageBytes is Kafka's default max.message.bytes, which recoflow's topics keep: the
// largest record batch, after compression, a topic takes.
const topicMaxMessageBytes = 1048588

// ProducerConfig sets kafka up the way ingest produces: records and batches as large as the topic
// takes before compression, so that what ingest accepts does not depend on how well an event
// compresses (a larger record is refused as too large, as the broker would refuse it) and no
// batch of several requests' records outgrows the topic (sarama caps a partition's batch at the
// same size); batches are compressed with lz4, which a broker stores and sends in about half the
// bytes (BenchmarkBatchVersusRawProducer).
func ProducerConfig(c *sarama.Config) {
	c.Producer.MaxMessageBytes = topicMaxMessageBytes
	c.Producer.Compression = sarama.CompressionLZ4
}

// Run runs the ingest function with cfg until ctx ends: it serves the API on cfg.HTTPAddr (or
// opts.Listener) beside /healthz, /readyz and /metrics from the start, connects to Kafka in the
// background (retrying until Kafka answers; /readyz fails and requests get 503 until then), and
// on shutdown lets the requests in flight finish before it closes the producer. It is ready only
// while Kafka answers and acknowledges produces within the produce timeout.
func Run(ctx context.Context, cfg config.Ingest, opts serve.Options) error {
	fn, err := serve.New("ingest", cfg.Common, opts)
	if err != nil {
		return err
	}
	sink := kafka.NewSink(nil, cfg.Topics.Raw)
	fn.AddReadiness(sink)
	fn.Handle("/", NewHandler(cfg, sink, fn.Registry, fn.Logger))
	fn.Go(serve.ComponentFunc(func(ctx context.Context) error {
		producerConfig := fn.SaramaConfig("producer")
		ProducerConfig(producerConfig)
		client, err := fn.Connect(ctx, producerConfig)
		if err != nil {
			return nil // ctx ended before Kafka answered
		}
		producer, err := kafka.NewProducer(client)
		if err != nil {
			return err
		}
		fn.OnShutdown(producer.Close)
		// Ingest is only as ready as its produces: not while Kafka leaves them unacknowledged.
		fn.AddReadiness(health.ReadinessFunc(func() error { return producer.Health(cfg.ProduceTimeout) }))
		sink.Attach(producer)
		return nil
	}))
	return fn.Run(ctx)
}
