package ingest

import (
	"context"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/health"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/serve"
)

// recordOverhead is room for a record's CloudEvents headers beyond the largest accepted body.
const recordOverhead = 64 << 10

// ProducerConfig sets kafka up the way ingest produces: records as large as the largest accepted
// body plus its CloudEvents headers. Sarama also caps a produce request's batch at that size, so
// the setting matters for throughput as well.
func ProducerConfig(c *sarama.Config, cfg config.Ingest) {
	c.Producer.MaxMessageBytes = max(c.Producer.MaxMessageBytes, int(cfg.MaxBodyBytes)+recordOverhead)
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
		ProducerConfig(producerConfig, cfg)
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
