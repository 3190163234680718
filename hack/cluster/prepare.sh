#!/usr/bin/env bash
# Prepares this machine for the e2e cluster without starting it: installs the node's Debian packages
# (and any other packages named on the command line) when missing, builds what the cluster runs
# (build.sh) and assembles its images (images.sh), both cached. e2e.sh starts with it; CI runs it in
# the background from its start.
#
#   hack/cluster/prepare.sh [DEBIAN_PACKAGE...]
set -euo pipefail
# shellcheck source=hack/cluster/env.sh
source "$(dirname "$0")/env.sh"
"$root/hack/apt-install.sh" "${cluster_packages[@]}" "$@"
"$root/hack/cluster/build.sh"
"$root/hack/cluster/images.sh"
