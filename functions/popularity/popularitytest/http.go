package popularitytest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/recoflow/recoflow/functions/hotness"
)

// HTTPRanking reads what a running popularity function serves over its HTTP API, as a Ranking.
//
// The API decays every score to the instant it answers (as_of); HTTPRanking rescales each score
// to the instant the caller asks for, so answers given at different instants compare with one
// model. A failed request reads as an unknown item or an empty list.
type HTTPRanking struct {
	// BaseURL is where the function serves, such as "http://127.0.0.1:8081".
	BaseURL string
	// HalfLife is the function's half-life.
	HalfLife time.Duration
	// Client sends the requests; http.DefaultClient when nil.
	Client *http.Client
}

// Top implements Ranking with GET /v1/top.
func (h HTTPRanking) Top(q hotness.Query, now time.Time) []hotness.Entry {
	params := url.Values{"n": {strconv.Itoa(q.N)}}
	if q.Category != "" {
		params.Set("category", q.Category)
	}
	if q.Segment != "" {
		params.Set("segment", q.Segment)
	}
	var list struct {
		Items []hotness.Entry `json:"items"`
		AsOf  time.Time       `json:"as_of"`
	}
	if err := h.get("/v1/top?"+params.Encode(), &list); err != nil {
		return nil
	}
	for i := range list.Items {
		list.Items[i].Score = h.decay(list.Items[i].Score, list.AsOf, now)
	}
	return list.Items
}

// Item implements Ranking with GET /v1/items/{id}.
func (h HTTPRanking) Item(id string, now time.Time) (hotness.Entry, bool) {
	var it struct {
		hotness.Entry
		AsOf time.Time `json:"as_of"`
	}
	if err := h.get("/v1/items/"+url.PathEscape(id), &it); err != nil {
		return hotness.Entry{}, false
	}
	it.Score = h.decay(it.Score, it.AsOf, now)
	return it.Entry, true
}

// decay returns score, decayed to asOf, decayed further to now.
func (h HTTPRanking) decay(score float64, asOf, now time.Time) float64 {
	return score * math.Exp2(-float64(now.Sub(asOf))/float64(h.HalfLife))
}

func (h HTTPRanking) get(path string, v any) error {
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Get(h.BaseURL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
