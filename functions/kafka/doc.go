// Package kafka is the one Kafka layer every recoflow function uses: client settings and
// connection, the producer, CloudEvents on records, dead-lettering, the transactional
// read-process-write loop, the read_committed log reader, and the reachability Probe behind
// /readyz. No function builds Kafka requests or reads Kafka's record format itself.
//
// NewSaramaConfig is the one sarama configuration: Kafka 4.x protocol, an idempotent producer
// with acks=all and one request in flight, the same partitioner everywhere (so equal-sized
// topics are co-partitioned by item id), consumers that start new groups at the oldest offset.
// Connect retries until Kafka answers.
//
// Producer hands records to one sarama AsyncProducer and reports when each caller's records are
// acknowledged; concurrent callers share produce requests. Sink puts CloudEvents on a topic in
// binary content mode, keyed by subject (the item id), exactly as the sdk's kafka_sarama encoder
// writes them (EncodeEvent; EncodeBinary for an event already in its binary form, event.Binary),
// and returns sdk results (cloudevents.IsACK, IsNACK, IsUndelivered).
// DecodeRecord reads a record back as a CloudEvent.
//
// Transactor runs a Task (what to make of each input record, and the state kept per input
// partition) over a consumer group exactly once: outputs and input offsets commit in one Kafka
// transaction per flush interval, inputs are read read_committed, state is restored from the
// committed outputs when partitions are assigned, a failed transaction is discarded and its
// records processed again, a record Kafka refuses for good is dead-lettered after bounded
// retries, and a stall shows in Ready and a metric. EventProcessor is the Processor for a
// CloudEvents handler: it decodes records, and sends records that are not CloudEvents or that
// the handler rejects to the dead-letter topic unchanged, with the event.HeaderDLQ* headers
// that DeadLetter adds. Clean and popularity are both Tasks.
//
// LogReader reads a topic read_committed without a group and knows when it has reached an end
// offset: what restoring state from a changelog needs. It uses franz-go's kgo client, the one
// place sarama is not used: sarama's consumer neither delivers transaction markers nor exposes
// its position past them, so it cannot tell that it reached the end of a transactional log.
//
// The kafkatest package starts in-process brokers for tests and reads what functions wrote.
package kafka
