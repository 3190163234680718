package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/recoflow/recoflow/functions/config"
)

// Settings is a function's configuration: config.Ingest, config.Clean or config.Popularity.
type Settings interface {
	RegisterFlags(b *config.Binder)
	Validate() error
}

// ParseSettings fills s from the command-line args, then the environment (read through lookup,
// os.LookupEnv in production), then s's defaults, and validates the result.
func ParseSettings(name string, s Settings, args []string, lookup func(string) (string, bool)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	b := config.NewBinder(fs, lookup)
	s.RegisterFlags(b)
	if err := b.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return s.Validate()
}

// Main runs a function binary: it calls run with a context that ends on SIGTERM or SIGINT and
// returns the process exit code. A second signal stops the process at once.
func Main(run func(ctx context.Context) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		// Let a second signal kill the process while the graceful shutdown runs.
		stop()
	}()
	switch err := run(ctx); {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
}
