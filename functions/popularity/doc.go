// Package popularity is the last function of the pipeline: it turns clean interactions into
// time-decayed hotness per item, exactly once, and serves it as top-N lists.
//
// The Processor is a scorer run by kafka.Transactor over the clean topic: it keeps one
// hotness.Board per assigned partition and, every flush interval, the Transactor writes the state
// of each item that changed (encoded by the state codec in record.go) to the same partition
// number of the compacted popularity topic, and commits the consumed offsets, in one Kafka
// transaction. The popularity topic is the processor's changelog: on assignment a
// partition's state is restored from it before any event is applied, so a crash at any point, a
// rebalance or a restart never loses or doubles an event.
//
// The View follows every partition of the popularity topic with read_committed isolation and no
// consumer group (kafka.LogReader), so each replica serves all items whichever partitions it
// processes. An item whose events moved to a new partition when the topics grew has a state on
// each; the view serves their sum (hotness.Merge); NewHandler
// serves it over HTTP. Run puts the three together behind the shared function shell (package serve).
package popularity
