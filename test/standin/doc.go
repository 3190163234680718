// Package standin holds test-only stand-ins for what the e2e cluster cannot run: Strimzi and Kafka are
// Java and cannot be built on the CI machine. kafka is the embedded kfake broker served in-cluster under
// the Service name Strimzi gives a cluster's bootstrap; topicoperator plays Strimzi's Topic Operator
// (KafkaTopic → topic on the broker, with Strimzi's status) and the cluster operator's Kafka status.
// Nothing here is shipped: the images are assembled only by hack/cluster.
package standin
