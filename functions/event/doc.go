// Package event holds the rules of the recoflow event contract: the JSON payload of interaction
// events, the checks an event must pass (Validate, with a typed Reason per rule), the
// normalisation clean applies, the extension attributes recoflow derives, readers of the
// CloudEvents JSON format that explain every refusal by field, and the binary content mode form
// of an event (Binary), which a batch of plain, valid events is read into directly
// (ValidBinaryBatch). The names the rules use (the actions table, event types, header names) are
// in package contract.
//
// It has no Kafka or HTTP in it, so the ingest edge, the clean function and the popularity
// function share one definition.
package event
