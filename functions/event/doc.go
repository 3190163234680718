// Package event is the recoflow event contract: the CloudEvent types that cross every boundary of
// the pipeline, their JSON payload, the rules an event must satisfy, and the names of the Kafka
// headers and extension attributes the functions attach.
//
// It has no Kafka or HTTP in it, so the ingest edge, the clean function, the popularity function,
// the operator and external clients all share one definition.
package event
