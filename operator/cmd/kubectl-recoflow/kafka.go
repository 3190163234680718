package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
)

// scan reads every record of topic whose offset is at or after the first record with a
// timestamp at or after since, up to the end of each partition as it was when scan started, and
// calls fn for each. Records appended while scanning are not read, so a scan always ends.
func scan(ctx context.Context, client sarama.Client, topic string, since time.Time, fn func(*sarama.ConsumerMessage) error) error {
	partitions, err := client.Partitions(topic)
	if err != nil {
		return fmt.Errorf("list the partitions of %s: %w", topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return err
	}
	defer consumer.Close()
	for _, p := range partitions {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("find the end of %s/%d: %w", topic, p, err)
		}
		from := sarama.OffsetOldest
		if !since.IsZero() {
			if from, err = client.GetOffset(topic, p, since.UnixMilli()); err != nil {
				return fmt.Errorf("find %s/%d at %s: %w", topic, p, since.Format(time.RFC3339), err)
			}
			if from == sarama.OffsetNewest || from < 0 { // no record that recent
				continue
			}
		} else if from, err = client.GetOffset(topic, p, sarama.OffsetOldest); err != nil {
			return fmt.Errorf("find the start of %s/%d: %w", topic, p, err)
		}
		if from >= end {
			continue
		}
		if err := scanPartition(ctx, consumer, topic, p, from, end, fn); err != nil {
			return err
		}
	}
	return nil
}

// scanPartition reads partition p of topic from offset from to just before end.
func scanPartition(ctx context.Context, consumer sarama.Consumer, topic string, p int32, from, end int64, fn func(*sarama.ConsumerMessage) error) error {
	pc, err := consumer.ConsumePartition(topic, p, from)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, p, err)
	}
	defer pc.AsyncClose()
	// A gap at the end (a transaction marker, a compacted record) delivers nothing more: stop
	// when the partition is idle and its high-water mark is reached.
	idle := time.NewTimer(2 * time.Second)
	defer idle.Stop()
	for {
		select {
		case msg := <-pc.Messages():
			if err := fn(msg); err != nil {
				return err
			}
			if msg.Offset+1 >= end {
				return nil
			}
			idle.Reset(2 * time.Second)
		case err := <-pc.Errors():
			return fmt.Errorf("read %s/%d: %w", topic, p, err)
		case <-idle.C:
			if pc.HighWaterMarkOffset() >= end {
				return nil
			}
			idle.Reset(2 * time.Second)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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
