package popularity

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/problem"
)

// DefaultTopN is the number of items GET /v1/top returns when the request does not say.
const DefaultTopN = 10

// Ranking answers the queries the HTTP API serves. View implements it.
type Ranking interface {
	// Top returns the top items for q, with scores decayed to now.
	Top(q hotness.Query, now time.Time) []hotness.Entry
	// Item returns one item with its score decayed to now, and false when it is unknown.
	Item(id string, now time.Time) (hotness.Entry, bool)
}

// ItemAnswer is the answer to GET /v1/items/{id}: the item and the instant its score is
// decayed to.
type ItemAnswer struct {
	hotness.Entry
	// AsOf is the instant the score is decayed to.
	AsOf time.Time `json:"as_of"`
}

// TopList is the answer to GET /v1/top.
type TopList struct {
	// Items are the top items in rank order.
	Items []hotness.Entry `json:"items"`
	// AsOf is the instant the scores are decayed to.
	AsOf time.Time `json:"as_of"`
}

// NewHandler returns the popularity HTTP API over r:
//
//	GET /v1/top?n=10&category=...&segment=...  the top n items (n from 1 to topNMax, default 10)
//	GET /v1/items/{id}                         one item, 404 when unknown; id path-escaped
//
// Bad requests are answered with application/problem+json. now tells the time scores are
// decayed to; time.Now when nil.
func NewHandler(r Ranking, topNMax int, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	a := &api{ranking: r, topNMax: topNMax, now: now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/top", a.top)
	// {id...} and not {id}: an id may hold slashes, escaped as %2F, and the mux takes a lone
	// escaped slash in a single segment for a trailing slash. Every id is then one escaped path.
	mux.HandleFunc("GET /v1/items/{id...}", a.item)
	mux.HandleFunc("/v1/top", methodNotAllowed)
	mux.HandleFunc("/v1/items/{id...}", methodNotAllowed)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "not_found", fmt.Errorf("no resource at %s; use /v1/top or /v1/items/{id}", r.URL.Path))
	})
	return mux
}

type api struct {
	ranking Ranking
	topNMax int
	now     func() time.Time
}

func (a *api) top(w http.ResponseWriter, r *http.Request) {
	q, err := a.query(r)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid_parameter", err)
		return
	}
	now := a.now().UTC()
	items := a.ranking.Top(q, now)
	if items == nil {
		items = []hotness.Entry{}
	}
	writeJSON(w, TopList{Items: items, AsOf: now})
}

func (a *api) item(w http.ResponseWriter, r *http.Request) {
	for name := range r.URL.Query() {
		writeProblem(w, r, http.StatusBadRequest, "invalid_parameter", fmt.Errorf("unknown parameter %q", name))
		return
	}
	id, now := r.PathValue("id"), a.now().UTC()
	e, ok := a.ranking.Item(id, now)
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "unknown_item", fmt.Errorf("no events seen for item %q", id))
		return
	}
	writeJSON(w, ItemAnswer{Entry: e, AsOf: now})
}

// query reads the parameters of GET /v1/top.
func (a *api) query(r *http.Request) (hotness.Query, error) {
	q := hotness.Query{N: DefaultTopN}
	for name, values := range r.URL.Query() {
		if len(values) > 1 {
			return q, fmt.Errorf("parameter %q is given %d times", name, len(values))
		}
		value := values[0]
		switch name {
		case "n":
			n, err := strconv.Atoi(value)
			if err != nil || n <= 0 || n > a.topNMax {
				return q, fmt.Errorf("n must be a whole number from 1 to %d, not %q", a.topNMax, value)
			}
			q.N = n
		case "category":
			// Clean stores categories lower-cased.
			q.Category = strings.ToLower(strings.TrimSpace(value))
		case "segment":
			q.Segment = strings.TrimSpace(value)
		default:
			return q, fmt.Errorf("unknown parameter %q; use n, category and segment", name)
		}
	}
	return q, nil
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	writeProblem(w, r, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Errorf("method %s is not allowed; use GET", r.Method))
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, code string, err error) {
	p := problem.New(status, code, err.Error())
	p.Instance = r.URL.Path
	problem.Write(w, p)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
