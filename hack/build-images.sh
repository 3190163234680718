#!/usr/bin/env bash
# Builds the four recoflow images from the Dockerfile, tagged <registry>/recoflow-<name>:<tag>, and
# with --push pushes them. `make images` passes the chart's appVersion as the tag.
#
#   hack/build-images.sh REGISTRY TAG [--push]
#   hack/build-images.sh localhost:5001 0.1.0 --push     # the kind registry of hack/kind-up.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if (($# < 2)) || (($# > 3)) || { (($# == 3)) && [[ "$3" != --push ]]; }; then
  sed -n '2,6s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
registry=${1%/}
tag=$2
push=${3:-}

command -v docker >/dev/null || { echo "build-images: docker is not installed" >&2; exit 1; }

# image name -> Go package of its binary
images=(
  "recoflow-operator=./operator/cmd"
  "recoflow-ingest=./functions/ingest/cmd"
  "recoflow-clean=./functions/clean/cmd"
  "recoflow-popularity=./functions/popularity/cmd"
)

for image in "${images[@]}"; do
  name=${image%%=*}
  ref="$registry/$name:$tag"
  echo "==> $ref (${image#*=})"
  DOCKER_BUILDKIT=1 docker build --build-arg "CMD=${image#*=}" --tag "$ref" "$root"
  if [[ "$push" == --push ]]; then
    docker push "$ref"
  fi
done
