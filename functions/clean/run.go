package clean

import (
	"context"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/serve"
)

// Run runs the clean function with cfg until ctx ends: a consumer group on the raw topic whose
// records go through Handle to the clean topic, or to the dead-letter topic when rejected, at
// least once. When partitions are assigned, the de-duplication window is first restored from
// the clean topic (see Restorer). It serves /healthz, /readyz and /metrics on cfg.HTTPAddr (or
// opts.Listener). On shutdown it finishes the records in flight and commits their offsets.
func Run(ctx context.Context, cfg config.Clean, opts serve.Options) error {
	fn, err := serve.New("clean", cfg.Common, opts)
	if err != nil {
		return err
	}
	producerClient, err := fn.Connect(ctx, fn.SaramaConfig("producer"))
	if err != nil {
		return err
	}
	consumerClient, err := fn.Connect(ctx, fn.SaramaConfig("consumer"))
	if err != nil {
		return fn.Abort(err)
	}
	producer, err := kafka.NewProducer(producerClient)
	if err != nil {
		return fn.Abort(err)
	}
	fn.OnShutdown(producer.Close)

	f := New(cfg, fn.Registry)
	events := kafka.NewEventProcessor(f, kafka.NewSink(producer, cfg.Topics.Clean), cfg.Topics.DeadLetter, fn.Registry, fn.Logger)
	source := kafka.NewSource(consumerClient, cfg.Group, []string{cfg.Topics.Raw}, events, producer, fn.Registry, fn.Logger)
	restorer := NewRestorer(f, consumerClient, cfg.Topics.Raw, cfg.Topics.Clean, fn.Registry, fn.Logger)
	source.OnAssign = restorer.OnAssign
	fn.Go(source)
	return fn.Run(ctx)
}
