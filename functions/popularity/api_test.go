package popularity_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/problem"
)

// apiFixture is a board with three items:
//
//	a: 2 likes an hour ago (books, segment 25-34.f) -> 2 * 3 * 2^(-1/6)
//	b: 1 favorite now (music)                       -> 5
//	c: 1 view now (books, segment 25-34.f)          -> 1
func apiFixture(t *testing.T) (http.Handler, time.Time) {
	t.Helper()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	board := hotness.NewBoard(hotness.Config{HalfLife: 6 * time.Hour, Weights: map[contract.Action]float64{
		contract.ActionLiked: 3, contract.ActionViewed: 1, contract.ActionFavorited: 5,
	}})
	for _, in := range []hotness.Interaction{
		{ItemID: "a", Category: "books", Segment: "25-34.f", Action: contract.ActionLiked, Time: now.Add(-time.Hour)},
		{ItemID: "a", Action: contract.ActionLiked, Time: now.Add(-time.Hour)},
		{ItemID: "b", Category: "music", Action: contract.ActionFavorited, Time: now},
		{ItemID: "c", Category: "books", Segment: "25-34.f", Action: contract.ActionViewed, Time: now},
	} {
		board.Apply(in)
	}
	return popularity.NewHandler(board, 100, func() time.Time { return now }), now
}

func TestTopRanksItems(t *testing.T) {
	h, now := apiFixture(t)
	scoreA := 6 * math.Exp2(-1.0/6)
	tests := []struct {
		name   string
		target string
		want   []string
		scores []float64
	}{
		{"default n", "/v1/top", []string{"a", "b", "c"}, []float64{scoreA, 5, 1}},
		{"n", "/v1/top?n=2", []string{"a", "b"}, []float64{scoreA, 5}},
		{"n at the maximum", "/v1/top?n=100", []string{"a", "b", "c"}, []float64{scoreA, 5, 1}},
		{"category", "/v1/top?category=books", []string{"a", "c"}, []float64{scoreA, 1}},
		{"category in capitals", "/v1/top?category=%20Books", []string{"a", "c"}, []float64{scoreA, 1}},
		{"segment ranks by the segment's score", "/v1/top?segment=25-34.f", []string{"a", "c"}, []float64{3 * math.Exp2(-1.0/6), 1}},
		{"segment and category", "/v1/top?segment=25-34.f&category=books&n=1", []string{"a"}, []float64{3 * math.Exp2(-1.0/6)}},
		{"unknown category", "/v1/top?category=films", []string{}, nil},
		{"unknown segment", "/v1/top?segment=65%2B.x", []string{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %s, want 200 application/json: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			var got popularity.TopList
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !got.AsOf.Equal(now) {
				t.Errorf("as_of = %v, want %v", got.AsOf, now)
			}
			if got.Items == nil {
				t.Fatalf("items is null, want a list: %s", rec.Body)
			}
			ids := []string{}
			for i, it := range got.Items {
				ids = append(ids, it.ItemID)
				if i < len(tt.scores) && math.Abs(it.Score-tt.scores[i]) > 1e-12 {
					t.Errorf("score of %s = %v, want %v", it.ItemID, it.Score, tt.scores[i])
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Errorf("items %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestItemShowsCountsAndCategory(t *testing.T) {
	h, now := apiFixture(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/items/a", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d, want 200: %s", rec.Code, rec.Body)
	}
	var got popularity.ItemAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !got.AsOf.Equal(now) {
		t.Errorf("as_of = %v, want %v", got.AsOf, now)
	}
	if got.ItemID != "a" || got.Category != "books" || got.Counts[contract.ActionLiked] != 2 || got.Counts[contract.ActionViewed] != 0 {
		t.Errorf("got %+v, want item a in books with 2 likes", got)
	}
	if want := 6 * math.Exp2(-1.0/6); math.Abs(got.Score-want) > 1e-12 {
		t.Errorf("score %v, want %v", got.Score, want)
	}
	if !got.UpdatedAt.Equal(now.Add(-time.Hour)) {
		t.Errorf("updated_at %v, want %v", got.UpdatedAt, now.Add(-time.Hour))
	}
}

func TestBadRequestsGetProblems(t *testing.T) {
	h, _ := apiFixture(t)
	tests := []struct {
		name   string
		method string
		target string
		status int
		code   string
	}{
		{"n zero", http.MethodGet, "/v1/top?n=0", http.StatusBadRequest, "invalid_parameter"},
		{"n negative", http.MethodGet, "/v1/top?n=-3", http.StatusBadRequest, "invalid_parameter"},
		{"n over the maximum", http.MethodGet, "/v1/top?n=101", http.StatusBadRequest, "invalid_parameter"},
		{"n not a number", http.MethodGet, "/v1/top?n=ten", http.StatusBadRequest, "invalid_parameter"},
		{"n empty", http.MethodGet, "/v1/top?n=", http.StatusBadRequest, "invalid_parameter"},
		{"n twice", http.MethodGet, "/v1/top?n=1&n=2", http.StatusBadRequest, "invalid_parameter"},
		{"unknown parameter", http.MethodGet, "/v1/top?limit=5", http.StatusBadRequest, "invalid_parameter"},
		{"unknown parameter beside good ones", http.MethodGet, "/v1/top?n=5&category=books&sort=asc", http.StatusBadRequest, "invalid_parameter"},
		{"parameter on an item", http.MethodGet, "/v1/items/a?n=1", http.StatusBadRequest, "invalid_parameter"},
		{"unknown item", http.MethodGet, "/v1/items/nope", http.StatusNotFound, "unknown_item"},
		{"post to top", http.MethodPost, "/v1/top", http.StatusMethodNotAllowed, "method_not_allowed"},
		{"delete an item", http.MethodDelete, "/v1/items/a", http.StatusMethodNotAllowed, "method_not_allowed"},
		{"unknown path", http.MethodGet, "/v1/bottom", http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != tt.status {
				t.Fatalf("got %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Fatalf("content type %q, want %q", ct, problem.ContentType)
			}
			var p problem.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Status != tt.status || p.Code != tt.code || p.Detail == "" {
				t.Errorf("problem %+v, want status %d and code %s with a detail", p, tt.status, tt.code)
			}
		})
	}
}

// TestAnswersKeepTheirJSON pins the JSON of both answers, member by member, as clients read it.
func TestAnswersKeepTheirJSON(t *testing.T) {
	h, _ := apiFixture(t)
	tests := map[string]string{
		"/v1/items/b":                `{"id":"b","category":"music","score":5,"counts":{"favorited":1,"liked":0,"rated":0,"shared":0,"unliked":0,"viewed":0},"updated_at":"2026-05-01T12:00:00Z","as_of":"2026-05-01T12:00:00Z"}`,
		"/v1/top?n=1&category=music": `{"items":[{"id":"b","category":"music","score":5,"counts":{"favorited":1,"liked":0,"rated":0,"shared":0,"unliked":0,"viewed":0},"updated_at":"2026-05-01T12:00:00Z"}],"as_of":"2026-05-01T12:00:00Z"}`,
		"/v1/top?category=films":     `{"items":[],"as_of":"2026-05-01T12:00:00Z"}`,
	}
	for target, want := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if got := strings.TrimSpace(rec.Body.String()); got != want {
			t.Errorf("GET %s answered\n%s\nwant\n%s", target, got, want)
		}
	}
}
