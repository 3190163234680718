//go:build tools

// The metrics-server command hack/cluster/build.sh builds; importing it here makes `go mod tidy` record
// its dependencies.
package tools

import _ "sigs.k8s.io/metrics-server/cmd/metrics-server"
