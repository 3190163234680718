package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/health"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafkaauth"
)

// Component is a long-running part of a function, such as a consumer or a probe. Run works until
// ctx ends, then finishes what it started and returns nil; an error before that stops the whole
// function.
type Component interface {
	Run(ctx context.Context) error
}

// ComponentFunc adapts a function to a Component.
type ComponentFunc func(ctx context.Context) error

// Run calls f.
func (f ComponentFunc) Run(ctx context.Context) error { return f(ctx) }

// Options holds what the hosting process gives a function besides its settings. The zero value
// suits a function running alone in its pod.
type Options struct {
	// Logger is where the function logs; nil builds one from the settings' level and format,
	// writing to standard error.
	Logger *slog.Logger
	// Listener is where the HTTP server accepts connections; nil listens on the settings'
	// HTTPAddr. Tests and the local runner pass one to know the address in advance.
	Listener net.Listener
	// ProbeInterval is how often Kafka's reachability is checked for /readyz; zero means 5s.
	ProbeInterval time.Duration
	// Sarama, when set, adjusts every Kafka client configuration of a transactional function,
	// after the function's own settings. Tests use it for shorter group timeouts.
	Sarama func(*sarama.Config)
	// TransactionHook, when set, is called at each stage of every transaction of a
	// transactional function (see kafka.TransactorConfig.Hook). It exists for fault injection.
	TransactionHook func(context.Context, kafka.Stage) error
}

// Function is the shell a recoflow function runs in: its Kafka clients, its HTTP server with
// the function's routes beside /healthz, /readyz and /metrics, its background components, and
// an orderly shutdown. Build it with New, connect and register, then call Run once.
type Function struct {
	// Name names the function in logs and Kafka client ids, such as "ingest".
	Name string
	// Logger is the function's logger.
	Logger *slog.Logger
	// Registry holds the function's metrics, served on /metrics.
	Registry *prometheus.Registry

	common  config.Common
	opts    Options
	api     *http.ServeMux
	mu      sync.Mutex
	checks  []health.Readiness
	parts   []Component
	closers []func() error
	probing bool
	// running and runCtx are set once Run has started the components.
	running *errgroup.Group
	runCtx  context.Context
}

// New returns the Function name with the shared settings common.
func New(name string, common config.Common, opts Options) (*Function, error) {
	log := opts.Logger
	if log == nil {
		var err error
		if log, err = NewLogger(os.Stderr, common.LogLevel, common.LogFormat); err != nil {
			return nil, err
		}
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = 5 * time.Second
	}
	return &Function{
		Name:     name,
		Logger:   log.With("function", name),
		Registry: health.NewRegistry(),
		common:   common,
		opts:     opts,
		api:      http.NewServeMux(),
	}, nil
}

// SaramaConfig returns NewSaramaConfig for one of the function's Kafka clients, named after the
// instance, the function and role (such as "producer").
func (f *Function) SaramaConfig(role string) *sarama.Config {
	return kafka.NewSaramaConfig(kafka.ClientID(f.common.InstanceID, f.Name+"-"+role))
}

// Connect opens a Kafka client with cfg, authenticated and encrypted as the settings' KafkaAuth
// says, retrying until Kafka answers or ctx ends. The client is closed when the function stops,
// after every component and the HTTP server. The first client also feeds /readyz: the function
// is not ready while Kafka does not answer it.
func (f *Function) Connect(ctx context.Context, cfg *sarama.Config) (sarama.Client, error) {
	if err := kafkaauth.Configure(cfg, f.common.KafkaAuth); err != nil {
		return nil, err
	}
	client, err := kafka.Connect(ctx, f.common.Brokers, cfg, f.Logger)
	if err != nil {
		return nil, err
	}
	f.OnShutdown(client.Close)
	f.mu.Lock()
	probing := f.probing
	f.probing = true
	f.mu.Unlock()
	if !probing {
		probe := kafka.NewProbe(client, f.opts.ProbeInterval, f.Registry, f.Logger)
		f.AddReadiness(probe)
		f.Go(probe)
	}
	return client, nil
}

// Handle registers an API route on the function's HTTP server, with http.ServeMux patterns.
func (f *Function) Handle(pattern string, h http.Handler) { f.api.Handle(pattern, h) }

// Go adds a component to run with the function; once Run has started, it starts at once.
func (f *Function) Go(c Component) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running != nil {
		ctx := f.runCtx
		f.running.Go(func() error { return c.Run(ctx) })
		return
	}
	f.parts = append(f.parts, c)
}

// AddReadiness adds a condition to /readyz.
func (f *Function) AddReadiness(r health.Readiness) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, r)
}

// OnShutdown registers fn to run when the function stops, after the components and the HTTP
// server have finished. Functions run in the reverse order of registration, so a producer
// registered after its client is closed before it.
func (f *Function) OnShutdown(fn func() error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closers = append(f.closers, fn)
}

// Run serves HTTP and runs the components until ctx ends or one of them fails. Then it shuts
// down in order: the HTTP server stops accepting and lets requests in flight finish while the
// components finish their in-flight work, then the OnShutdown functions run. The shutdown is
// bounded by the settings' ShutdownTimeout. Run returns nil after a shutdown that ctx asked for.
func (f *Function) Run(ctx context.Context) error {
	ln := f.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", f.common.HTTPAddr); err != nil {
			f.close()
			return fmt.Errorf("listen on %s: %w", f.common.HTTPAddr, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	// The HTTP server starts first: /healthz answers while the components connect to Kafka.
	g.Go(func() error { return f.serve(gctx, ln) })
	f.mu.Lock()
	parts := slices.Clone(f.parts)
	f.running, f.runCtx = g, gctx
	f.mu.Unlock()
	for _, c := range parts {
		g.Go(func() error { return c.Run(gctx) })
	}
	f.Logger.Info("function started", "http", ln.Addr().String())

	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-gctx.Done():
		f.Logger.Info("shutting down", "timeout", f.common.ShutdownTimeout)
		select {
		case err = <-done:
		case <-time.After(f.common.ShutdownTimeout):
			err = fmt.Errorf("graceful shutdown did not finish within %s", f.common.ShutdownTimeout)
		}
	}
	err = errors.Join(err, f.close())
	if err != nil {
		f.Logger.Error("function stopped", "error", err)
		return err
	}
	f.Logger.Info("function stopped")
	return nil
}

// Bounds of every function's HTTP server, so that slow or idle clients cannot hold it: a request
// must arrive whole, headers and body, within readTimeout (a handler may set a shorter deadline
// for its body), and the answer must be written within writeTimeout; at most maxConnections are
// open at once, and further clients wait for one to close.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	maxConnections    = 1024
)

func (f *Function) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           f.routes(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(f.Logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(netutil.LimitListener(ln, maxConnections)) }()
	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.common.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("http server shutdown: %w", err)
	}
	return nil
}

// routes joins the health endpoints and the function's API.
func (f *Function) routes() http.Handler {
	mux := health.Handler(f.Registry, func() []health.Readiness {
		f.mu.Lock()
		defer f.mu.Unlock()
		return slices.Clone(f.checks)
	})
	mux.Handle("/", f.api)
	return mux
}

// Abort runs the OnShutdown functions and returns err joined with their errors. Call it instead
// of Run when setting the function up fails after something was registered.
func (f *Function) Abort(err error) error {
	return errors.Join(err, f.close())
}

func (f *Function) close() error {
	f.mu.Lock()
	closers := f.closers
	f.closers = nil
	f.mu.Unlock()
	var errs []error
	for _, fn := range slices.Backward(closers) {
		if err := fn(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
