package kafka

import (
	"fmt"
	"slices"

	"github.com/IBM/sarama"
)

// skipFetchBytes bounds one look at a partition's tail; a longer run of aborted records is
// skipped over several flushes.
const skipFetchBytes = 1 << 20

// undeliveredTail returns the offset up to which the partition of topic, from offset from on, holds
// only records a read_committed consumer is never given: transaction markers and the records of
// aborted transactions. It is from itself when a record a consumer would be given comes first.
//
// A consumer that commits the offset after the last record it was given stays behind every
// commit marker that follows it, so its group never shows zero lag (end minus committed) even
// when it has read everything, and a lag-based autoscaler such as KEDA never scales it to zero.
// Committing past such a tail loses nothing, since nothing in it would ever be given.
func undeliveredTail(client sarama.Client, topic string, partition int32, from int64) (int64, error) {
	broker, err := client.Leader(topic, partition)
	if err != nil {
		return from, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	req := &sarama.FetchRequest{Version: 4, MaxWaitTime: 0, MinBytes: 0, MaxBytes: skipFetchBytes, Isolation: sarama.ReadCommitted}
	req.AddBlock(topic, partition, from, skipFetchBytes, -1)
	resp, err := broker.Fetch(req)
	if err != nil {
		return from, fmt.Errorf("fetch %s/%d from %d: %w", topic, partition, from, err)
	}
	block := resp.GetBlock(topic, partition)
	if block == nil {
		return from, fmt.Errorf("fetch %s/%d: no answer for the partition", topic, partition)
	}
	if block.Err != sarama.ErrNoError {
		return from, fmt.Errorf("fetch %s/%d from %d: %w", topic, partition, from, block.Err)
	}
	aborted := slices.Clone(block.AbortedTransactions)
	slices.SortFunc(aborted, func(a, b *sarama.AbortedTransaction) int { return int(a.FirstOffset - b.FirstOffset) })
	open := map[int64]bool{} // producers inside an aborted transaction
	pos := from
	for _, records := range block.RecordsSet {
		b := records.RecordBatch
		if b == nil {
			return pos, nil // a legacy message set: not transactional, so delivered
		}
		last := b.FirstOffset + int64(b.LastOffsetDelta)
		for len(aborted) > 0 && aborted[0].FirstOffset <= last {
			open[aborted[0].ProducerID] = true
			aborted = aborted[1:]
		}
		if last < pos {
			continue
		}
		switch {
		case b.Control:
			// A commit or abort marker ends its producer's transaction.
			delete(open, b.ProducerID)
		case b.IsTransactional && open[b.ProducerID]:
			// Records of an aborted transaction.
		default:
			return pos, nil
		}
		pos = last + 1
	}
	// Only what the broker calls stable is settled: an open transaction may still commit.
	return min(pos, max(block.LastStableOffset, from)), nil
}

// SkipUndelivered returns the offset a consumer of partition of topic may commit once it has
// committed everything up to next and the partition's log ends at end: the offset past the
// markers and aborted records that follow next when nothing else does (see undeliveredTail), and
// next otherwise. A next below zero means nothing was read yet, from the oldest offset on.
func SkipUndelivered(client sarama.Client, topic string, partition int32, next, end int64) (int64, error) {
	if end <= next {
		return next, nil
	}
	from := next
	if from < 0 {
		oldest, err := client.GetOffset(topic, partition, sarama.OffsetOldest)
		if err != nil {
			return next, fmt.Errorf("oldest offset of %s/%d: %w", topic, partition, err)
		}
		from = oldest
	}
	to, err := undeliveredTail(client, topic, partition, from)
	if err != nil || to <= max(next, 0) {
		return next, err
	}
	return to, nil
}

// skipUndelivered moves an idle partition's next offset past the markers and aborted records at
// the end of what it has read, so that the next transaction commits it (see SkipUndelivered). A
// partition is idle when it has nothing uncommitted.
func (s *txnSession) skipUndelivered(part *claimState) {
	part.mu.Lock()
	next, idle := part.next, part.next == part.committed && part.end != nil
	part.mu.Unlock()
	// Not while shutting down: the last flush must not wait on another fetch.
	if !idle || s.t.reader == nil || s.ctx.Err() != nil {
		return
	}
	to, err := SkipUndelivered(s.t.reader, s.t.cfg.Topic, part.id, next, part.end())
	if err != nil {
		s.t.log.DebugContext(s.ctx, "cannot look past the partition's transaction markers", "partition", part.id, "error", err)
	}
	part.mu.Lock()
	if part.next == next {
		part.next = to
	}
	part.mu.Unlock()
}
