package popularity_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/popularity"
)

// BenchmarkPageAtMillionItems measures the live page's first paint (server-rendered top 20) and
// one of its polls (GET /v1/top?n=20, JSON) over a million items in 50 categories, side by side:
// both rank on the server and send 20 items, so neither grows with the number of items.
func BenchmarkPageAtMillionItems(b *testing.B) {
	board := hotness.NewBoard(hotness.Config{HalfLife: 6 * time.Hour, Weights: map[contract.Action]float64{contract.ActionLiked: 3}})
	epoch := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for k := range 1_000_000 {
		board.Apply(hotness.Interaction{ItemID: "item-" + strconv.Itoa(k), Category: "category-" + strconv.Itoa(k%50),
			Action: contract.ActionLiked, Time: epoch.Add(time.Duration(k) * 86 * time.Millisecond)})
	}
	now := func() time.Time { return epoch.Add(24 * time.Hour) }
	fresh := fixedFreshness{Samples: 100, P50Seconds: 0.2, P99Seconds: 0.8}
	page := popularity.NewPage(board, fresh, 1000, now)
	api := popularity.NewHandler(board, 1000, now)
	for _, c := range []struct {
		name    string
		handler http.Handler
		path    string
	}{
		{"page", page, "/"},
		{"page-category", page, "/?category=category-7"},
		{"poll", api, "/v1/top?n=20"},
		{"poll-category", api, "/v1/top?n=20&category=category-7"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			for b.Loop() {
				w := httptest.NewRecorder()
				c.handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", c.path, w.Code)
				}
			}
		})
	}
}
