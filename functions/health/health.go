// Package health serves what Kubernetes and Prometheus ask every function: /healthz (the
// process is up), /readyz (every Readiness holds) and /metrics (the function's own registry).
package health

import (
	"errors"
	"net/http"

	"github.com/recoflow/recoflow/functions/contract"

	"github.com/recoflow/recoflow/functions/problem"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness is one condition a function needs before it can serve, such as a reachable Kafka.
// Ready returns nil when the condition holds and says what is wrong otherwise. It must be cheap:
// /readyz calls it on every probe.
type Readiness interface {
	Ready() error
}

// ReadinessFunc adapts a function to Readiness.
type ReadinessFunc func() error

// Ready calls f.
func (f ReadinessFunc) Ready() error { return f() }

// Handler returns the handler of /healthz, /readyz and /metrics.
func Handler(reg *prometheus.Registry, checks func() []Readiness) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+contract.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET "+contract.PathReadyz, func(w http.ResponseWriter, r *http.Request) {
		var errs []error
		for _, c := range checks() {
			if err := c.Ready(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			p := problem.New(http.StatusServiceUnavailable, "not_ready", err.Error())
			p.Instance = r.URL.Path
			problem.Write(w, p)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET "+contract.PathMetrics, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// NewRegistry returns a metrics registry holding the Go runtime and process collectors, for one
// function.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
