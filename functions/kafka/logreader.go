package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/kafkaauth"
)

// LogReader reads partitions of one topic with read_committed isolation, without a consumer
// group, and knows exactly where it is in each of them: what restoring state "up to the end of
// a changelog" needs.
//
// It is the one place recoflow uses franz-go's kgo client instead of sarama. A transactional
// log almost always ends in a control record (a transaction marker) that sarama's consumer
// never delivers and whose offset it does not expose, so a sarama reader cannot tell that it
// has reached the end. kgo filters aborted transactions itself and, with KeepControlRecords,
// hands over the markers too, so the reader's position moves past every record it is owed.
type LogReader struct {
	client  *kgo.Client
	topic   string
	maxWait time.Duration
	// pos is the next offset to read per partition.
	pos map[int32]int64
	// stable is the last stable offset per partition, from the latest fetch.
	stable map[int32]int64
}

// NewLogReader returns a reader of topic on brokers, authenticated and encrypted as auth says,
// named clientID, that waits up to maxWait on the broker for new records, connecting as opts say.
// It reads no partition until Add.
func NewLogReader(brokers []string, auth config.KafkaAuth, clientID, topic string, maxWait time.Duration, opts ...ReaderOption) (*LogReader, error) {
	security, err := kafkaauth.KgoOptionsDialing(auth, readerDial(opts))
	if err != nil {
		return nil, err
	}
	client, err := kgo.NewClient(append(security,
		kgo.SeedBrokers(brokers...),
		kgo.ClientID(clientID),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(maxWait),
		// Compaction or retention may remove the records a reader was to start at: start at
		// the log's beginning then.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafka reader of %s: %w", topic, err)
	}
	return &LogReader{client: client, topic: topic, maxWait: maxWait, pos: map[int32]int64{}, stable: map[int32]int64{}}, nil
}

// Close closes the reader's connections.
func (r *LogReader) Close() { r.client.Close() }

// Add starts reading partitions, each from the offset given.
func (r *LogReader) Add(from map[int32]int64) {
	offsets := make(map[int32]kgo.Offset, len(from))
	for p, offset := range from {
		r.pos[p] = offset
		r.stable[p] = -1
		offsets[p] = kgo.NewOffset().At(offset)
	}
	r.client.AddConsumePartitions(map[string]map[int32]kgo.Offset{r.topic: offsets})
}

// Partitions returns the partitions the reader reads.
func (r *LogReader) Partitions() []int32 {
	ps := make([]int32, 0, len(r.pos))
	for p := range r.pos {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// CaughtUp reports whether the reader has read every partition it reads up to that partition's
// offset in ends. Partitions in ends that the reader does not read have nothing left to wait
// for: a caller that reads only the partitions with records left can pass every end it knows.
func (r *LogReader) CaughtUp(ends map[int32]int64) bool {
	for p, end := range ends {
		if pos, reading := r.pos[p]; reading && pos < end {
			return false
		}
	}
	return true
}

// Lag is the number of offsets between the reader's positions and the last stable offsets the
// latest fetches reported.
func (r *LogReader) Lag() int64 {
	var n int64
	for p, pos := range r.pos {
		if s := r.stable[p]; s > pos {
			n += s - pos
		}
	}
	return n
}

// Poll waits for one fetch, about the reader's maxWait at most, and calls apply for each
// committed record in offset order per partition. Records are handed over as sarama consumer
// messages, the one record shape the functions decode. A Poll that finds nothing returns nil.
func (r *LogReader) Poll(ctx context.Context, apply func(*sarama.ConsumerMessage) error) error {
	pollCtx, cancel := context.WithTimeout(ctx, 2*r.maxWait)
	defer cancel()
	fetches := r.client.PollFetches(pollCtx)
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	fetches.EachError(func(_ string, p int32, err error) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !kerr.IsRetriable(err) {
			errs = append(errs, fmt.Errorf("read %s/%d: %w", r.topic, p, err))
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	var err error
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		r.stable[fp.Partition] = fp.LastStableOffset
		for _, rec := range fp.Records {
			r.pos[rec.Partition] = max(r.pos[rec.Partition], rec.Offset+1)
			if err != nil || rec.Attrs.IsControl() {
				continue
			}
			err = apply(consumerMessage(rec))
		}
	})
	return err
}

// consumerMessage converts a kgo record to a sarama consumer message.
func consumerMessage(rec *kgo.Record) *sarama.ConsumerMessage {
	headers := make([]*sarama.RecordHeader, len(rec.Headers))
	for i, h := range rec.Headers {
		headers[i] = &sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value}
	}
	return &sarama.ConsumerMessage{
		Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
		Key: rec.Key, Value: rec.Value, Headers: headers, Timestamp: rec.Timestamp,
	}
}

// Offset positions for ListOffsets: the end of a partition, or its start.
const (
	OffsetEnd   int64 = -1
	OffsetStart int64 = -2
)

// Offsets returns, for each partition of the reader's topic, the offset of the first record
// written at or after timestamp (Unix milliseconds), or OffsetEnd or OffsetStart. With committed,
// the end is the last stable offset (what a read_committed reader can reach now); without, it is
// the high water mark (which a read_committed reader reaches once every transaction open now has
// ended). A partition without such a record gets its end. Retriable errors are retried until
// ctx ends.
func (r *LogReader) Offsets(ctx context.Context, partitions []int32, timestamp int64, committed bool) (map[int32]int64, error) {
	out := make(map[int32]int64, len(partitions))
	for attempt := 0; ; attempt++ {
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		if committed {
			req.IsolationLevel = 1
		}
		topic := kmsg.NewListOffsetsRequestTopic()
		topic.Topic = r.topic
		for _, p := range partitions {
			if _, done := out[p]; done {
				continue
			}
			part := kmsg.NewListOffsetsRequestTopicPartition()
			part.Partition, part.Timestamp, part.CurrentLeaderEpoch = p, timestamp, -1
			topic.Partitions = append(topic.Partitions, part)
		}
		req.Topics = []kmsg.ListOffsetsRequestTopic{topic}
		var lastErr error
		for _, shard := range r.client.RequestSharded(ctx, req) {
			if shard.Err != nil {
				lastErr = shard.Err
				continue
			}
			for _, t := range shard.Resp.(*kmsg.ListOffsetsResponse).Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						lastErr = err
						continue
					}
					out[p.Partition] = p.Offset
				}
			}
		}
		if len(out) == len(partitions) {
			break
		}
		if lastErr != nil && !kerr.IsRetriable(lastErr) && !errors.Is(lastErr, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("list offsets of %s: %w", r.topic, lastErr)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list offsets of %s: %w (last error: %w)", r.topic, ctx.Err(), lastErr)
		case <-time.After(backoff(attempt, 50*time.Millisecond, time.Second)):
		}
	}
	if timestamp >= 0 {
		// A partition with no record at or after timestamp answers -1: it ends there.
		var missing []int32
		for p, o := range out {
			if o < 0 {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			ends, err := r.Offsets(ctx, missing, OffsetEnd, committed)
			if err != nil {
				return nil, err
			}
			for p, o := range ends {
				out[p] = o
			}
		}
	}
	return out, nil
}

// TopicPartitions returns the partitions of topic, waiting while it does not
// exist yet.
func (r *LogReader) TopicPartitions(ctx context.Context, topic string) ([]int32, error) {
	for attempt := 0; ; attempt++ {
		req := kmsg.NewPtrMetadataRequest()
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(topic)
		req.Topics = []kmsg.MetadataRequestTopic{t}
		resp, err := req.RequestWith(ctx, r.client)
		if err == nil && len(resp.Topics) == 1 && resp.Topics[0].ErrorCode == 0 && len(resp.Topics[0].Partitions) > 0 {
			ps := make([]int32, 0, len(resp.Topics[0].Partitions))
			for _, p := range resp.Topics[0].Partitions {
				ps = append(ps, p.Partition)
			}
			slices.Sort(ps)
			return ps, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("partitions of %s: %w", topic, ctx.Err())
		case <-time.After(backoff(attempt, 100*time.Millisecond, 2*time.Second)):
		}
	}
}

// Backlog returns how many committed records of topic on brokers (connecting as auth says) follow the offsets in from
// (one per partition): a consumer group's lag in records. Offsets alone overcount it on a
// transactional topic, where every transaction's marker takes an offset too.
func Backlog(ctx context.Context, brokers []string, auth config.KafkaAuth, clientID, topic string, from map[int32]int64) (int64, error) {
	r, err := NewLogReader(brokers, auth, clientID, topic, 10*time.Millisecond)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	partitions := make([]int32, 0, len(from))
	for p := range from {
		partitions = append(partitions, p)
	}
	ends, err := r.Offsets(ctx, partitions, OffsetEnd, true)
	if err != nil {
		return 0, err
	}
	start := map[int32]int64{}
	for p, offset := range from {
		if offset < ends[p] {
			start[p] = max(offset, 0)
		}
	}
	if len(start) == 0 {
		return 0, nil
	}
	r.Add(start)
	var n int64
	for !r.CaughtUp(ends) {
		if err := r.Poll(ctx, func(m *sarama.ConsumerMessage) error {
			if m.Offset < ends[m.Partition] {
				n++
			}
			return nil
		}); err != nil {
			return 0, err
		}
	}
	return n, nil
}
