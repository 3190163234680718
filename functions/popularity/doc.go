// Package popularity is the last function of the pipeline: it turns clean interactions into
// time-decayed hotness per item, exactly once, and serves it as top-N lists.
//
// The Processor consumes the clean topic in a consumer group. It keeps one hotness.Board per
// assigned partition and, every flush interval, writes the state of each item that changed to the
// same partition number of the compacted popularity topic, and commits the consumed offsets, in
// one Kafka transaction. The popularity topic is the processor's changelog: on assignment a
// partition's state is restored from it before any event is applied, so a crash at any point, a
// rebalance or a restart never loses or doubles an event.
//
// The View follows every partition of the popularity topic with read_committed isolation and no
// consumer group, so each replica serves all items whichever partitions it processes; NewHandler
// serves it over HTTP. Run puts the three together behind the shared function shell (package serve).
package popularity
