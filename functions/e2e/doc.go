// Package e2e holds the end-to-end tests of the pipeline, on an in-process Kafka broker: the
// functions run through the same Run functions their binaries call, and the tests talk HTTP to
// them and read the topics back. It has no code outside its tests.
package e2e
