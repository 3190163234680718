#!/usr/bin/env bash
# Builds the node and control-plane binaries of the e2e cluster from the hack/k8s module into bin/k8s:
# kube-apiserver and etcd through hack/envtest-assets.sh (the same binaries envtest runs on), then
# kubelet, kube-controller-manager, kube-scheduler and kube-proxy with the same flags, so the two builds
# share one Go build cache. Cached: later runs reuse the binaries while hack/k8s/go.{mod,sum} are unchanged,
# and a fresh clone takes them from the binary cache (hack/bincache.sh) when this machine built them before.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=hack/bincache.sh
source "$root/hack/bincache.sh"
"$root/hack/envtest-assets.sh"
out="$root/bin/k8s"
stamp="$out/.cluster-built-from"
want=$(cat "$root/hack/k8s/go.mod" "$root/hack/k8s/go.sum" | sha256sum | cut -d' ' -f1)
cmds=(kubelet kube-controller-manager kube-scheduler kube-proxy)
built=true
for c in "${cmds[@]}"; do [[ -x "$out/$c" ]] || built=false; done
if $built && [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
  exit 0
fi
key=$(bincache_key "$root/hack/k8s/go.mod" "$root/hack/k8s/go.sum" -- cluster)
if bincache_restore k8s-node "$key" "$out" "${cmds[@]}"; then
  echo "$want" >"$stamp"
  exit 0
fi
echo "cluster: building ${cmds[*]} into $out (about 15 minutes the first time)" >&2
k8s_version=$(sed -n 's/^\tk8s.io\/kubernetes v//p' "$root/hack/k8s/go.mod")
version_pkg=k8s.io/component-base/version
(cd "$root/hack/k8s" && go build -trimpath -o "$out/" \
  -ldflags "-X $version_pkg.gitVersion=v$k8s_version -X $version_pkg.gitMajor=${k8s_version%%.*} -X $version_pkg.gitMinor=$(cut -d. -f2 <<<"$k8s_version")" \
  "${cmds[@]/#/k8s.io/kubernetes/cmd/}")
echo "$want" > "$stamp"
bincache_save k8s-node "$key" "$out" "${cmds[@]}"
