package clean

import (
	"context"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/health"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/serve"
)

// Run runs the clean function with cfg until ctx ends: a consumer group on the raw topic whose
// records go through Handle to the clean topic, or to the dead-letter topic when rejected,
// exactly once: each batch of outputs and the offsets of its inputs commit in one Kafka
// transaction (see kafka.Transactor). Before a raw partition is processed, the de-duplication
// window is restored from the committed tail of the clean topic (see Restorer). It serves
// /healthz, /readyz and /metrics on cfg.HTTPAddr (or opts.Listener) from the start, while it
// connects to Kafka; /readyz holds once it is connected and has restored its partitions, and
// fails while its transactions stall. On shutdown it commits what it has processed.
func Run(ctx context.Context, cfg config.Clean, opts serve.Options) error {
	fn, err := serve.New("clean", cfg.Common, opts)
	if err != nil {
		return err
	}
	f := New(cfg, fn.Registry)
	t := &task{
		events:   kafka.NewEventProcessor(f, cfg.Topics.Clean, cfg.Topics.DeadLetter, fn.Registry, fn.Logger),
		restorer: NewRestorer(f, cfg.Brokers, kafka.ClientID(cfg.InstanceID, "clean-restore"), cfg.Topics.Raw, cfg.Topics.Clean, fn.Registry, fn.Logger),
		f:        f,
	}
	tx := kafka.NewTransactor(kafka.TransactorConfig{
		Name:       "clean",
		Brokers:    cfg.Brokers,
		InstanceID: cfg.InstanceID,
		Group:      cfg.Group,
		Topic:      cfg.Topics.Raw,
		DeadLetter: cfg.Topics.DeadLetter,
		Sarama:     opts.Sarama,
		Hook:       opts.TransactionHook,
	}, t, fn.Registry, fn.Logger)
	fn.AddReadiness(health.ReadinessFunc(tx.Ready))
	fn.Go(tx)
	return fn.Run(ctx)
}

// task is clean as a kafka.Task: Handle over each record, the de-duplication window as state.
type task struct {
	events   *kafka.EventProcessor
	restorer *Restorer
	f        *Function
}

func (t *task) Restore(ctx context.Context, partition int32, offset int64) error {
	return t.restorer.Restore(ctx, partition, offset)
}

func (t *task) Process(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage {
	return t.events.Process(ctx, msg)
}

func (t *task) Flush(context.Context, int32) ([]*sarama.ProducerMessage, error) { return nil, nil }

// Forget empties the window after a failed transaction: it may hold events whose outputs were
// discarded, which would otherwise pass for duplicates when they are processed again. A
// partition that moved away leaves its keys behind: they match nothing this replica reads.
func (t *task) Forget(_ []int32, aborted bool) {
	if aborted {
		t.f.forget()
	}
}
