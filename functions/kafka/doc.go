// Package kafka is the one Kafka layer every recoflow function uses: client settings and
// connection, the producer, CloudEvents on records (Sink, DecodeRecord, DeadLetter), the
// consumer-group Source, and the reachability Probe behind /readyz.
//
// NewSaramaConfig is the one sarama configuration: Kafka 4.x protocol, an idempotent producer
// with acks=all and one request in flight, the same partitioner everywhere (so equal-sized
// topics are co-partitioned by item id), consumers that start new groups at the oldest offset.
//
// Producer hands records to one sarama AsyncProducer and reports when each caller's records are
// acknowledged; concurrent callers share produce requests. Sink puts CloudEvents on a topic in
// binary content mode through the sdk's kafka_sarama encoder, keyed by subject (the item id),
// and returns sdk results (cloudevents.IsACK, IsNACK, IsUndelivered).
//
// Source runs a consumer group with at-least-once delivery: each record goes through a
// Processor, its outputs are produced without waiting, and its offset is marked only when its
// outputs and those of every older record of its partition are acknowledged. EventProcessor is
// the Processor for a CloudEvents handler: it decodes records, and sends records that are not
// CloudEvents or that the handler rejects to the dead-letter topic unchanged, with the
// event.HeaderDLQ* headers that DeadLetter adds.
//
// The kafkatest package starts in-process brokers for tests.
package kafka
