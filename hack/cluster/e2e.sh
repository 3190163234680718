#!/usr/bin/env bash
# Runs the e2e suite (test/e2e) on a real one-node Kubernetes on this machine: installs the Debian
# packages the node needs when they are missing, builds what it runs (cached in bin/), assembles and
# imports the images, starts the cluster, runs the suite and always stops the cluster again, undoing
# its machine changes. Needs root. `make e2e` runs it; extra arguments go to `go test`, e.g.
#
#   hack/cluster/e2e.sh -run TestHelmInstall
set -euo pipefail
# shellcheck source=hack/cluster/env.sh
source "$(dirname "$0")/env.sh"
here=$root/hack/cluster
started=$SECONDS
phase() { echo "e2e: [$((SECONDS - started))s] $*" >&2; }

((EUID == 0)) || { echo "e2e: needs root (it runs a kubelet and changes iptables)" >&2; exit 1; }
phase "installing packages, building and assembling images (cached)"
"$here/prepare.sh"
"$root/hack/install-tools.sh"

trap '"$here/stop.sh"' EXIT
phase "starting the cluster"
"$here/start.sh"
phase "running the suite"
# Memory of the cluster while the suite runs: the node's processes and every container, sampled.
(
  while sleep 5; do
    ps -e -o rss=,comm= | awk '$2 ~ /^(etcd|kube-|kubelet|containerd|keda|metrics-server|coredns|app|kafka|topicoperator)/ {s += $1} END {print s}'
  done >"$state/memory.samples"
) &
sampler=$!
status=0
# The scenarios run concurrently (test/e2e/keda_test.go says how they share the cluster): they
# mostly wait on the cluster, KEDA's polls and pods starting, not on the CPU.
go test -tags e2e -count=1 -timeout 40m -parallel 16 -v ./test/e2e/ "$@" || status=$?
kill "$sampler" 2>/dev/null || true
sort -n "$state/memory.samples" | tail -1 | awk '{printf "e2e: peak memory of the cluster (RSS of its processes and containers) %.0f MiB\n", $1 / 1024}' >&2
phase "suite done (exit $status)"
exit "$status"
