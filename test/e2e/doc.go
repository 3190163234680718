// Package e2e is the end-to-end suite of recoflow on a real Kubernetes node: hack/cluster starts the
// cluster, `make e2e` runs this suite against it (build tag e2e, so `make test` does not). The tests
// install recoflow the ways users do (Helm, manifests/install.yaml), run pipelines on the Kafka and
// Topic Operator stand-ins of test/standin, with real KEDA, metrics-server and CoreDNS, and check what
// a user would see: pipeline status, autoscaler status, and events in, counts out.
package e2e
