#!/usr/bin/env bash
# Builds the command-line tools the project uses into bin/, from Go modules (no prebuilt downloads):
#   bin/helm  Helm v4.3.1  (go install helm.sh/helm/v4/cmd/helm@v4.3.1)
#   bin/tilt  Tilt v0.33.21 (from the tools module hack/tools/tilt, which carries Tilt's replaces)
#   bin/kind  kind v0.33.0, only when asked for (hack/kind-up.sh asks when kind is missing)
# A tool is rebuilt only when it is missing or was built from another version, so later runs are
# instant; a fresh clone takes it from the binary cache (hack/bincache.sh) when this machine built it
# before. TOOLS lists the tools to build (default "helm tilt").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/bincache.sh
source "$root/hack/bincache.sh"
bin="$root/bin"
helm_version=v4.3.1
tilt_version=v0.33.21
kind_version=v0.33.0
tools=${TOOLS:-helm tilt}

mkdir -p "$bin"

log() { printf 'install-tools: %s\n' "$*" >&2; }

# built_from prints the version of module $2 recorded in the Go binary $1, or nothing.
built_from() {
  [[ -x "$1" ]] || return 0
  go version -m "$1" 2>/dev/null | awk -v mod="$2" '($1 == "mod" || $1 == "dep") && $2 == mod { print $3; exit }'
}

install_helm() {
  if [[ "$(built_from "$bin/helm" helm.sh/helm/v4)" == "$helm_version" ]]; then
    log "helm $helm_version is up to date"
    return
  fi
  local key
  key=$(bincache_key -- helm "$helm_version")
  bincache_restore helm "$key" "$bin" helm && return
  log "building helm $helm_version into bin/ (about a minute the first time)"
  GOBIN="$bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version" \
    "helm.sh/helm/v4/cmd/helm@$helm_version"
  bincache_save helm "$key" "$bin" helm
}

install_tilt() {
  if [[ "$(built_from "$bin/tilt" github.com/tilt-dev/tilt)" == "$tilt_version" ]]; then
    log "tilt $tilt_version is up to date"
    return
  fi
  local key
  key=$(bincache_key "$root/hack/tools/tilt/go.mod" "$root/hack/tools/tilt/go.sum" -- tilt "$tilt_version")
  bincache_restore tilt "$key" "$bin" tilt && return
  # Tilt needs cgo (its Tiltfile parser uses tree-sitter), so this build uses the C compiler.
  log "building tilt $tilt_version into bin/ (a few minutes the first time)"
  (
    cd "$root/hack/tools/tilt"
    CGO_ENABLED=1 go build -trimpath -tags osusergo \
      -ldflags "-s -w -X main.version=${tilt_version#v}" \
      -o "$bin/tilt" github.com/tilt-dev/tilt/cmd/tilt
  )
  bincache_save tilt "$key" "$bin" tilt
}

install_kind() {
  if [[ "$(built_from "$bin/kind" sigs.k8s.io/kind)" == "$kind_version" ]]; then
    log "kind $kind_version is up to date"
    return
  fi
  log "building kind $kind_version into bin/"
  GOBIN="$bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$kind_version"
}

for tool in $tools; do
  case "$tool" in
    helm) install_helm ;;
    tilt) install_tilt ;;
    kind) install_kind ;;
    *) log "unknown tool '$tool' (known: helm tilt kind)"; exit 2 ;;
  esac
done
