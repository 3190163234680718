package popularity

import (
	"context"
	"errors"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/functions/health"
	"github.com/recoflow/recoflow/functions/serve"
)

// Run runs the popularity function with cfg until ctx ends, in cfg.Mode: scoring runs the
// exactly-once processor from the clean topic to the popularity topic; serving runs the view that
// follows the popularity topic, the HTTP API and the live page over it on cfg.HTTPAddr (or opts.Listener); all
// runs both. Every mode serves /healthz, /readyz and /metrics. /readyz fails until the processor
// has restored the partitions of its first assignment (scoring) and the view has read the
// popularity topic up to where it ended at start (serving); after that the view keeps answering
// from memory whatever Kafka does. On shutdown the processor commits what it has processed and
// leaves its group. Run returns ErrFenced when a newer instance of the same name took over.
func Run(ctx context.Context, cfg config.Popularity, opts serve.Options) error {
	fn, err := serve.New("popularity", cfg.Common, opts)
	if err != nil {
		return err
	}
	o := Options{Logger: fn.Logger.With("mode", cfg.Mode), Metrics: NewMetrics(fn.Registry)}
	var parts []interface{ Ready() bool }
	var notReady []error
	if cfg.Scores() {
		processor := NewProcessor(cfg, o)
		fn.Go(processor)
		parts = append(parts, processor)
		notReady = append(notReady, errors.New("processor: restoring its partitions"))
	}
	if cfg.Serves() {
		view := NewView(cfg, o)
		fn.Go(view)
		fn.Handle("/v1/", NewHandler(view, cfg.TopNMax, nil))
		fn.Handle(freshness.Path, NewFreshnessHandler(view, nil))
		fn.Handle("/", NewPage(view, view, cfg.TopNMax, nil))
		parts = append(parts, view)
		notReady = append(notReady, errors.New("view: catching up with the popularity topic"))
	}
	fn.AddReadiness(health.ReadinessFunc(func() error {
		var errs []error
		for i, p := range parts {
			if !p.Ready() {
				errs = append(errs, notReady[i])
			}
		}
		return errors.Join(errs...)
	}))
	return fn.Run(ctx)
}
