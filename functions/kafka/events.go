package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/event"
)

// Processor turns one consumed record into the records to produce for it: none, one or several,
// on any topics, including the dead-letter topic. It must not keep msg.
type Processor interface {
	Process(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage
}

// ProcessorFunc adapts a function to a Processor.
type ProcessorFunc func(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage

// Process calls f.
func (f ProcessorFunc) Process(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage {
	return f(ctx, msg)
}

// EventHandler is a function over CloudEvents, in the shape of a Knative function: it returns
// the event to emit, nil to emit nothing, or an error to dead-letter its input. Handle owns e
// and may change it. An error that is (or wraps) an *event.Error dead-letters the record with
// that error's reason; any other error with event.ReasonProcessingFailed.
type EventHandler interface {
	Handle(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error)
}

// EventHandlerFunc adapts a function to an EventHandler.
type EventHandlerFunc func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error)

// Handle calls f.
func (f EventHandlerFunc) Handle(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	return f(ctx, e)
}

// EventProcessor is the Processor that runs an EventHandler over Kafka records. It decodes each
// record as a CloudEvent in binary or structured content mode, hands it to the handler, and
// encodes the handler's event for the output topic. Records that are not CloudEvents and records
// the handler rejects go to the dead-letter topic unchanged, with headers saying why (see
// DeadLetter); nothing is dropped silently.
type EventProcessor struct {
	handler      EventHandler
	out          string
	deadLetter   string
	log          *slog.Logger
	deadLettered *prometheus.CounterVec
}

// NewEventProcessor returns an EventProcessor that sends handler's events to the out topic and
// rejected records to the deadLetter topic. Its metrics are registered on reg.
func NewEventProcessor(handler EventHandler, out, deadLetter string, reg prometheus.Registerer, log *slog.Logger) *EventProcessor {
	p := &EventProcessor{
		handler:    handler,
		out:        out,
		deadLetter: deadLetter,
		log:        log,
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recoflow_events_dead_lettered_total",
			Help: "Records sent to the dead-letter topic, by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(p.deadLettered)
	for _, r := range event.Reasons {
		p.deadLettered.WithLabelValues(string(r))
	}
	return p
}

// Process implements Processor.
func (p *EventProcessor) Process(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage {
	e, err := DecodeRecord(ctx, msg)
	if err != nil {
		return p.reject(msg, err)
	}
	out, err := p.handler.Handle(ctx, *e)
	if err != nil {
		return p.reject(msg, err)
	}
	if out == nil {
		return nil
	}
	record, err := EncodeEvent(ctx, p.out, out)
	if err != nil {
		return p.reject(msg, err)
	}
	return []*sarama.ProducerMessage{record}
}

func (p *EventProcessor) reject(msg *sarama.ConsumerMessage, err error) []*sarama.ProducerMessage {
	reason := event.ReasonProcessingFailed
	var invalid *event.Error
	if errors.As(err, &invalid) {
		reason = invalid.Reason
	} else {
		p.log.Warn("handler failed, dead-lettering the record", "topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset, "error", err)
	}
	p.deadLettered.WithLabelValues(string(reason)).Inc()
	return []*sarama.ProducerMessage{DeadLetter(msg, p.deadLetter, reason, err.Error())}
}

// DecodeRecord reads a Kafka record as a CloudEvent in binary or structured content mode. When
// the record is not a CloudEvent the error is an *event.Error with event.ReasonNotCloudEvent.
func DecodeRecord(ctx context.Context, msg *sarama.ConsumerMessage) (*cloudevents.Event, error) {
	// kafka_sarama.NewMessageFromConsumerMessage would add the record's topic, partition and
	// offset as extensions; build the message from the record's own headers instead, so an event
	// passes through unchanged.
	var contentType string
	headers := make(map[string][]byte, len(msg.Headers))
	for _, h := range msg.Headers {
		if h == nil {
			continue
		}
		key := strings.ToLower(string(h.Key))
		if key == "content-type" {
			contentType = string(h.Value)
		}
		headers[key] = h.Value
	}
	m := kafka_sarama.NewMessage(msg.Value, contentType, headers)
	if m.ReadEncoding() == binding.EncodingUnknown {
		if v, ok := headers["ce_specversion"]; ok {
			// The same refusal as ingest's, so that one contract holds on both sides.
			return nil, &event.Error{Reason: event.ReasonInvalidField, Field: "specversion", Message: fmt.Sprintf("%q is not supported; send %s", v, event.SpecVersion)}
		}
		return nil, &event.Error{Reason: event.ReasonNotCloudEvent, Message: "the record has neither a ce_specversion header nor a CloudEvents content type"}
	}
	e, err := binding.ToEvent(ctx, m)
	if err != nil {
		return nil, &event.Error{Reason: event.ReasonNotCloudEvent, Message: "the record is not a readable CloudEvent: " + err.Error()}
	}
	return e, nil
}
