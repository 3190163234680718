package popularitytest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
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

type servedItem struct {
	ID        string                    `json:"id"`
	Category  string                    `json:"category"`
	Score     float64                   `json:"score"`
	Counts    map[contract.Action]int64 `json:"counts"`
	UpdatedAt time.Time                 `json:"updated_at"`
	AsOf      time.Time                 `json:"as_of"`
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
		Items []servedItem `json:"items"`
		AsOf  time.Time    `json:"as_of"`
	}
	if err := h.get("/v1/top?"+params.Encode(), &list); err != nil {
		return nil
	}
	out := make([]hotness.Entry, len(list.Items))
	for i, it := range list.Items {
		it.AsOf = list.AsOf
		out[i] = h.entry(it, now)
	}
	return out
}

// Item implements Ranking with GET /v1/items/{id}.
func (h HTTPRanking) Item(id string, now time.Time) (hotness.Entry, bool) {
	var it servedItem
	if err := h.get("/v1/items/"+url.PathEscape(id), &it); err != nil {
		return hotness.Entry{}, false
	}
	return h.entry(it, now), true
}

func (h HTTPRanking) entry(it servedItem, now time.Time) hotness.Entry {
	return hotness.Entry{
		ItemID:    it.ID,
		Category:  it.Category,
		Score:     it.Score * math.Exp2(-float64(now.Sub(it.AsOf))/float64(h.HalfLife)),
		Counts:    it.Counts,
		UpdatedAt: it.UpdatedAt,
	}
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
