// Package upstreamcrds finds the upstream Strimzi and KEDA CRDs that the tests install into
// envtest, so that the objects the operator makes are checked against the real schemas. They live
// outside the repository, in shared/reference/crds beside it (or beside one of its ancestors), and
// are never copied into it.
package upstreamcrds

import (
	"fmt"
	"os"
	"path/filepath"
)

// Env names the folder of the upstream CRDs (holding strimzi/ and keda/) when it is not found
// beside the repository.
const Env = "RECOFLOW_UPSTREAM_CRDS"

// Dir returns the folder of the upstream CRDs: $RECOFLOW_UPSTREAM_CRDS, or the nearest
// shared/reference/crds beside from or one of its ancestors.
func Dir(from string) (string, error) {
	if dir := os.Getenv(Env); dir != "" {
		return dir, nil
	}
	dir, err := filepath.Abs(from)
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(filepath.Dir(dir), "shared", "reference", "crds")
		if _, err := os.Stat(filepath.Join(candidate, "strimzi")); err == nil {
			return candidate, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no upstream CRDs: shared/reference/crds is beside no ancestor of %s; set $%s", from, Env)
		}
		dir = filepath.Dir(dir)
	}
}

// Strimzi returns the folder of the upstream Strimzi CRDs in dir.
func Strimzi(dir string) string { return filepath.Join(dir, "strimzi") }

// KEDA returns the folder of the upstream KEDA CRDs in dir.
func KEDA(dir string) string { return filepath.Join(dir, "keda") }
