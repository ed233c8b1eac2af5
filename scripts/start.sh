#!/usr/bin/env bash
# Starts the Arcella platform with the examples: installs packages and the
# pinned npm tools, builds, starts the daemon (ALME at $ARCELLA_HOME/alme,
# default ~/.arcella; the HTTP ingress on [http] listen, default
# 127.0.0.1:8080), then
#  - installs, deploys and starts the seed's http-logger (examples/http-logger:
#    a C component serving wasi:http/incoming-handler and exporting
#    logger:log/log@1.0.0; the seed's manifests verbatim) and sends it an
#    HTTP request through the ingress;
#  - installs the component example app@0.1.0 (examples/app), deploys it with
#    its import logger:log/log@1.0.0 linked to http-logger's deployment (the
#    README's "Components" lines), starts it, calls app's greet, and shows
#    http-logger's log: the line app logged crossed the link;
# and shows `arcella-cli status`. The daemon then runs in the foreground:
# Ctrl-C (or `arcella-cli shutdown`) stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${ARCELLA_BUILD_DIR:-$ROOT/build}
export ARCELLA_HOME=${ARCELLA_HOME:-$HOME/.arcella}

# The npm tools (jco) build the component examples (examples/components.cmake).
"$ROOT/scripts/bootstrap.sh"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target arcella arcella-worker arcella-cli examples
ARCELLA="$BUILD/arcella"
CLI="$BUILD/arcella-cli"

daemon_pid=""
if "$CLI" ping >/dev/null 2>&1; then
  echo "== a daemon is already running on $ARCELLA_HOME; using it"
else
  echo "== starting the daemon: $ARCELLA (home $ARCELLA_HOME)"
  "$ARCELLA" &
  daemon_pid=$!
  trap 'kill -TERM $daemon_pid 2>/dev/null; wait $daemon_pid' INT TERM
  for _ in $(seq 100); do "$CLI" ping >/dev/null 2>&1 && break; sleep 0.1; done
  "$CLI" ping
fi

# `start` returns once the replicas are starting; a call needs an active one.
wait_active() {  # wait_active DEPLOYMENT: up to 10 s
  for _ in $(seq 100); do
    "$CLI" status "$1" 2>/dev/null | grep -Eq '[[:space:]]active[[:space:]]' && return 0
    sleep 0.1
  done
  "$CLI" status -v "$1"
}

cd "$BUILD/examples"
if [ ! -f http-logger.wasm ] || [ ! -f app@0.1.0.wasm ]; then
  echo "== no http-logger.wasm / app@0.1.0.wasm in $BUILD/examples (they need the npm tools)" >&2
  exit 1
fi
echo "== arcella-cli install ./http-logger.wasm"
"$CLI" install ./http-logger.wasm --force
if ! "$CLI" status http-logger@0.1.0/web >/dev/null 2>&1; then
  echo "== arcella-cli deploy -f web.deployment.toml"
  "$CLI" deploy -f web.deployment.toml
fi
echo "== arcella-cli start http-logger@0.1.0"
"$CLI" start http-logger@0.1.0
wait_active http-logger@0.1.0/web
if [ -f "$ARCELLA_HOME/http.address" ]; then
  url="http://$(cat "$ARCELLA_HOME/http.address")/http-logger/hello"
  echo "== curl $url"
  curl -sS -i "$url" || true
else
  echo "== the daemon serves no HTTP (see its log: [http] listen)" >&2
fi

# app, linked to http-logger (README, "Components"): each in its group's
# worker process (the default isolation); the link crosses from one worker
# to the other.
echo "== arcella-cli install ./app@0.1.0.wasm"
"$CLI" install ./app@0.1.0.wasm --force
echo "== arcella-cli inspect app@0.1.0 --wit"
"$CLI" inspect app@0.1.0 --wit
if ! "$CLI" status app@0.1.0/default >/dev/null 2>&1; then
  echo "== arcella-cli deploy app@0.1.0 --link logger:log/log@1.0.0=http-logger@0.1.0/web"
  "$CLI" deploy app@0.1.0 --link logger:log/log@1.0.0=http-logger@0.1.0/web
fi
echo "== arcella-cli start app@0.1.0"
"$CLI" start app@0.1.0
wait_active app@0.1.0/default
echo "== arcella-cli call app@0.1.0 example:app/greeter.greet '\"world\"'"
"$CLI" call app@0.1.0 example:app/greeter.greet '"world"'
echo "== arcella-cli call app@0.1.0 greet '\"world\"' --json"
"$CLI" call app@0.1.0 greet '"world"' --json
echo "== arcella-cli logs http-logger@0.1.0 (app's greet logged through the link)"
for _ in $(seq 50); do
  "$CLI" logs http-logger@0.1.0 2>/dev/null | grep -q 'greeting world' && break
  sleep 0.1
done
"$CLI" logs http-logger@0.1.0

echo "== arcella-cli status"
"$CLI" status

if [ -n "$daemon_pid" ]; then
  echo "== Arcella is running (pid $daemon_pid). Try: $CLI logs http-logger@0.1.0 -f"
  echo "== Ctrl-C or \`$CLI shutdown\` stops it."
  wait "$daemon_pid"
fi
