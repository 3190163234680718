package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/contract"
)

// deadLetter is one record of the dead-letter topic, with the verdict and origin clean gave it.
type deadLetter struct {
	msg *sarama.ConsumerMessage
	// Reason and Message say why clean rejected the record.
	Reason, Message string
	// Origin is where clean read it: topic/partition@offset.
	Origin string
	// Source and ID are its CloudEvent identity; empty when it is no CloudEvent.
	Source, ID string
}

func readDeadLetter(ctx context.Context, msg *sarama.ConsumerMessage) deadLetter {
	d := deadLetter{msg: msg}
	var topic, partition, offset string
	for _, h := range msg.Headers {
		switch string(h.Key) {
		case contract.HeaderDLQReason:
			d.Reason = string(h.Value)
		case contract.HeaderDLQMessage:
			d.Message = string(h.Value)
		case contract.HeaderDLQTopic:
			topic = string(h.Value)
		case contract.HeaderDLQPartition:
			partition = string(h.Value)
		case contract.HeaderDLQOffset:
			offset = string(h.Value)
		}
	}
	d.Origin = topic + "/" + partition + "@" + offset
	d.Source, d.ID, _ = identity(ctx, msg)
	return d
}

// dlqFilter selects dead letters: by reason (empty: all) and time of the original record.
type dlqFilter struct {
	Reason string
	Since  time.Time
}

// deadLetters returns the dead letters t holds that f selects, in partition and offset order.
func (t *kafkaTarget) deadLetters(ctx context.Context, f dlqFilter) ([]deadLetter, error) {
	var out []deadLetter
	err := t.scan(ctx, t.topics[contract.TopicDeadLetter], f.Since, func(msg *sarama.ConsumerMessage) error {
		d := readDeadLetter(ctx, msg)
		if (f.Reason == "" || d.Reason == f.Reason) && !msg.Timestamp.Before(f.Since) {
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// dlqList writes how many dead letters there are per reason, with the oldest and newest.
func (t *kafkaTarget) dlqList(ctx context.Context, w io.Writer, f dlqFilter) error {
	letters, err := t.deadLetters(ctx, f)
	if err != nil {
		return err
	}
	type group struct {
		reason         string
		n              int
		oldest, newest time.Time
	}
	byReason := map[string]*group{}
	for _, d := range letters {
		g := byReason[d.Reason]
		if g == nil {
			g = &group{reason: d.Reason, oldest: d.msg.Timestamp, newest: d.msg.Timestamp}
			byReason[d.Reason] = g
		}
		g.n++
		g.oldest = minTime(g.oldest, d.msg.Timestamp)
		g.newest = maxTime(g.newest, d.msg.Timestamp)
	}
	groups := make([]*group, 0, len(byReason))
	for _, g := range byReason {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b *group) int { return cmp.Or(b.n-a.n, cmp.Compare(a.reason, b.reason)) })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REASON\tRECORDS\tOLDEST\tNEWEST")
	for _, g := range groups {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", g.reason, g.n, g.oldest.UTC().Format(time.RFC3339), g.newest.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "total\t%d\t\t\n", len(letters))
	return tw.Flush()
}

// dlqShow writes the dead letters f selects, at most limit of them (0: all), one a line.
func (t *kafkaTarget) dlqShow(ctx context.Context, w io.Writer, f dlqFilter, limit int) error {
	letters, err := t.deadLetters(ctx, f)
	if err != nil {
		return err
	}
	if limit > 0 && len(letters) > limit {
		letters = letters[len(letters)-limit:]
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DLQ\tFROM\tTIME\tREASON\tEVENT\tKEY\tMESSAGE")
	for _, d := range letters {
		id := d.Source + " " + d.ID
		if d.ID == "" {
			id = "(not a CloudEvent)"
		}
		fmt.Fprintf(tw, "%d@%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.msg.Partition, d.msg.Offset, d.Origin,
			d.msg.Timestamp.UTC().Format(time.RFC3339), d.Reason, id, d.msg.Key, d.Message)
	}
	return tw.Flush()
}

// redriveResult counts what a redrive did.
type redriveResult struct {
	// Selected is how many dead letters matched the reason and time.
	Selected int
	// Redriven is how many were produced to the raw topic (or would be, in a dry run).
	Redriven int
	// AlreadyRedriven is how many were skipped because an earlier redrive already put their
	// CloudEvent back, or an earlier dead letter of this one did.
	AlreadyRedriven int
	// NotCloudEvents is how many were skipped because they have no CloudEvent id to be
	// de-duplicated by.
	NotCloudEvents int
}

// redrive produces the original of every dead letter f selects back to the raw topic: the same
// key, value and headers without the dead-letter ones, so with the same CloudEvent id, plus
// contract.HeaderRedrivenFrom saying which dead letter it came from.
//
// A CloudEvent is redriven at most once. Clean drops a repeated id only while its bounded
// de-duplication window still holds it, so redrive first reads the raw topic from f.Since for
// records that carry contract.HeaderRedrivenFrom, and skips every event already redriven. With
// dryRun nothing is produced.
func (t *kafkaTarget) redrive(ctx context.Context, w io.Writer, f dlqFilter, dryRun bool) (redriveResult, error) {
	var res redriveResult
	if f.Reason == "" {
		return res, fmt.Errorf("redrive needs a reason: --reason, one of those `dlq ls` lists")
	}
	letters, err := t.deadLetters(ctx, f)
	if err != nil {
		return res, err
	}
	res.Selected = len(letters)
	done := map[[2]string]bool{}
	err = t.scan(ctx, t.topics[contract.TopicRaw], f.Since, func(msg *sarama.ConsumerMessage) error {
		for _, h := range msg.Headers {
			if string(h.Key) == contract.HeaderRedrivenFrom {
				if source, id, err := identity(ctx, msg); err == nil {
					done[[2]string{source, id}] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	var out []*sarama.ProducerMessage
	for _, d := range letters {
		key := [2]string{d.Source, d.ID}
		switch {
		case d.ID == "":
			res.NotCloudEvents++
			continue
		case done[key]:
			res.AlreadyRedriven++
			continue
		}
		done[key] = true
		out = append(out, original(d, t.topics[contract.TopicRaw]))
		fmt.Fprintf(w, "redrive %d@%d (%s, from %s) event %s %s\n", d.msg.Partition, d.msg.Offset, d.Reason, d.Origin, d.Source, d.ID)
	}
	res.Redriven = len(out)
	if dryRun || len(out) == 0 {
		return res, nil
	}
	producer, err := sarama.NewSyncProducerFromClient(t.client)
	if err != nil {
		return res, err
	}
	defer producer.Close()
	if err := producer.SendMessages(out); err != nil {
		return res, fmt.Errorf("produce to %s: %w", t.topics[contract.TopicRaw], err)
	}
	return res, nil
}

// original rebuilds the record clean dead-lettered, for topic.
func original(d deadLetter, topic string) *sarama.ProducerMessage {
	msg := &sarama.ProducerMessage{Topic: topic}
	for _, h := range d.msg.Headers {
		switch string(h.Key) {
		case contract.HeaderDLQReason, contract.HeaderDLQMessage, contract.HeaderDLQTopic, contract.HeaderDLQPartition,
			contract.HeaderDLQOffset, contract.HeaderRedrivenFrom:
			continue
		}
		msg.Headers = append(msg.Headers, *h)
	}
	msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(contract.HeaderRedrivenFrom),
		Value: []byte(d.msg.Topic + "/" + strconv.Itoa(int(d.msg.Partition)) + "@" + strconv.FormatInt(d.msg.Offset, 10))})
	if d.msg.Key != nil {
		msg.Key = sarama.ByteEncoder(d.msg.Key)
	}
	if d.msg.Value != nil {
		msg.Value = sarama.ByteEncoder(d.msg.Value)
	}
	return msg
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
