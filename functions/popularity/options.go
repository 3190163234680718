package popularity

import (
	"context"
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/hotness"
)

// Options holds what the popularity function takes besides its settings.
type Options struct {
	// Logger receives the function's logs; nothing is logged when it is nil.
	Logger *slog.Logger
	// Metrics receives the function's metrics; a private registry is used when it is nil.
	Metrics *Metrics
	// Sarama, when set, adjusts every Kafka client configuration the function makes, after the
	// function's own settings. Tests use it for shorter group timeouts.
	Sarama func(*sarama.Config)
	// Hook, when set, is called at each stage of every flush. An error from it fails the flush as
	// a Kafka error would. It exists for fault-injection tests.
	Hook func(context.Context, Stage) error
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	return o
}

// scoring returns the hotness settings in cfg.
func scoring(cfg config.Popularity) hotness.Config {
	return hotness.Config{HalfLife: cfg.HalfLife, Weights: map[contract.Action]float64(cfg.Weights)}
}
