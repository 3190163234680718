#!/usr/bin/env bash
# Installs Chromium from Debian when it is missing: the live page's browser test
# (functions/e2e TestLivePageInChromium) drives a real headless Chromium.
set -euo pipefail
command -v chromium >/dev/null || exec "$(dirname "$0")/apt-install.sh" chromium
