#!/bin/sh
# dev-entrypoint runs a recoflow binary in Tilt's development image and passes it its arguments.
# A live update copies a newer binary to /tmp/live/main and runs `dev-entrypoint restart`, which stops
# the running binary; the loop below then starts the newest one. Any other exit of the binary ends
# the container with the binary's exit code, so a crash still shows as one.
set -u
live=${DEV_LIVE_DIR:-/tmp/live}
image_app=${DEV_APP:-/app/main}

if [ "${1:-}" = restart ]; then
  touch "$live/.restart"
  kill -TERM "$(cat "$live/.pid")"
  exit 0
fi

mkdir -p "$live"
child=
stopping=
stop() {
  stopping=1
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
}
trap stop TERM INT

while :; do
  app=$image_app
  [ -x "$live/main" ] && app=$live/main
  "$app" "$@" &
  child=$!
  echo "$child" >"$live/.pid"
  # wait returns early when a signal runs the trap: keep waiting until the binary is gone.
  while :; do
    wait "$child"
    code=$?
    kill -0 "$child" 2>/dev/null || break
  done
  if [ -z "$stopping" ] && [ -e "$live/.restart" ]; then
    rm -f "$live/.restart"
    echo "dev-entrypoint: restarting with the live-updated binary" >&2
    continue
  fi
  exit "$code"
done
