package popularity

import (
	"net/http"
	"time"

	"github.com/recoflow/recoflow/functions/freshness"
)

// observeFreshness records, for each item update the view just applied, how long ago the item's
// newest event happened. Updates read while catching up at start are not observed: they measure
// the downtime, not the pipeline.
func (v *View) observeFreshness(states []partState, now time.Time) {
	for _, s := range states {
		d := now.Sub(s.state.UpdatedAt)
		v.opts.Metrics.Freshness.Observe(max(d, 0).Seconds())
		v.freshness.Observe(d, now)
	}
}

// Freshness returns the freshness of the view over the last freshness.DefaultWindow.
func (v *View) Freshness(now time.Time) freshness.Report {
	return freshness.NewReport(v.freshness.Summarize(now), freshness.DefaultWindow, now)
}

// FreshnessSource tells how fresh the served rankings are. View implements it.
type FreshnessSource interface {
	Freshness(now time.Time) freshness.Report
}

// NewFreshnessHandler serves GET freshness.Path: the Report of src as JSON. The operator reads it
// into the pipeline's status; now is time.Now when nil.
func NewFreshnessHandler(src FreshnessSource, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+freshness.Path, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, src.Freshness(now()))
	})
	mux.HandleFunc(freshness.Path, methodNotAllowed)
	return mux
}
