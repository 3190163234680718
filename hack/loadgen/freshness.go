package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/hotness"
)

// probeLoad measures freshness: at a fixed rate it likes an item no event named before, and
// after ingest accepted the like it reads the item from popularity every poll interval until
// the like is counted. The time from the accepted POST to the first read that shows the count is
// the probe's freshness; it is measured to within one poll interval, never below the truth.
type probeLoad struct {
	// client carries the probes' requests.
	client *http.Client
	// likesURL is ingest's POST /v1/likes endpoint.
	likesURL string
	// itemsURL is popularity's /v1/items/ prefix.
	itemsURL string
	// token, when set, is sent to ingest as a bearer token.
	token string
	// rate is the probes per second.
	rate float64
	// poll is the interval between two reads of an item.
	poll time.Duration
	// timeout bounds each request; probeTimeout bounds the wait for a like to show.
	timeout, probeTimeout time.Duration
	// prefix makes the probes' item and user ids unique to the run.
	prefix string

	mu     sync.Mutex
	totals FreshnessTotals
}

// FreshnessTotals counts the probes of a freshness run.
type FreshnessTotals struct {
	// Sent counts the probe likes posted.
	Sent int64
	// Failed counts the probe likes ingest did not accept.
	Failed int64
	// Visible counts the accepted likes that popularity counted in time.
	Visible int64
	// Stale counts the accepted likes popularity did not count within the probe timeout.
	Stale int64
	// Freshness holds the freshness of every visible probe.
	Freshness Histogram
	// FirstError tells why the first probe that failed or went stale did.
	FirstError string
}

// run starts a probe every 1/rate until ctx ends, then waits for the probes still polling.
func (l *probeLoad) run(ctx context.Context) {
	ticker := time.NewTicker(time.Duration(float64(time.Second) / l.rate))
	defer ticker.Stop()
	var wg sync.WaitGroup
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-ticker.C:
			wg.Go(func() { l.probe(n) })
		}
	}
}

// snapshot returns the probe counts so far.
func (l *probeLoad) snapshot() FreshnessTotals {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.totals
}

// probe likes a fresh item and waits until popularity counts the like.
func (l *probeLoad) probe(n int) {
	id := l.prefix + "-" + strconv.Itoa(n)
	item := "fresh-" + id
	l.count(func(t *FreshnessTotals) { t.Sent++ })
	if err := l.like(item, "probe-"+id); err != nil {
		l.count(func(t *FreshnessTotals) { t.Failed++; t.noteError(err) })
		return
	}
	accepted := time.Now()
	deadline := accepted.Add(l.probeTimeout)
	for {
		seen, err := l.counted(item)
		if seen {
			freshness := time.Since(accepted)
			l.count(func(t *FreshnessTotals) { t.Visible++; t.Freshness.Record(freshness) })
			return
		}
		if time.Now().Add(l.poll).After(deadline) {
			if err == nil {
				err = fmt.Errorf("item %s was not counted within %s", item, l.probeTimeout)
			}
			l.count(func(t *FreshnessTotals) { t.Stale++; t.noteError(err) })
			return
		}
		time.Sleep(l.poll)
	}
}

// like posts one like of item by user and returns nil once ingest accepted it.
func (l *probeLoad) like(item, user string) error {
	body, err := json.Marshal(event.Interaction{UserID: user, ItemID: item, Category: "loadgen-probe"})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, l.likesURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if l.token != "" {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	status, _, err := l.do(req)
	if err != nil {
		return err
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("POST %s answered %d", l.likesURL, status)
	}
	return nil
}

// counted reports whether popularity counts a like of item. An error says why the last read
// could not tell; an unknown item (404) is not an error.
func (l *probeLoad) counted(item string) (bool, error) {
	req, err := http.NewRequest(http.MethodGet, l.itemsURL+url.PathEscape(item), nil)
	if err != nil {
		return false, err
	}
	status, body, err := l.do(req)
	switch {
	case err != nil:
		return false, err
	case status == http.StatusNotFound:
		return false, nil
	case status != http.StatusOK:
		return false, fmt.Errorf("GET %s answered %d", req.URL, status)
	}
	var got hotness.Entry
	if err := json.Unmarshal(body, &got); err != nil {
		return false, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	return got.Counts[contract.ActionLiked] >= 1, nil
}

// do sends req within the request timeout and returns the status and body of the answer.
func (l *probeLoad) do(req *http.Request) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	resp, err := l.client.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func (l *probeLoad) count(update func(*FreshnessTotals)) {
	l.mu.Lock()
	update(&l.totals)
	l.mu.Unlock()
}

func (t *FreshnessTotals) noteError(err error) {
	if t.FirstError == "" {
		t.FirstError = err.Error()
	}
}
