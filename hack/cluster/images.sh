#!/usr/bin/env bash
# Assembles every image the e2e cluster runs, without Docker, into $state/images (start.sh imports
# them into the node's containerd): the four recoflow images (hack/images, the same images as the
# Dockerfile) tagged <registry>/recoflow-<name>:<chart appVersion> and :<appVersion>-e2e-upgrade (for
# the helm upgrade scenario), the pause image, CoreDNS,
# metrics-server, KEDA's three, and the test-only Kafka and Topic Operator stand-ins (test/standin).
# An image is re-assembled only when what it is made of changed (the images tool keeps a content key
# beside each tarball), so a warm run, a fresh clone's included, writes nothing; a binary is relinked
# only when its package changed (go build keeps an up-to-date output).
#
#   hack/cluster/images.sh [REGISTRY]     # default localhost:5001, as `make images`
set -euo pipefail
# shellcheck source=hack/cluster/env.sh
source "$(dirname "$0")/env.sh"
registry=${1:-localhost:5001}
tag=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' "$root/charts/recoflow/Chart.yaml")
keda_version=$(sed -n 's/^require github.com\/kedacore\/keda\/v2 v//p' "$root/hack/cluster/keda/go.mod")
images=$state/images
bins=$state/image-bins
mkdir -p "$images" "$bins"
cd "$root"

CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bins/" ./hack/cluster/pause ./test/standin/kafka ./test/standin/topicoperator &
standins=$!
go build -o "$bins/images" ./hack/images
"$bins/images" recoflow -o "$bins/recoflow" -registry "$registry" -tag "$tag,$tag-e2e-upgrade" >/dev/null
for tarball in "$bins"/recoflow/*.tar; do
  ln -f "$tarball" "$images/${tarball##*/}"
done
wait "$standins"

# image NAME REF ENTRYPOINT USER BINARY writes $images/NAME.tar unless it holds that image already.
# Without BINARY (build.sh has not built it) there is no image, and start.sh skips that add-on.
image() {
  local name=$1 ref=$2 entrypoint=$3 user=$4 binary=$5
  if [[ ! -x "$binary" ]]; then
    echo "images: no $binary (hack/cluster/build.sh builds it): no image $ref" >&2
    rm -f "$images/$name.tar"
    return
  fi
  "$bins/images" file -o "$images/$name.tar" -t "$ref" -entrypoint "$entrypoint" -user "$user" "$entrypoint=$binary"
}
image pause localhost/pause:e2e /pause 65535:65535 "$bins/pause"
image standin-kafka localhost/recoflow-e2e-kafka:e2e /kafka 65532:65532 "$bins/kafka"
image standin-topic-operator localhost/recoflow-e2e-topic-operator:e2e /topicoperator 65532:65532 "$bins/topicoperator"
image coredns localhost/coredns:e2e /coredns 0:0 "$cluster_bin/coredns"
image metrics-server localhost/metrics-server:e2e /metrics-server 65532:65532 "$cluster_bin/metrics-server"
image keda "localhost/keda:$keda_version" /keda 65532:65532 "$cluster_bin/keda"
image keda-metrics-apiserver "localhost/keda-metrics-apiserver:$keda_version" /keda-adapter 65532:65532 "$cluster_bin/keda-adapter"
image keda-admission-webhooks "localhost/keda-admission-webhooks:$keda_version" /keda-admission-webhooks 65532:65532 "$cluster_bin/keda-admission-webhooks"
