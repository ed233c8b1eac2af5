#!/usr/bin/env bash
# Control-plane benchmark (issue 6): one command, not part of the tests.
#   bench/platform/run_control.sh [--samples N] [--json FILE]
# Builds arcella, arcella-cli and control_bench into $BUILD_DIR (default
# <repo>/build; NO_BUILD=1 skips the build), starts a real daemon in a
# temporary ARCELLA_HOME whose arcella.toml lets 1,200 calls be in flight
# (alme.max_calls = 4096, alme.call_threads = 256), and runs control_bench:
#  (a) call and status p99 while a >= 0.5 MB module compiles (target 2 ms),
#  (b) ping p99 with 200 spinning guests and 1,000 calls in flight (5 ms).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
jobs="${JOBS:-2}"

if [ -z "${NO_BUILD:-}" ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  log="$build/control-bench-build.log"
  if ! cmake --build "$build" -j"$jobs" --target arcella arcella-cli control_bench >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "control bench: build failed (full log: $log)" >&2
    exit 1
  fi
fi

ARCELLA="$build/arcella"
CLI="$build/arcella-cli"
BENCH="$build/bench/platform/control_bench"
export ARCELLA_HOME="$(mktemp -d "${TMPDIR:-/tmp}/arcella-ctlbench.XXXXXX")"
work="$(mktemp -d "${TMPDIR:-/tmp}/arcella-ctlbench-work.XXXXXX")"
mkdir -m 0700 -p "$ARCELLA_HOME/config"
cat >"$ARCELLA_HOME/config/arcella.toml" <<'TOML'
[alme]
max_calls = 4096
call_threads = 256
[limits]
# 200+ replicas at the default 256 MiB cap exceed the default guest-memory
# budget (the physical RAM); the guests here touch one page each.
total_guest_memory = "512GiB"
TOML
daemon_log="$ARCELLA_HOME.daemon.log"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$ARCELLA_HOME" "$daemon_log" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$ARCELLA" >"$daemon_log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do "$CLI" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$CLI" ping >/dev/null
"$BENCH" --socket "$ARCELLA_HOME/alme" --work "$work" "$@"
echo "($(nproc) CPUs; load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
