// Package charts holds the tests of the Helm chart in recoflow/: they render it with the helm binary
// that `make tools` builds into bin/ and check what a cluster would be given.
package charts
