package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"

	"github.com/recoflow/recoflow/functions/kafka"
)

// scan reads every committed record of topic from the first one with a timestamp at or after
// since (the start when since is zero) and calls fn for each.
func (t *kafkaTarget) scan(ctx context.Context, topic string, since time.Time, fn func(*sarama.ConsumerMessage) error) error {
	from := kafka.OffsetStart
	if !since.IsZero() {
		from = since.UnixMilli()
	}
	return t.read(ctx, topic, func(r *kafka.LogReader, partitions []int32) (map[int32]int64, error) {
		starts, err := r.Offsets(ctx, partitions, from, true)
		if err != nil {
			return nil, fmt.Errorf("find where to start in %s: %w", topic, err)
		}
		return starts, nil
	}, fn)
}

// read reads the committed records of topic from the offsets starts chooses up to the last
// stable offset of each partition as it was when read started, and calls fn for each. Records
// appended meanwhile are not read, so a read always ends, also on a transactional topic, whose
// last offset is a marker.
func (t *kafkaTarget) read(ctx context.Context, topic string, starts func(*kafka.LogReader, []int32) (map[int32]int64, error), fn func(*sarama.ConsumerMessage) error) error {
	r, err := kafka.NewLogReader(t.brokers, t.auth, "kubectl-recoflow", topic, 200*time.Millisecond, t.readerOptions...)
	if err != nil {
		return err
	}
	defer r.Close()
	partitions, err := r.TopicPartitions(ctx, topic)
	if err != nil {
		return err
	}
	all, err := r.Offsets(ctx, partitions, kafka.OffsetEnd, true)
	if err != nil {
		return fmt.Errorf("find the end of %s: %w", topic, err)
	}
	from, err := starts(r, partitions)
	if err != nil {
		return err
	}
	ends := map[int32]int64{}
	for p := range from {
		ends[p] = all[p]
	}
	r.Add(from)
	for !r.CaughtUp(ends) {
		err := r.Poll(ctx, func(msg *sarama.ConsumerMessage) error {
			if msg.Offset >= ends[msg.Partition] {
				return nil
			}
			return fn(msg)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// countRecords returns the number of committed records in the partitions of topic from the
// offsets in from up to their current ends.
func (t *kafkaTarget) countRecords(ctx context.Context, topic string, from map[int32]int64) (int64, error) {
	var n int64
	err := t.read(ctx, topic, func(r *kafka.LogReader, partitions []int32) (map[int32]int64, error) {
		starts := map[int32]int64{}
		for _, p := range partitions {
			if at, ok := from[p]; ok {
				starts[p] = at
			}
		}
		return starts, nil
	}, func(*sarama.ConsumerMessage) error {
		n++
		return nil
	})
	return n, err
}

// identity returns the CloudEvent source and id of a binary-mode record, or an error when the
// record is no CloudEvent.
func identity(ctx context.Context, msg *sarama.ConsumerMessage) (source, id string, err error) {
	e, err := binding.ToEvent(ctx, kafka_sarama.NewMessageFromConsumerMessage(msg))
	if err != nil {
		return "", "", fmt.Errorf("not a CloudEvent: %w", err)
	}
	if e.ID() == "" {
		return "", "", errors.New("a CloudEvent without an id")
	}
	return e.Source(), e.ID(), nil
}
