// Package runtime is what every recoflow function shares: Kafka clients, sources and sinks of
// CloudEvents, dead-lettering, the HTTP server with /healthz, /readyz and /metrics, logging,
// settings and an orderly shutdown. With it a function is a small handler plus a Run function
// that wires the handler to its topics.
//
// # Writing a function
//
// A function's package exports its handler and a Run that its binary and the local runner both
// call. A consumer of CloudEvents, such as clean, looks like this:
//
//	// Handle is the function itself: no Kafka, no HTTP, tested by calling it.
//	func (f *Function) Handle(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error)
//
//	func Run(ctx context.Context, cfg config.Clean, opts runtime.Options) error {
//		fn, err := runtime.New("clean", cfg.Common, opts) // logger, metrics, HTTP server
//		if err != nil {
//			return err
//		}
//		producerClient, err := fn.Connect(ctx, fn.SaramaConfig("producer")) // also feeds /readyz
//		if err != nil {
//			return err
//		}
//		consumerClient, err := fn.Connect(ctx, fn.SaramaConfig("consumer"))
//		if err != nil {
//			return fn.Abort(err)
//		}
//		producer, err := runtime.NewProducer(producerClient)
//		if err != nil {
//			return fn.Abort(err)
//		}
//		fn.OnShutdown(producer.Close) // runs after the source has drained
//		events := runtime.NewEventProcessor(New(cfg, fn.Registry),
//			runtime.NewSink(producer, cfg.Topics.Clean), cfg.Topics.DeadLetter, fn.Registry, fn.Logger)
//		fn.Go(runtime.NewSource(consumerClient, cfg.Group, []string{cfg.Topics.Raw}, events, producer, fn.Registry, fn.Logger))
//		return fn.Run(ctx)
//	}
//
// (clean also sets Source.OnAssign, to restore its de-duplication window before it processes
// newly assigned partitions.) An HTTP function registers its routes with Function.Handle
// instead and sends through a Sink; a function with its own consume loop (popularity's
// transactions) adds it with Function.Go as a Component. The binary is a few lines:
//
//	func main() {
//		os.Exit(runtime.Main(func(ctx context.Context) error {
//			cfg := config.DefaultClean()
//			if err := runtime.ParseSettings("clean", &cfg, os.Args[1:], os.LookupEnv); err != nil {
//				return err
//			}
//			return clean.Run(ctx, cfg, runtime.Options{})
//		}))
//	}
//
// # Kafka
//
// NewSaramaConfig is the one sarama configuration: Kafka 4.x protocol, an idempotent producer
// with acks=all and one request in flight, the same partitioner everywhere (so equal-sized
// topics are co-partitioned by item id), consumers that start new groups at the oldest offset.
//
// Producer hands records to one sarama AsyncProducer and reports when each caller's records are
// acknowledged; concurrent callers share produce requests. Sink puts CloudEvents on a topic in
// binary content mode through the sdk's kafka_sarama encoder, keyed by subject (the item id),
// and returns sdk results (cloudevents.IsACK, IsNACK, IsUndelivered).
//
// Source runs a consumer group with at-least-once delivery: each record goes through a
// Processor, its outputs are produced without waiting, and its offset is marked only when its
// outputs and those of every older record of its partition are acknowledged. Failed produces are
// retried with backoff while the partition stays assigned. On shutdown or rebalance the records
// in flight finish and their offsets are committed before the partition is released.
// EventProcessor is the Processor for a CloudEvents handler: it decodes records, and sends
// records that are not CloudEvents or that the handler rejects to the dead-letter topic
// unchanged, with the event.HeaderDLQ* headers that DeadLetter adds.
//
// # Serving and stopping
//
// Function serves the function's routes beside /healthz (the process is up), /readyz (every
// Readiness holds; the first Kafka client from Connect adds a probe) and /metrics (the
// function's own prometheus.Registry; nothing is global). Run stops on the context, which Main
// ends on SIGTERM: the HTTP server finishes its requests while the components finish their
// in-flight work, then the OnShutdown functions run in reverse order, all within the settings'
// ShutdownTimeout. HTTP errors are RFC 9457 problems: NewProblem and WriteProblem.
//
// The kafkatest package starts in-process brokers for tests.
package runtime
