#!/usr/bin/env bash
# Installs Chromium from Debian when it is missing: the live page's browser test
# (functions/e2e TestLivePageInChromium) drives a real headless Chromium.
set -euo pipefail

if command -v chromium >/dev/null; then
  exit 0
fi
echo "install-chromium: installing the Debian chromium package (a minute the first time)" >&2
if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
fi
${sudo:-} apt-get update -qq
DEBIAN_FRONTEND=noninteractive ${sudo:-} apt-get install -y -qq chromium >/dev/null
