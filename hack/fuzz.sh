#!/usr/bin/env bash
# Explores fuzz targets for a bounded time each: hack/fuzz.sh FUZZTIME PACKAGE:TARGET...
# (`make fuzz` runs it over every decoder). A target fails on any finding. One outcome is retried
# once: Go 1.26's fuzzing coordinator can report a bare "context deadline exceeded" at the end of
# -fuzztime when a worker is slow to stop, with no failing input (go.dev/issue/75804, fixed in Go
# 1.27); a finding always writes its input to testdata/fuzz, so that case is told apart by the
# message alone with nothing written.
set -euo pipefail
fuzztime=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# fuzz PACKAGE TARGET runs one target, its output shown and kept in $log.
fuzz() {
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1" 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

# coordinator_race is true when the failure in $log is the coordinator's deadline race alone.
coordinator_race() {
  grep -q '^    context deadline exceeded$' "$log" &&
    ! grep -qE 'Failing input written|panic:|--- FAIL: .*/' "$log"
}

for t in "$@"; do
  pkg=${t%%:*} target=${t#*:}
  echo "fuzz $target ($pkg) for $fuzztime"
  fuzz "$pkg" "$target" && continue
  coordinator_race || exit 1
  echo "fuzz: $target stopped on the fuzzing coordinator's deadline race (go.dev/issue/75804), no input failed; once more"
  fuzz "$pkg" "$target"
done
