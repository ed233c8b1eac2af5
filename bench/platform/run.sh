#!/usr/bin/env bash
# Platform benchmark: one command, not part of the tests.
#   bench/platform/run.sh [--requests N] [--clients C] [--replicas R] [--rounds K] [--json FILE]
# Builds arcella, arcella-cli, alme_bench and the examples into $BUILD_DIR
# (default <repo>/build; NO_BUILD=1 skips the build), starts a real daemon
# in a temporary ARCELLA_HOME, installs and deploys the core-module
# http-logger (tests/fixtures/core/http-logger, a small reactor) with
# arcella-cli, runs alme_bench (ALME round trips, scale 1 -> 1000 -> 1,
# start/stop 0 -> 1000 -> 0, status with 1000 replicas, calls, daemon RSS)
# and stops the daemon. See bench/README.md, section "Platform".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
jobs="${JOBS:-2}"

if [ -n "${NO_BUILD:-}" ]; then
  echo "NO_BUILD is set: using the binaries already in $build" >&2
else
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  echo "building arcella, arcella-cli, alme_bench and the examples in $build ..." >&2
  log="$build/platform-bench-build.log"
  if ! cmake --build "$build" -j"$jobs" --target arcella arcella-cli alme_bench examples \
      >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "platform bench: build failed (full log: $log)" >&2
    exit 1
  fi
fi

ARCELLA="$build/arcella"
CLI="$build/arcella-cli"
BENCH="$build/bench/platform/alme_bench"
export ARCELLA_HOME="$(mktemp -d "${TMPDIR:-/tmp}/arcella-bench.XXXXXX")"
daemon_log="$ARCELLA_HOME.daemon.log"
daemon_pid=""
cleanup() {
  local rc=$?
  if [ "$rc" != 0 ] && [ -f "$daemon_log" ]; then
    echo "platform bench failed; the daemon's last log lines:" >&2
    tail -15 "$daemon_log" >&2
  fi
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    "$CLI" shutdown >/dev/null 2>&1 || kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$daemon_pid" 2>/dev/null; then
      echo "platform bench: the daemon did not stop within 10 s; killing it" >&2
      kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$ARCELLA_HOME" "$daemon_log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1000 replicas of http-logger at the default 256 MiB cap are 250 GiB of guest
# memory as the platform budget counts it (limits.total_guest_memory, default
# the physical RAM): raise the budget for the bench, as an operator would.
mkdir -m 700 -p "$ARCELLA_HOME/config"
printf '[limits]\ntotal_guest_memory = "512GiB"\n' >"$ARCELLA_HOME/config/arcella.toml"

# The daemon logs to stderr; keep that out of the table.
"$ARCELLA" >"$daemon_log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do "$CLI" ping >/dev/null 2>&1 && break; sleep 0.1; done
if ! "$CLI" ping >/dev/null 2>&1; then
  echo "platform bench: the daemon did not answer ping within 10 s" >&2
  exit 1
fi

cd "$build/fixtures/http-logger-core"
echo "daemon pid $daemon_pid, home $ARCELLA_HOME; installing and deploying http-logger ..." >&2
"$CLI" --quiet install ./http-logger.wasm >/dev/null
"$CLI" deploy -f web.deployment.toml >/dev/null

echo "measuring (about a minute) ..." >&2
t0=$SECONDS
"$BENCH" --socket "$ARCELLA_HOME/alme" --pid "$daemon_pid" \
  --target http-logger@0.1.0/web "$@"
echo "(alme_bench took $((SECONDS - t0)) s; $(nproc) CPUs," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//');" \
  "load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
