//go:build tools

// The node and control-plane commands hack/cluster/build.sh builds straight from k8s.io/kubernetes for
// the e2e cluster; importing them here makes `go mod tidy` record their dependencies.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
