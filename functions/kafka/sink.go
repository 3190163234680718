package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/protocol"
)

// headerPrefix starts the Kafka header of every CloudEvents attribute in binary content mode;
// subjectHeader is the one of the subject.
const (
	headerPrefix  = "ce_"
	subjectHeader = contract.HeaderSubject
)

// Sink writes CloudEvents to one Kafka topic in binary content mode (the attributes in ce_*
// headers, the data as the record value), encoded by the CloudEvents sdk's kafka_sarama binding.
// The record key is the event's subject, which the recoflow contract makes the item id, so one
// item's events share a partition.
//
// Sink implements the sdk's protocol.Sender, so cloudevents.NewClient accepts it; SendEvents is
// the faster path for many events at once. Results follow the sdk's conventions: nil is an ACK,
// a Kafka error is a NACK (cloudevents.IsNACK), and a send that never got an answer, such as one
// that timed out, is undelivered (cloudevents.IsUndelivered). The Kafka error stays reachable
// with errors.Is and errors.As.
//
// A Sink made before Kafka is reachable takes its producer later (Attach): until then every
// send is undelivered and Ready says why.
type Sink struct {
	producer atomic.Pointer[Producer]
	topic    string
}

var _ protocol.Sender = (*Sink)(nil)

// NewSink returns a Sink that writes to topic through producer, which may be nil until Attach.
func NewSink(producer *Producer, topic string) *Sink {
	s := &Sink{topic: topic}
	s.producer.Store(producer)
	return s
}

// errNotConnected is the result of a send before the sink has a producer.
var errNotConnected = errors.New("kafka: not connected yet")

// Attach gives the sink its producer, once Kafka is reachable.
func (s *Sink) Attach(producer *Producer) { s.producer.Store(producer) }

// Ready implements health.Readiness: the sink is ready once it has a producer.
func (s *Sink) Ready() error {
	if s.producer.Load() == nil {
		return errNotConnected
	}
	return nil
}

// send sends msgs through the sink's producer.
func (s *Sink) send(ctx context.Context, msgs ...*sarama.ProducerMessage) error {
	p := s.producer.Load()
	if p == nil {
		return errNotConnected
	}
	return p.Send(ctx, msgs...)
}

// Topic returns the topic the sink writes to.
func (s *Sink) Topic() string { return s.topic }

// Record encodes e as a record for the sink's topic, keyed by its subject (see EncodeEvent).
func (s *Sink) Record(ctx context.Context, e *cloudevents.Event) (*sarama.ProducerMessage, error) {
	return EncodeEvent(ctx, s.topic, e)
}

// EncodeEvent encodes e as a record for topic in binary content mode, keyed by its subject. A
// CloudEvents 1.0 event is written directly, header by header (EncodeBinary), exactly as the
// sdk's kafka_sarama binding writes it (TestRecordMatchesTheSDK) at a fraction of the cost; any
// other goes through the binding.
func EncodeEvent(ctx context.Context, topic string, e *cloudevents.Event) (*sarama.ProducerMessage, error) {
	if _, ok := e.Context.(*cloudevents.EventContextV1); ok {
		b, err := event.ToBinary(e)
		if err != nil {
			return nil, fmt.Errorf("encode cloudevent for kafka: %w", err)
		}
		return EncodeBinary(topic, &b), nil
	}
	return encode(ctx, topic, binding.ToMessage(e))
}

// EncodeBinary writes the binary content mode of the Kafka protocol binding for an event in its
// binary form: every attribute in a ce_ header (the media type in content-type), the data as the
// value, the subject as the key. The record shares b's bytes, which must not change until Kafka
// has acknowledged it.
func EncodeBinary(topic string, b *event.Binary) *sarama.ProducerMessage {
	// One allocation holds the message, the usual headers, its key and its value.
	r := &record{msg: sarama.ProducerMessage{Topic: topic}}
	headers := r.headers[:0]
	if n := headerCount(b); n > len(r.headers) {
		headers = make([]sarama.RecordHeader, 0, n)
	}
	add := func(key, value []byte) {
		headers = append(headers, sarama.RecordHeader{Key: key, Value: value})
	}
	add(keySpecVersion, specVersion)
	add(keyID, b.ID)
	add(keySource, b.Source)
	add(keyType, b.Type)
	if b.Subject != nil {
		add(keySubject, b.Subject)
		r.key = b.Subject
		r.msg.Key = &r.key
	}
	if b.Time != nil {
		add(keyTime, b.Time)
	}
	if b.DataSchema != nil {
		add(keyDataSchema, b.DataSchema)
	}
	if b.DataContentType != nil {
		add(keyContentType, b.DataContentType)
	}
	for _, x := range b.Extensions {
		add([]byte(headerPrefix+x.Name), x.Value)
	}
	r.msg.Headers = headers
	if len(b.Data) > 0 {
		r.value = b.Data
		r.msg.Value = &r.value
	}
	return &r.msg
}

// contextHeaders is how many headers the context attributes of an event take at most.
const contextHeaders = 8

// headerCount is how many headers the record of b has.
func headerCount(b *event.Binary) int {
	n := 4 + len(b.Extensions) // specversion, id, source, type
	for _, optional := range [][]byte{b.Subject, b.Time, b.DataSchema, b.DataContentType} {
		if optional != nil {
			n++
		}
	}
	return n
}

// record is the storage of one record that EncodeBinary makes.
type record struct {
	msg        sarama.ProducerMessage
	headers    [contextHeaders]sarama.RecordHeader
	key, value sarama.ByteEncoder
}

// The header names EncodeBinary writes for the context attributes, and the spec version's value,
// made once; sarama does not change a record's headers.
var (
	keySpecVersion = []byte(headerPrefix + "specversion")
	keyID          = []byte(headerPrefix + "id")
	keySource      = []byte(headerPrefix + "source")
	keyType        = []byte(headerPrefix + "type")
	keySubject     = []byte(subjectHeader)
	keyTime        = []byte(headerPrefix + "time")
	keyDataSchema  = []byte(headerPrefix + "dataschema")
	keyContentType = []byte("content-type")
	specVersion    = []byte(cloudevents.VersionV1)
)

func encode(ctx context.Context, topic string, m binding.Message, transformers ...binding.Transformer) (*sarama.ProducerMessage, error) {
	msg := &sarama.ProducerMessage{Topic: topic}
	// The key is the subject, not the partitionkey extension kafka_sarama would otherwise use.
	if err := kafka_sarama.WriteProducerMessage(kafka_sarama.WithSkipKeyMapping(ctx), m, msg, transformers...); err != nil {
		return nil, fmt.Errorf("encode cloudevent for kafka: %w", err)
	}
	for _, h := range msg.Headers {
		if string(h.Key) == contract.HeaderSubject {
			msg.Key = sarama.ByteEncoder(h.Value)
			break
		}
	}
	return msg, nil
}

// Send writes one message and waits for Kafka's acknowledgement. It implements
// protocol.Sender.
func (s *Sink) Send(ctx context.Context, m binding.Message, transformers ...binding.Transformer) (err error) {
	defer func() { _ = m.Finish(err) }()
	msg, err := encode(ctx, s.topic, m, transformers...)
	if err != nil {
		return err
	}
	return result(s.send(ctx, msg))
}

// SendBinary writes events in their binary form and waits until Kafka acknowledged every one of
// them, as SendEvents does; the records share the events' bytes until then.
func (s *Sink) SendBinary(ctx context.Context, events []event.Binary) protocol.Result {
	msgs := make([]*sarama.ProducerMessage, len(events))
	for i := range events {
		msgs[i] = EncodeBinary(s.topic, &events[i])
	}
	return result(s.send(ctx, msgs...))
}

// SendEvents writes events and waits until Kafka acknowledged every one of them. Its result is
// nil only when all are stored; see Sink for how to read a failure.
func (s *Sink) SendEvents(ctx context.Context, events ...cloudevents.Event) protocol.Result {
	msgs := make([]*sarama.ProducerMessage, len(events))
	for i := range events {
		msg, err := s.Record(ctx, &events[i])
		if err != nil {
			return err
		}
		msgs[i] = msg
	}
	return result(s.send(ctx, msgs...))
}

// result turns a producer error into an sdk result: a broker's answer is a NACK, anything
// else (a timeout, a closed producer) leaves the events undelivered.
func result(err error) protocol.Result {
	if err == nil {
		return nil
	}
	var refused sarama.KError
	if errors.As(err, &refused) {
		return protocol.NewReceipt(false, "kafka did not store the events: %w", err)
	}
	return err
}
