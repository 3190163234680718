package popularity

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// logReader reads partitions of one topic with read_committed isolation and knows exactly where
// it is in each of them.
//
// Sarama's PartitionConsumer does not expose its position, and a transactional log almost always
// ends in a control record that a consumer never delivers, so a consumer cannot tell that it has
// reached the end. Restoring state "to the end of the changelog" needs exactly that, so
// logReader issues Fetch requests itself and advances its position past every batch, control
// batches and aborted batches included.
type logReader struct {
	client sarama.Client
	topic  string

	// pos is the next offset to read per partition.
	pos map[int32]int64
	// stable is the last stable offset per partition, from the latest fetch.
	stable map[int32]int64
	// fetchBytes is the most bytes asked for per partition; it grows when a batch does not fit.
	fetchBytes map[int32]int32
}

const (
	defaultFetchBytes  = 4 << 20
	maxFetchBytes      = 64 << 20
	fetchResponseBytes = 32 << 20
	retryBackoff       = 100 * time.Millisecond
)

// retriableFetchError reports whether a per-partition fetch error is cured by refreshing
// metadata and fetching again.
func retriableFetchError(err sarama.KError) bool {
	switch err {
	case sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable, sarama.ErrUnknownTopicOrPartition,
		sarama.ErrReplicaNotAvailable, sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch,
		sarama.ErrOffsetNotAvailable, sarama.ErrKafkaStorageError, sarama.ErrRequestTimedOut,
		sarama.ErrNetworkException:
		return true
	}
	return false
}

// newLogReader returns a reader of topic positioned at from for each partition in it.
func newLogReader(client sarama.Client, topic string, from map[int32]int64) *logReader {
	r := &logReader{
		client:     client,
		topic:      topic,
		pos:        make(map[int32]int64, len(from)),
		stable:     make(map[int32]int64, len(from)),
		fetchBytes: make(map[int32]int32, len(from)),
	}
	for p, offset := range from {
		r.pos[p] = offset
		r.stable[p] = -1
		r.fetchBytes[p] = defaultFetchBytes
	}
	return r
}

// caughtUp reports whether the reader has read every partition up to the given offsets.
func (r *logReader) caughtUp(ends map[int32]int64) bool {
	for p, end := range ends {
		if r.pos[p] < end {
			return false
		}
	}
	return true
}

// lag is the number of offsets between the reader's positions and the last stable offsets the
// latest fetches reported.
func (r *logReader) lag() int64 {
	var n int64
	for p, pos := range r.pos {
		if s := r.stable[p]; s > pos {
			n += s - pos
		}
	}
	return n
}

// fetch reads once from every partition whose position is below its end in ends (every partition
// when ends is nil), waiting up to maxWait on each leader for data, and calls apply for each
// committed record in offset order per partition.
func (r *logReader) fetch(ctx context.Context, maxWait time.Duration, ends map[int32]int64, apply func(partition int32, offset int64, rec *sarama.Record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	byLeader := map[*sarama.Broker][]int32{}
	for p, pos := range r.pos {
		if end, bounded := ends[p]; ends != nil && (!bounded || pos >= end) {
			continue
		}
		leader, err := r.client.Leader(r.topic, p)
		if err != nil {
			return r.retry(ctx, fmt.Errorf("find the leader of %s/%d: %w", r.topic, p, err))
		}
		byLeader[leader] = append(byLeader[leader], p)
	}
	if len(byLeader) == 0 {
		return nil
	}

	type result struct {
		partitions []int32
		resp       *sarama.FetchResponse
		err        error
	}
	results := make([]result, 0, len(byLeader))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for leader, partitions := range byLeader {
		slices.Sort(partitions)
		wg.Go(func() {
			resp, err := leader.Fetch(r.request(partitions, maxWait))
			mu.Lock()
			results = append(results, result{partitions, resp, err})
			mu.Unlock()
		})
	}
	wg.Wait()

	for _, res := range results {
		if res.err != nil {
			return r.retry(ctx, fmt.Errorf("fetch %s: %w", r.topic, res.err))
		}
		for _, p := range res.partitions {
			if err := r.consume(ctx, p, res.resp.GetBlock(r.topic, p), apply); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *logReader) request(partitions []int32, maxWait time.Duration) *sarama.FetchRequest {
	req := &sarama.FetchRequest{
		Version:      12,
		MaxWaitTime:  int32(maxWait / time.Millisecond),
		MinBytes:     1,
		MaxBytes:     fetchResponseBytes,
		Isolation:    sarama.ReadCommitted,
		SessionEpoch: -1, // no fetch session
	}
	for _, p := range partitions {
		req.AddBlock(r.topic, p, r.pos[p], r.fetchBytes[p], -1)
	}
	return req
}

// consume applies one partition's part of a fetch response and advances the partition's position.
func (r *logReader) consume(ctx context.Context, p int32, block *sarama.FetchResponseBlock, apply func(int32, int64, *sarama.Record) error) error {
	if block == nil {
		return nil
	}
	switch {
	case errors.Is(block.Err, sarama.ErrNoError):
	case errors.Is(block.Err, sarama.ErrOffsetOutOfRange):
		// Compaction or retention removed the records at pos: continue from the log start.
		start, err := r.client.GetOffset(r.topic, p, sarama.OffsetOldest)
		if err != nil {
			return r.retry(ctx, fmt.Errorf("find the start of %s/%d: %w", r.topic, p, err))
		}
		r.pos[p] = max(r.pos[p], start)
		return nil
	case retriableFetchError(block.Err):
		return r.retry(ctx, fmt.Errorf("fetch %s/%d: %w", r.topic, p, block.Err))
	default:
		return fmt.Errorf("fetch %s/%d: %w", r.topic, p, block.Err)
	}
	r.stable[p] = block.LastStableOffset
	if block.Partial {
		// Not even one batch fitted: ask for more next time.
		r.fetchBytes[p] = min(2*r.fetchBytes[p], maxFetchBytes)
		return nil
	}

	aborted := slices.SortedFunc(slices.Values(block.AbortedTransactions), func(a, b *sarama.AbortedTransaction) int {
		return int(a.FirstOffset - b.FirstOffset)
	})
	abortedProducers := map[int64]struct{}{}
	for _, records := range block.RecordsSet {
		batch := records.RecordBatch
		if batch == nil || batch.PartialTrailingRecord {
			break // legacy message sets are never written by Kafka 4; a partial batch is read again next time
		}
		// A transaction that was aborted covers its producer's batches from its first offset on.
		for len(aborted) > 0 && aborted[0].FirstOffset <= batch.LastOffset() {
			abortedProducers[aborted[0].ProducerID] = struct{}{}
			aborted = aborted[1:]
		}
		switch _, isAborted := abortedProducers[batch.ProducerID]; {
		case batch.Control:
			if isAbortMarker(batch) {
				delete(abortedProducers, batch.ProducerID)
			}
		case batch.IsTransactional && isAborted:
		default:
			for _, rec := range batch.Records {
				offset := batch.FirstOffset + rec.OffsetDelta
				if offset < r.pos[p] {
					continue // a compacted batch may start before the offset asked for
				}
				if err := apply(p, offset, rec); err != nil {
					return err
				}
			}
		}
		r.pos[p] = max(r.pos[p], batch.LastOffset()+1)
	}
	return nil
}

// isAbortMarker reports whether a control batch ends a transaction by aborting it. A control
// record's key is a version and a type, both int16; type 0 is abort and 1 is commit.
func isAbortMarker(batch *sarama.RecordBatch) bool {
	for _, rec := range batch.Records {
		if len(rec.Key) >= 4 && binary.BigEndian.Uint16(rec.Key[2:4]) == 0 {
			return true
		}
	}
	return false
}

// retry is retryAfter for the reader's topic: after it the caller can simply fetch again.
func (r *logReader) retry(ctx context.Context, cause error) error {
	return retryAfter(ctx, r.client, r.topic, cause)
}

// retryAfter refreshes topic's metadata after a retriable error and waits a little, so the
// caller can simply try again. It returns nil unless ctx ended.
func retryAfter(ctx context.Context, client sarama.Client, topic string, cause error) error {
	_ = client.RefreshMetadata(topic)
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w (while retrying after: %w)", ctx.Err(), cause)
	case <-time.After(retryBackoff):
		return nil
	}
}

// endOffsets returns the end of each partition as a reader with the given isolation sees it now:
// the high water mark for sarama.ReadUncommitted, the last stable offset for sarama.ReadCommitted.
func endOffsets(ctx context.Context, client sarama.Client, topic string, partitions []int32, isolation sarama.IsolationLevel) (map[int32]int64, error) {
	ends := make(map[int32]int64, len(partitions))
	for {
		var lastErr error
		byLeader := map[*sarama.Broker]*sarama.OffsetRequest{}
		for _, p := range partitions {
			if _, done := ends[p]; done {
				continue
			}
			leader, err := client.Leader(topic, p)
			if err != nil {
				lastErr = err
				continue
			}
			if byLeader[leader] == nil {
				byLeader[leader] = sarama.NewOffsetRequest(client.Config().Version)
				byLeader[leader].IsolationLevel = isolation
			}
			byLeader[leader].AddBlock(topic, p, sarama.OffsetNewest, 1)
		}
		for leader, req := range byLeader {
			resp, err := leader.GetAvailableOffsets(req)
			if err != nil {
				lastErr = err
				continue
			}
			for _, p := range partitions {
				switch block := resp.GetBlock(topic, p); {
				case block == nil:
				case errors.Is(block.Err, sarama.ErrNoError):
					ends[p] = block.Offset
				default:
					lastErr = block.Err
				}
			}
		}
		if len(ends) == len(partitions) {
			return ends, nil
		}
		if err := retryAfter(ctx, client, topic, fmt.Errorf("list end offsets of %s: %w", topic, lastErr)); err != nil {
			return nil, err
		}
	}
}

// waitForTopic returns the partition numbers of topic, waiting while it does not exist yet.
func waitForTopic(ctx context.Context, client sarama.Client, topic string, log *slog.Logger) ([]int32, error) {
	for {
		partitions, err := client.Partitions(topic)
		if err == nil && len(partitions) > 0 {
			return partitions, nil
		}
		log.WarnContext(ctx, "waiting for topic", "topic", topic, "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list partitions of %s: %w", topic, ctx.Err())
		case <-time.After(time.Second):
		}
		_ = client.RefreshMetadata(topic)
	}
}

// stopped returns nil for an error that only says ctx ended, and err otherwise: a component
// that stops because it was asked to has not failed.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
