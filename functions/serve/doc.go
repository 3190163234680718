// Package serve is the process shell every recoflow function runs in: its HTTP server with
// /healthz, /readyz and /metrics beside the function's routes, its background components,
// logging, settings and an orderly shutdown. With it and package kafka a function is a small
// handler plus a Run function that wires the handler to its topics.
//
// # Writing a function
//
// A function's package exports its handler and a Run that its binary and the local runner both
// call. A consumer of CloudEvents, such as clean, is a handler run exactly once by a
// kafka.Transactor:
//
//	// Handle is the function itself: no Kafka, no HTTP, tested by calling it.
//	func (f *Function) Handle(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error)
//
//	func Run(ctx context.Context, cfg config.Clean, opts serve.Options) error {
//		fn, err := serve.New("clean", cfg.Common, opts) // logger, metrics, HTTP server
//		if err != nil {
//			return err
//		}
//		events := kafka.NewEventProcessor(New(cfg, fn.Registry), cfg.Topics.Clean, cfg.Topics.DeadLetter, fn.Registry, fn.Logger)
//		tx := kafka.NewTransactor(kafka.TransactorConfig{Name: "clean", Group: cfg.Group, Topic: cfg.Topics.Raw, ...}, task, fn.Registry, fn.Logger)
//		fn.AddReadiness(health.ReadinessFunc(tx.Ready)) // connected, restored, not stalled
//		fn.Go(tx) // connects to Kafka itself, retrying, while /healthz already answers
//		return fn.Run(ctx)
//	}
//
// where task is a kafka.Task around events that also restores the de-duplication window. An
// HTTP function registers its routes with Function.Handle instead and sends through a
// kafka.Sink that a component attaches a producer to once Function.Connect reaches Kafka. The binary is a few lines:
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
// function's own prometheus.Registry; nothing is global). The HTTP server starts before any
// component, so the probes answer while the components wait for Kafka. Run stops on the context, which Main
// ends on SIGTERM: the HTTP server finishes its requests while the components finish their
// in-flight work, then the OnShutdown functions run in reverse order, all within the settings'
// ShutdownTimeout. HTTP errors are RFC 9457 problems (package problem).
package serve
