package ingest

import (
	"context"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
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
}

// Run runs the ingest function with cfg until ctx ends: it connects to Kafka, serves the API on
// cfg.HTTPAddr (or opts.Listener) beside /healthz, /readyz and /metrics, and on shutdown lets
// the requests in flight finish before it closes the producer.
func Run(ctx context.Context, cfg config.Ingest, opts serve.Options) error {
	fn, err := serve.New("ingest", cfg.Common, opts)
	if err != nil {
		return err
	}
	producerConfig := fn.SaramaConfig("producer")
	ProducerConfig(producerConfig, cfg)
	client, err := fn.Connect(ctx, producerConfig)
	if err != nil {
		return err
	}
	producer, err := kafka.NewProducer(client)
	if err != nil {
		return fn.Abort(err)
	}
	fn.OnShutdown(producer.Close)
	fn.Handle("/", NewHandler(cfg, kafka.NewSink(producer, cfg.Topics.Raw), fn.Registry, fn.Logger))
	return fn.Run(ctx)
}
