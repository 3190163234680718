package popularity

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/functions/hotness"
)

// pageTopN is how many items the live page lists unless asked for another number.
const pageTopN = 20

//go:embed page
var pageFiles embed.FS

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"score":   func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"seconds": func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) + " s" },
	"clock":   func(t time.Time) string { return t.UTC().Format("15:04:05 UTC") },
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"itemURL": func(id string) string { return "/items/" + url.PathEscape(id) },
}).ParseFS(pageFiles, "page/*.html"))

// NewPage returns the live "what's hot" page over r and src:
//
//	GET /                    the top list, filtered by ?category=, ?segment= and ?n=
//	GET /items/{id}          one item: counts by action and its score over time
//	GET /static/...          the page's script and style sheet
//
// Both pages are complete HTML from the server, so they work without JavaScript; the script then
// keeps them current by polling the JSON API, which ranks on the server, so a page never receives
// more than the n items it shows. now is time.Now when nil.
func NewPage(r Ranking, src FreshnessSource, topNMax int, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	p := &page{ranking: r, freshness: src, topNMax: topNMax, now: now}
	static, _ := fs.Sub(pageFiles, "page/static")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.top)
	mux.HandleFunc("GET /items/{id}", p.item)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	return mux
}

type page struct {
	ranking   Ranking
	freshness FreshnessSource
	topNMax   int
	now       func() time.Time
}

// topPage is what the top list page shows.
type topPage struct {
	Category, Segment string
	N                 int
	Items             []pageItem
	AsOf              time.Time
	Freshness         freshness.Report
	Error             string
}

// pageItem is one item with its counts in the order of contract.Actions.
type pageItem struct {
	hotness.Entry
	Rank   int
	Counts []actionCount
}

type actionCount struct {
	Action contract.Action
	Count  int64
}

func (p *page) top(w http.ResponseWriter, r *http.Request) {
	now := p.now().UTC()
	data := topPage{N: pageTopN, AsOf: now, Freshness: p.freshness.Freshness(now)}
	q := r.URL.Query()
	data.Category = strings.ToLower(strings.TrimSpace(q.Get("category")))
	data.Segment = strings.TrimSpace(q.Get("segment"))
	status := http.StatusOK
	if s := q.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > p.topNMax {
			status, data.Error = http.StatusBadRequest, fmt.Sprintf("n must be a whole number from 1 to %d.", p.topNMax)
		} else {
			data.N = n
		}
	}
	for i, e := range p.ranking.Top(hotness.Query{N: data.N, Category: data.Category, Segment: data.Segment}, now) {
		data.Items = append(data.Items, pageItemOf(e, i+1))
	}
	render(w, status, "top.html", data)
}

// itemPage is what the item page shows.
type itemPage struct {
	Item      pageItem
	AsOf      time.Time
	Freshness freshness.Report
}

func (p *page) item(w http.ResponseWriter, r *http.Request) {
	now := p.now().UTC()
	e, ok := p.ranking.Item(r.PathValue("id"), now)
	if !ok {
		render(w, http.StatusNotFound, "missing.html", r.PathValue("id"))
		return
	}
	render(w, http.StatusOK, "item.html", itemPage{Item: pageItemOf(e, 0), AsOf: now, Freshness: p.freshness.Freshness(now)})
}

func pageItemOf(e hotness.Entry, rank int) pageItem {
	it := pageItem{Entry: e, Rank: rank}
	for _, a := range contract.Actions {
		it.Counts = append(it.Counts, actionCount{Action: a, Count: e.Counts[a]})
	}
	return it
}

func render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := pageTemplates.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}
