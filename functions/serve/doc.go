// Package serve is the process shell every recoflow function runs in: its HTTP server with
// /healthz, /readyz and /metrics beside the function's routes, its background components,
// logging, settings and an orderly shutdown. With it and package kafka a function is a small
// handler plus a Run function that wires the handler to its topics.
//
// # Writing a function
//
// A function's package exports its handler and a Run that its binary and the local runner both
// call. A consumer of CloudEvents, such as clean, looks like this:
//
//	// Handle is the function itself: no Kafka, no HTTP, tested by calling it.
//	func (f *Function) Handle(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error)
//
//	func Run(ctx context.Context, cfg config.Clean, opts serve.Options) error {
//		fn, err := serve.New("clean", cfg.Common, opts) // logger, metrics, HTTP server
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
//		producer, err := kafka.NewProducer(producerClient)
//		if err != nil {
//			return fn.Abort(err)
//		}
//		fn.OnShutdown(producer.Close) // runs after the source has drained
//		events := kafka.NewEventProcessor(New(cfg, fn.Registry),
//			kafka.NewSink(producer, cfg.Topics.Clean), cfg.Topics.DeadLetter, fn.Registry, fn.Logger)
//		fn.Go(kafka.NewSource(consumerClient, cfg.Group, []string{cfg.Topics.Raw}, events, producer, fn.Registry, fn.Logger))
//		return fn.Run(ctx)
//	}
//
// (clean also sets Source.OnAssign, to restore its de-duplication window before it processes
// newly assigned partitions.) An HTTP function registers its routes with Function.Handle
// instead and sends through a Sink; a function with its own consume loop (popularity's
// transactions) adds it with Function.Go as a Component. The binary is a few lines:
//
//	func main() {
//		os.Exit(serve.Main(func(ctx context.Context) error {
//			cfg := config.DefaultClean()
//			if err := serve.ParseSettings("clean", &cfg, os.Args[1:], os.LookupEnv); err != nil {
//				return err
//			}
//			return clean.Run(ctx, cfg, serve.Options{})
//		}))
//	}
//
// # Serving and stopping
//
// Function serves the function's routes beside /healthz (the process is up), /readyz (every
// Readiness holds; the first Kafka client from Connect adds a probe) and /metrics (the
// function's own prometheus.Registry; nothing is global). Run stops on the context, which Main
// ends on SIGTERM: the HTTP server finishes its requests while the components finish their
// in-flight work, then the OnShutdown functions run in reverse order, all within the settings'
// ShutdownTimeout. HTTP errors are RFC 9457 problems: NewProblem and WriteProblem.
package serve
