#!/usr/bin/env bash
# Deletes the development cluster that hack/kind-up.sh made and, unless --keep-registry is given,
# its registry container (with the images pushed to it). Safe to run when they are already gone.
#
#   hack/kind-down.sh [--keep-registry] [--name NAME]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cluster=${KIND_CLUSTER_NAME:-recoflow}
reg_name=kind-registry
keep_registry=0

while (($#)); do
  case "$1" in
    --keep-registry) keep_registry=1 ;;
    --name) cluster=${2:?--name needs a value}; shift ;;
    -h | --help) sed -n '2,5s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "kind-down: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

export PATH="$root/bin:$PATH"
command -v kind >/dev/null || { echo "kind-down: kind is not installed" >&2; exit 1; }

if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  echo "==> Deleting kind cluster $cluster"
  kind delete cluster --name "$cluster"
else
  echo "==> kind cluster $cluster does not exist"
fi

if [[ "$keep_registry" == 0 ]]; then
  if docker inspect "$reg_name" >/dev/null 2>&1; then
    echo "==> Removing registry container $reg_name"
    docker rm -f "$reg_name" >/dev/null
  else
    echo "==> registry container $reg_name does not exist"
  fi
fi
