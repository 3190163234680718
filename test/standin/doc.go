// Package standin holds test-only stand-ins for what the e2e cluster cannot run: Strimzi and Kafka are
// Java and cannot be built on the CI machine. broker is the embedded kfake broker, plain or secured
// (TLS with Strimzi's cluster CA Secrets, SCRAM-SHA-512, ACLs, a superuser), and kafka the command
// that serves it in-cluster under the Service name Strimzi gives a cluster's bootstrap; topicoperator
// plays Strimzi's Topic Operator (KafkaTopic → topic on the broker, with Strimzi's status), the
// cluster operator's Kafka status and, on a secured broker, the User Operator (useroperator:
// KafkaUser → credentials, ACLs and Strimzi's Secret). standintest starts their tests' kube-apiserver.
// Nothing here is shipped: the images are assembled only by hack/cluster.
package standin
