#!/usr/bin/env bash
# Starts the Arcella platform with an example deployment: installs packages,
# builds, starts the daemon (ALME at $ARCELLA_HOME/alme, default ~/.arcella),
# installs, deploys and starts examples/http-logger (the seed's manifests,
# verbatim), calls it, and shows `arcella-cli status`. The daemon then runs
# in the foreground: Ctrl-C (or `arcella-cli shutdown`) stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${ARCELLA_BUILD_DIR:-$ROOT/build}
export ARCELLA_HOME=${ARCELLA_HOME:-$HOME/.arcella}

# The npm test tools (jco, componentize-js) are for the test suite only.
ARCELLA_NPM_TOOLS=0 "$ROOT/scripts/bootstrap.sh"
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

cd "$BUILD/examples"
echo "== arcella-cli install ./http-logger.wasm"
"$CLI" install ./http-logger.wasm --force
if ! "$CLI" status http-logger@0.1.0/web >/dev/null 2>&1; then
  echo "== arcella-cli deploy -f web.deployment.toml"
  "$CLI" deploy -f web.deployment.toml
fi
echo "== arcella-cli start http-logger@0.1.0"
"$CLI" start http-logger@0.1.0
echo "== arcella-cli call http-logger@0.1.0/web log_request 200"
"$CLI" call http-logger@0.1.0/web log_request 200
echo "== arcella-cli status"
"$CLI" status

if [ -n "$daemon_pid" ]; then
  echo "== Arcella is running (pid $daemon_pid). Try: $CLI logs http-logger@0.1.0 -f"
  echo "== Ctrl-C or \`$CLI shutdown\` stops it."
  wait "$daemon_pid"
fi
