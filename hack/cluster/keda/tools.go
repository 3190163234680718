//go:build tools

// The KEDA commands hack/cluster/build.sh builds; importing them here makes `go mod tidy` record their
// dependencies.
package tools

import (
	_ "github.com/kedacore/keda/v2/cmd/adapter"
	_ "github.com/kedacore/keda/v2/cmd/operator"
	_ "github.com/kedacore/keda/v2/cmd/webhooks"
)
