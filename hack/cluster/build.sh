#!/usr/bin/env bash
# Builds everything the e2e cluster runs into bin/ from Go modules, each part cached behind a stamp of
# the inputs it is built from (later runs take seconds):
#   bin/k8s      etcd, kube-apiserver (shared with envtest), kubelet, kube-controller-manager,
#                kube-scheduler, kube-proxy                         (hack/k8s; hack/cluster/build-k8s.sh)
#   bin/cluster  KEDA v2.20.2 operator, metrics API server and admission webhooks (hack/cluster/keda),
#                metrics-server v0.8.0 (hack/cluster/metrics-server), CoreDNS v1.15.0 (hack/cluster/coredns),
#                keda.yaml and metrics-server.yaml (their own manifests rendered with the local image
#                names and CPU requests that fit the suite on a 2-core node)
# Everything that goes into an image is static (CGO_ENABLED=0); the node binaries run on the host and are
# built exactly like envtest's so that both builds share the Go build cache. One build at a time: the
# machine has two cores (CI runs this script at idle priority while its other steps run). A fresh clone takes every part from the binary cache (hack/bincache.sh) when this
# machine built it before from the same inputs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=hack/bincache.sh
source "$root/hack/bincache.sh"
here="$root/hack/cluster"
out="$root/bin/cluster"
mkdir -p "$out"
# One build.sh at a time: CI starts one in the background, and make e2e's waits for it.
exec 9>"$out/.build.lock"
flock 9

timed() {
  local start=$SECONDS
  "$@"
  echo "build: ${*: -1} took $((SECONDS - start))s" >&2
}

# fresh NAME KEY FILE... is true when bin/cluster holds FILEs built from KEY (its stamp says so), or
# when the binary cache has them (then they are copied from it).
fresh() {
  local name=$1 key=$2
  shift 2
  local f
  if [[ "$(cat "$out/.$name.built-from" 2>/dev/null)" == "$key" ]]; then
    for f in "$@"; do [[ -e "$out/$f" ]] || return 1; done
    return 0
  fi
  bincache_restore "cluster-$name" "$key" "$out" "$@" || return 1
  echo "$key" >"$out/.$name.built-from"
}
# built NAME KEY FILE... stamps FILEs as built from KEY and saves them in the binary cache.
built() {
  local name=$1 key=$2
  shift 2
  echo "$key" >"$out/.$name.built-from"
  bincache_save "cluster-$name" "$key" "$out" "$@"
}

# gobuild MODULE_DIR OUT PACKAGE builds one static binary for an image.
gobuild() {
  (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$2" "$3")
}

timed "$here/build-k8s.sh"

keda_version=$(sed -n 's/^require github.com\/kedacore\/keda\/v2 v//p' "$here/keda/go.mod")
# version.Version is what KEDA reports as its version (and in its metrics).
ld="-s -w -X github.com/kedacore/keda/v2/version.Version=$keda_version"
keda_files=(keda keda-adapter keda-admission-webhooks)
key=$(bincache_key "$here/keda/go.mod" "$here/keda/go.sum" -- "$ld" localhost/keda)
if ! fresh keda "$key" "${keda_files[@]}"; then
  echo "build: KEDA v$keda_version operator, metrics API server and admission webhooks (about 10 minutes the first time)" >&2
  for cmd in operator:keda adapter:keda-adapter webhooks:keda-admission-webhooks; do
    (cd "$here/keda" && export CGO_ENABLED=0 && timed go build -trimpath -ldflags "$ld" -o "$out/${cmd#*:}" \
      "github.com/kedacore/keda/v2/cmd/${cmd%%:*}")
  done
  built keda "$key" "${keda_files[@]}"
fi

# The add-ons' own manifests, rendered with the local images and with CPU requests of 20m in place
# of their 100m: the suite's scenarios run at once on a 2-core node, whose scheduler places pods by
# their requests (their limits stay). KEDA's operator and webhooks are probed for readiness from 2 s
# on instead of 20 s (their liveness probes stay): the suite waits for KEDA. Cached apart from the
# binaries, so that changing how they are rendered does not rebuild those.
fit_cpu="s#^\( *\)cpu: 100m\$#\1cpu: 20m#"
keda_render=(-e "s#ghcr.io/kedacore/keda:main#localhost/keda:$keda_version#"
  -e "s#ghcr.io/kedacore/keda-metrics-apiserver:main#localhost/keda-metrics-apiserver:$keda_version#"
  -e "s#ghcr.io/kedacore/keda-admission-webhooks:main#localhost/keda-admission-webhooks:$keda_version#"
  -e "s#imagePullPolicy: Always#imagePullPolicy: IfNotPresent#" -e "$fit_cpu"
  -e "/^        readinessProbe:\$/,/initialDelaySeconds/s#initialDelaySeconds: 20\$#initialDelaySeconds: 2#")
key=$(bincache_key "$here/keda/go.mod" "$here/keda/go.sum" -- "${keda_render[@]}")
if ! fresh keda-manifest "$key" keda.yaml; then
  keda_config="$(cd "$here/keda" && go list -m -f '{{.Dir}}' github.com/kedacore/keda/v2)/config/default"
  kubectl kustomize "$keda_config" | sed "${keda_render[@]}" >"$out/keda.yaml"
  built keda-manifest "$key" keda.yaml
fi

key=$(bincache_key "$here/metrics-server/go.mod" "$here/metrics-server/go.sum" -- localhost/metrics-server:e2e --kubelet-insecure-tls)
if ! fresh metrics-server "$key" metrics-server; then
  timed gobuild "$here/metrics-server" "$out/metrics-server" sigs.k8s.io/metrics-server/cmd/metrics-server
  built metrics-server "$key" metrics-server
fi
# metrics-server's own manifests; the kubelet's serving certificate is self-signed.
ms_render=(-e "s#image: gcr.io/k8s-staging-metrics-server/metrics-server:master#image: localhost/metrics-server:e2e#"
  -e "s#- --kubelet-use-node-status-port#- --kubelet-use-node-status-port\\n        - --kubelet-insecure-tls#"
  -e "s#imagePullPolicy: IfNotPresent#imagePullPolicy: Never#" -e "$fit_cpu")
key=$(bincache_key "$here/metrics-server/go.mod" "$here/metrics-server/go.sum" -- "${ms_render[@]}")
if ! fresh metrics-server-manifest "$key" metrics-server.yaml; then
  ms_config="$(cd "$here/metrics-server" && go list -m -f '{{.Dir}}' sigs.k8s.io/metrics-server)/manifests/base"
  kubectl kustomize "$ms_config" | sed "${ms_render[@]}" >"$out/metrics-server.yaml"
  built metrics-server-manifest "$key" metrics-server.yaml
fi

key=$(bincache_key "$here/coredns/go.mod" "$here/coredns/go.sum" "$here/coredns/main.go")
if ! fresh coredns "$key" coredns; then
  timed gobuild "$here/coredns" "$out/coredns" .
  built coredns "$key" coredns
fi
