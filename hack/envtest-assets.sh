#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that envtest runs on, from Go modules, into bin/k8s.
# The build takes a few minutes cold; later runs reuse the binaries while hack/k8s/go.sum is
# unchanged, and a fresh clone takes them from the binary cache (hack/bincache.sh) when this machine
# built them before.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/bincache.sh
source "$root/hack/bincache.sh"
out="$root/bin/k8s"
stamp="$out/.built-from"
want=$(cat "$root/hack/k8s/go.mod" "$root/hack/k8s/go.sum" | sha256sum | cut -d' ' -f1)
fresh() { [[ -x "$out/kube-apiserver" && -x "$out/etcd" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; }
fresh && exit 0
# One build at a time (CI starts the e2e cluster's builds, which begin with this one, in the
# background): whoever waits finds the binaries built.
mkdir -p "$out"
exec 9>"$out/.envtest.lock"
flock 9
fresh && exit 0
key=$(bincache_key "$root/hack/k8s/go.mod" "$root/hack/k8s/go.sum" -- envtest)
if bincache_restore envtest "$key" "$out" etcd kube-apiserver; then
  echo "$want" >"$stamp"
  exit 0
fi
echo "envtest: building kube-apiserver and etcd into $out (a few minutes the first time)" >&2
k8s_version=$(sed -n 's/^\tk8s.io\/kubernetes v//p' "$root/hack/k8s/go.mod")
version_pkg=k8s.io/component-base/version
(cd "$root/hack/k8s" && go build -trimpath -o "$out/" \
  -ldflags "-X $version_pkg.gitVersion=v$k8s_version -X $version_pkg.gitMajor=${k8s_version%%.*} -X $version_pkg.gitMinor=$(cut -d. -f2 <<<"$k8s_version")" \
  ./etcd ./kube-apiserver)
echo "$want" > "$stamp"
bincache_save envtest "$key" "$out" etcd kube-apiserver
