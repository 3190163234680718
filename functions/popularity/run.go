package popularity

import (
	"context"
	"errors"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/functions/health"
	"github.com/recoflow/recoflow/functions/serve"
)

// Run runs the popularity function with cfg until ctx ends: the exactly-once processor from the
// clean topic to the popularity topic, the view that follows the popularity topic, and the HTTP
// API over the view on cfg.HTTPAddr (or opts.Listener) beside /healthz, /readyz and /metrics.
// /readyz fails until the processor has restored the partitions of its first assignment and the
// view has read the popularity topic up to where it ended at start; after that the view keeps
// answering from memory whatever Kafka does. On shutdown the processor commits what it has
// processed and leaves its group. Run returns ErrFenced when a newer instance of the same name
// took over.
func Run(ctx context.Context, cfg config.Popularity, opts serve.Options) error {
	fn, err := serve.New("popularity", cfg.Common, opts)
	if err != nil {
		return err
	}
	o := Options{Logger: fn.Logger, Metrics: NewMetrics(fn.Registry)}
	processor, view := NewProcessor(cfg, o), NewView(cfg, o)
	fn.Go(processor)
	fn.Go(view)
	fn.AddReadiness(health.ReadinessFunc(func() error {
		var errs []error
		if !processor.Ready() {
			errs = append(errs, errors.New("processor: restoring its partitions"))
		}
		if !view.Ready() {
			errs = append(errs, errors.New("view: catching up with the popularity topic"))
		}
		return errors.Join(errs...)
	}))
	fn.Handle("/v1/", NewHandler(view, cfg.TopNMax, nil))
	fn.Handle(freshness.Path, NewFreshnessHandler(view, nil))
	return fn.Run(ctx)
}
