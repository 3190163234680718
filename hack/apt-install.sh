#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are missing, one apt run at a time:
# CI installs everything its steps need in the background at its start (.ci/run), while the steps
# themselves (make test's Chromium, the e2e node's containerd, shellcheck) call this too. Runs apt
# through sudo when not root.
#
#   hack/apt-install.sh chromium shellcheck
set -euo pipefail

# missing prints the packages that are not installed.
missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

(($#)) || exit 0
[[ -n "$(missing "$@")" ]] || exit 0
sudo=()
((EUID == 0)) || sudo=(sudo)
# One apt at a time on this machine; whoever waits finds the packages installed.
exec 9>"${TMPDIR:-/tmp}/recoflow-apt.lock"
flock 9
mapfile -t want < <(missing "$@")
((${#want[@]})) || exit 0
echo "apt-install: installing ${want[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y -qq "${want[@]}" >/dev/null 2>&1 ||
  { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq "${want[@]}" >/dev/null; }
