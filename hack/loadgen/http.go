package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"
)

// newHTTPClient returns a client that keeps one connection per worker open: at most conns
// connections to a host, all of them kept when idle. It never follows redirects, so a redirect
// shows in the status counts.
func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// httpLoad posts generated events to one ingest endpoint from a number of workers, each
// sending one request at a time.
type httpLoad struct {
	// client carries the requests; its transport should allow workers connections.
	client *http.Client
	// url is the endpoint, such as http://localhost:8080/.
	url string
	// encode writes the events of one request.
	encode encoder
	// batch is the events per request.
	batch int
	// workers is the number of concurrent workers.
	workers int
	// token, when set, is sent as a bearer token.
	token string
	// timeout bounds each request.
	timeout time.Duration
	// pacer spaces the requests; nil sends as fast as possible.
	pacer *pacer
	// budget bounds the events sent.
	budget *budget
	// collector gathers the results.
	collector *Collector
	// generator returns the event stream of one worker.
	generator func(stream uint64) *Generator
}

// run sends load until ctx ends or the budget is spent, then waits for the requests in flight.
func (l *httpLoad) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range l.workers {
		wg.Go(func() { l.work(ctx, l.generator(uint64(i)), l.collector.NewShard()) })
	}
	wg.Wait()
	l.client.CloseIdleConnections()
}

// work is one worker's loop.
func (l *httpLoad) work(ctx context.Context, gen *Generator, shard *Shard) {
	samples := make([]Sample, 0, l.batch)
	for ctx.Err() == nil {
		n := l.budget.take(l.batch)
		if n == 0 {
			return
		}
		due, ok := l.pacer.wait(ctx, n)
		if !ok {
			return
		}
		samples = samples[:0]
		for range n {
			samples = append(samples, gen.Next())
		}
		shard.Record(l.post(samples, due))
	}
}

// post sends one request with samples. Its latency runs from when it was due (or from when it
// was sent, if that is earlier or it has no due time) to the end of the answer's body. The
// request is not tied to the run's context, so a request in flight when the run ends finishes.
func (l *httpLoad) post(samples []Sample, due time.Time) Result {
	result := Result{Events: len(samples)}
	header := http.Header{}
	body, err := l.encode(header, samples)
	if err != nil {
		result.Err = err
		return result
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		result.Err = err
		return result
	}
	maps.Copy(req.Header, header)
	if l.token != "" {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	start := time.Now()
	if !due.IsZero() && due.Before(start) {
		start = due
	}
	resp, err := l.client.Do(req)
	if err != nil {
		result.Latency, result.Err = time.Since(start), err
		return result
	}
	// Reading the body to its end lets the transport reuse the connection.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	result.Latency = time.Since(start)
	if err != nil {
		result.Err = err
		return result
	}
	result.Status = resp.StatusCode
	return result
}
