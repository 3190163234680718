package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestCollectorSumsShards(t *testing.T) {
	var c Collector
	results := []Result{
		{Events: 1, Latency: time.Millisecond, Status: 202},
		{Events: 100, Latency: 2 * time.Millisecond, Status: 202},
		{Events: 1, Latency: 3 * time.Millisecond, Status: 503},
		{Events: 1, Latency: 4 * time.Millisecond, Status: 400},
		{Events: 1, Latency: 5 * time.Millisecond, Err: fmt.Errorf("dial: %w", syscall.ECONNREFUSED)},
		{Events: 1, Latency: 6 * time.Millisecond},                                       // a record Kafka acknowledged
		{Events: 1, Latency: 7 * time.Millisecond, Err: sarama.ErrNotLeaderForPartition}, // one it refused
	}
	var wg sync.WaitGroup
	for i := range 4 {
		shard := c.NewShard()
		wg.Go(func() {
			for j, r := range results {
				if j%4 == i {
					shard.Record(r)
				}
			}
		})
	}
	wg.Wait()

	got := c.Snapshot()
	if got.Requests != 7 || got.Events != 106 || got.Accepted != 102 || got.Failed() != 4 {
		t.Errorf("requests/events/accepted/failed = %d/%d/%d/%d, want 7/106/102/4", got.Requests, got.Events, got.Accepted, got.Failed())
	}
	wantStatus := map[int]int64{202: 2, 503: 1, 400: 1}
	if fmt.Sprint(got.Status) != fmt.Sprint(wantStatus) {
		t.Errorf("status counts = %v, want %v", got.Status, wantStatus)
	}
	wantErrors := map[string]int64{"connection refused": 1, "kafka: " + sarama.ErrNotLeaderForPartition.Error(): 1}
	if fmt.Sprint(got.Errors) != fmt.Sprint(wantErrors) {
		t.Errorf("error counts = %v, want %v", got.Errors, wantErrors)
	}
	if got.FirstError == "" {
		t.Error("FirstError is empty, want the first error's message")
	}
	if got.Latency.Count() != 7 || got.Latency.Max() != 7*time.Millisecond {
		t.Errorf("latency count/max = %d/%v, want 7/7ms", got.Latency.Count(), got.Latency.Max())
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "timeout"},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout"},
		{fmt.Errorf("post: %w", syscall.ECONNREFUSED), "connection refused"},
		{fmt.Errorf("post: %w", syscall.ECONNRESET), "connection reset"},
		{fmt.Errorf("post: %w", io.ErrUnexpectedEOF), "connection closed"},
		{fmt.Errorf("produce: %w", sarama.ErrInvalidMessage), "kafka: " + sarama.ErrInvalidMessage.Error()},
		{errors.New("something else"), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := errorKind(tt.err); got != tt.want {
				t.Errorf("errorKind(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
