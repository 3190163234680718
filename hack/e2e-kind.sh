#!/usr/bin/env bash
# End-to-end check on the kind cluster of hack/kind-up.sh: builds the four images and pushes them to
# the cluster's registry (localhost:5001), installs the chart with the development Kafka and the
# example pipeline, waits until the pipeline is Ready, posts likes to ingest through a port-forward
# and reads them back from popularity's top list. When anything fails it prints the pipeline's
# status, the objects it made, events and the pods' logs, and exits non-zero.
#
#   hack/kind-up.sh && hack/e2e-kind.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cluster=${KIND_CLUSTER_NAME:-recoflow}
context=kind-${cluster}
namespace=recoflow-system
release=recoflow
kafka=recoflow
pipeline=likes
registry=localhost:5001
tag=${E2E_TAG:-e2e-$(date +%Y%m%d%H%M%S)}
timeout=${E2E_TIMEOUT:-10m}
ingest_port=${E2E_INGEST_PORT:-18080}
popularity_port=${E2E_POPULARITY_PORT:-18081}

export PATH="$root/bin:$PATH"
step() { printf '\n==> %s\n' "$*"; }
die() { printf 'e2e-kind: %s\n' "$*" >&2; exit 1; }
# Every kubectl and helm call names the kind context, so this never touches another cluster.
k() { kubectl --context "$context" -n "$namespace" "$@"; }

for tool in docker kind kubectl helm curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed (hack/kind-up.sh builds kind and helm into bin/)"
done
kind get clusters 2>/dev/null | grep -qx "$cluster" || die "no kind cluster '$cluster': run hack/kind-up.sh first"

pids=()
# shellcheck disable=SC2317 # cleanup and diagnose run from the EXIT trap.
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
# shellcheck disable=SC2317
diagnose() {
  local status=$?
  ((status == 0)) && return
  set +e
  printf '\n==> FAILED (exit %d): what the cluster looks like\n' "$status" >&2
  k describe rp "$pipeline"
  k get rp,kafka,kafkanodepools,kafkatopics,deployments,hpa,pods -o wide
  k get scaledobjects 2>/dev/null
  k get events --sort-by=.lastTimestamp | tail -n 40
  for pod in $(k get pods -o name); do
    printf '\n--- logs of %s\n' "$pod"
    k logs "$pod" --all-containers --tail=100 --prefix
    k logs "$pod" --all-containers --tail=30 --prefix --previous 2>/dev/null
  done
  printf '\ne2e-kind: FAILED (exit %d), details above\n' "$status" >&2
}
trap 'diagnose; cleanup' EXIT

step "Building and pushing the images as $registry/recoflow-*:$tag"
"$root/hack/build-images.sh" "$registry" "$tag" --push

step "Installing the chart (release $release in $namespace, with Kafka and the example pipeline)"
kubectl --context "$context" apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
  labels:
    pod-security.kubernetes.io/enforce: restricted
EOF
# Helm installs CRDs only on the first install: apply the current one on every run.
kubectl --context "$context" apply --server-side --force-conflicts -f "$root/charts/recoflow/crds/"
helm upgrade --install "$release" "$root/charts/recoflow" --kube-context "$context" --namespace "$namespace" \
  --set image.registry="$registry" --set image.tag="$tag" \
  --set kafka.create=true --set kafka.name="$kafka" \
  --set examplePipeline.enabled=true --set examplePipeline.name="$pipeline"

step "Waiting for the operator, Kafka and the pipeline (up to $timeout each)"
k rollout status deployment/recoflow-operator --timeout="$timeout"
k wait kafka/"$kafka" --for=condition=Ready --timeout="$timeout"
k wait rp/"$pipeline" --for=condition=Ready --timeout="$timeout"
k get rp "$pipeline"

step "Port-forwarding ingest to localhost:$ingest_port and popularity to localhost:$popularity_port"
k port-forward service/"$pipeline"-ingest "$ingest_port":80 >/dev/null &
pids+=($!)
k port-forward service/"$pipeline"-popularity "$popularity_port":80 >/dev/null &
pids+=($!)
for port in "$ingest_port" "$popularity_port"; do
  for _ in $(seq 50); do
    curl -fsS -o /dev/null "localhost:$port/readyz" && break
    sleep 0.2
  done
  curl -fsS -o /dev/null "localhost:$port/readyz" || die "nothing ready behind localhost:$port"
done

item="e2e-item-$tag"
step "Posting 3 likes of $item"
for user in alice bob carol; do
  code=$(curl -sS -o /dev/stderr -w '%{http_code}' -X POST "localhost:$ingest_port/v1/likes" \
    -H 'Content-Type: application/json' \
    -d "{\"user_id\":\"$user\",\"item_id\":\"$item\",\"title\":\"End to end\",\"category\":\"e2e\"}")
  [[ "$code" == 202 ]] || die "POST /v1/likes for $user answered $code, want 202"
done

step "Reading the top list until $item is in it"
top=
for _ in $(seq 60); do
  top=$(curl -fsS "localhost:$popularity_port/v1/top?n=100" || true)
  if grep -q "\"$item\"" <<<"$top"; then
    echo "$top"
    printf '\ne2e-kind: PASSED: %s went in through ingest and came out in the top list\n' "$item"
    exit 0
  fi
  sleep 1
done
echo "last top list: $top" >&2
die "$item did not reach popularity's top list within 60 s"
