#!/usr/bin/env bash
# Creates a local development cluster for recoflow, and is safe to run again at any time:
#   - a container registry on localhost:5001 that the cluster pulls from (kind's local-registry recipe),
#   - a kind cluster (default name "recoflow", context kind-recoflow),
#   - Strimzi 1.2.0 from its Helm chart, watching every namespace,
#   - with --keda (or KEDA=1), KEDA 2.20 from its Helm chart,
# and waits until they all run. Needs Docker; kind and helm are built into bin/ when missing.
#
#   hack/kind-up.sh [--keda] [--name NAME]
#   tilt up            # then: see the Tiltfile
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cluster=${KIND_CLUSTER_NAME:-recoflow}
keda=${KEDA:-0}
[[ "$keda" == true ]] && keda=1
reg_name=kind-registry
reg_port=5001
strimzi_version=1.2.0
keda_version='~2.20.0'

usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }
while (($#)); do
  case "$1" in
    --keda) keda=1 ;;
    --name) cluster=${2:?--name needs a value}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "kind-up: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'kind-up: %s\n' "$*" >&2; exit 1; }

export PATH="$root/bin:$PATH"
command -v docker >/dev/null || die "docker is not installed: kind runs its nodes as Docker containers"
docker info >/dev/null 2>&1 || die "cannot reach the Docker daemon: is Docker running?"
command -v kubectl >/dev/null || die "kubectl is not installed"
missing=()
command -v kind >/dev/null || missing+=(kind)
command -v helm >/dev/null || missing+=(helm)
if ((${#missing[@]})); then
  step "Building ${missing[*]} into bin/"
  TOOLS="${missing[*]}" "$root/hack/install-tools.sh"
fi

step "Registry ${reg_name} on localhost:${reg_port}"
if [[ "$(docker inspect -f '{{.State.Running}}' "$reg_name" 2>/dev/null || true)" != true ]]; then
  if docker inspect "$reg_name" >/dev/null 2>&1; then
    docker start "$reg_name" >/dev/null
  else
    docker run -d --restart=always -p "127.0.0.1:${reg_port}:5000" --network bridge --name "$reg_name" registry:3 >/dev/null
  fi
  echo "started"
else
  echo "already running"
fi

step "kind cluster ${cluster}"
if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  echo "already exists"
else
  # The containerd patch lets nodes read registry settings from /etc/containerd/certs.d (the default
  # from kind v0.27 on; kept for older node images).
  kind create cluster --name "$cluster" --wait 2m --config=- <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
- |-
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
EOF
fi
context="kind-${cluster}"
kubectl config use-context "$context" >/dev/null

step "Connecting the cluster to the registry"
# Inside a node, localhost is the node itself: send localhost:5001 to the registry container.
registry_dir="/etc/containerd/certs.d/localhost:${reg_port}"
for node in $(kind get nodes --name "$cluster"); do
  docker exec "$node" mkdir -p "$registry_dir"
  printf '[host."http://%s:5000"]\n' "$reg_name" | docker exec -i "$node" cp /dev/stdin "$registry_dir/hosts.toml"
done
if [[ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$reg_name")" == null ]]; then
  docker network connect kind "$reg_name"
fi
# Tell tools such as Tilt where the registry is (KEP-1755).
kubectl apply -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:${reg_port}"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
EOF

step "Strimzi ${strimzi_version} (namespace strimzi, watching every namespace)"
helm upgrade --install strimzi oci://quay.io/strimzi-helm/strimzi-kafka-operator \
  --version "$strimzi_version" --namespace strimzi --create-namespace \
  --set watchAnyNamespace=true --wait --timeout 10m
kubectl -n strimzi rollout status deployment/strimzi-cluster-operator --timeout=5m
kubectl wait --for=condition=Established --timeout=2m \
  crd/kafkas.kafka.strimzi.io crd/kafkanodepools.kafka.strimzi.io crd/kafkatopics.kafka.strimzi.io

if [[ "$keda" == 1 ]]; then
  step "KEDA ${keda_version} (namespace keda)"
  helm repo add kedacore https://kedacore.github.io/charts --force-update >/dev/null
  helm upgrade --install keda kedacore/keda --version "$keda_version" \
    --namespace keda --create-namespace --wait --timeout 10m
  kubectl -n keda rollout status deployment/keda-operator --timeout=5m
  kubectl wait --for=condition=Established --timeout=2m crd/scaledobjects.keda.sh
else
  echo
  echo "(KEDA skipped: pipelines scale with HPAs; run with --keda to scale consumers on Kafka lag)"
fi

cat <<EOF

kind cluster "${cluster}" is ready (context ${context}), with a registry on localhost:${reg_port}.
Next:
  tilt up                       # build, deploy the chart with Kafka and the example pipeline, port-forward
  hack/e2e-kind.sh              # or: build, install and check a like end to end
  hack/kind-down.sh             # delete the cluster and the registry
EOF
