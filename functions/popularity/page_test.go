package popularity_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/popularity"
)

// fakeRanking ranks a fixed list: enough to test the page's HTML without Kafka; the browser test
// drives the real pipeline.
type fakeRanking []hotness.Entry

func (f fakeRanking) Top(q hotness.Query, _ time.Time) []hotness.Entry {
	var out []hotness.Entry
	for _, e := range f {
		if (q.Category == "" || e.Category == q.Category) && len(out) < q.N {
			out = append(out, e)
		}
	}
	return out
}

func (f fakeRanking) Item(id string, _ time.Time) (hotness.Entry, bool) {
	for _, e := range f {
		if e.ItemID == id {
			return e, true
		}
	}
	return hotness.Entry{}, false
}

type fixedFreshness freshness.Report

func (f fixedFreshness) Freshness(time.Time) freshness.Report { return freshness.Report(f) }

func TestPageRendersWithoutJavaScript(t *testing.T) {
	items := fakeRanking{
		{ItemID: "dune", Category: "books", Score: 12.5, Counts: map[contract.Action]int64{contract.ActionLiked: 4}},
		{ItemID: "<b>x</b>", Category: "films", Score: 3, Counts: map[contract.Action]int64{contract.ActionViewed: 9}},
	}
	srv := httptest.NewServer(popularity.NewPage(items, fixedFreshness{Samples: 10, P99Seconds: 0.42, P50Seconds: 0.1}, 1000, nil))
	defer srv.Close()

	for _, tt := range []struct {
		path       string
		code       int
		want, deny []string
	}{
		{"/", 200, []string{"<h1>What's hot</h1>", `<a href="/items/dune">dune</a>`, "12.50", `data-action="liked">4<`, "0.42 s", `<label for="category">`, "&lt;b&gt;x&lt;/b&gt;"}, []string{"<b>x</b>"}},
		{"/?category=books", 200, []string{"dune", "Top 20 in books"}, []string{"films"}},
		{"/?category=none", 200, []string{"No items yet for this filter."}, []string{"dune"}},
		{"/?n=0", 400, []string{`role="alert"`, "from 1 to 1000"}, nil},
		{"/items/dune", 200, []string{"<h1>dune</h1>", "Events by action", "12.50", `data-action="liked">4<`}, nil},
		{"/items/%3Cb%3Ex%3C%2Fb%3E", 200, []string{"<h1>&lt;b&gt;x&lt;/b&gt;</h1>"}, nil},
		{"/items/nothing", 404, []string{"No events for"}, nil},
		{"/static/app.js", 200, []string{"/v1/top?"}, nil},
		{"/static/style.css", 200, []string{"--fg"}, nil},
		{"/elsewhere", 404, nil, nil},
	} {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.code)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(body), w) {
				t.Errorf("GET %s lacks %q:\n%s", tt.path, w, body)
			}
		}
		for _, d := range tt.deny {
			if strings.Contains(string(body), d) {
				t.Errorf("GET %s has %q", tt.path, d)
			}
		}
	}
}
