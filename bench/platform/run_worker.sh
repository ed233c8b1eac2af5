#!/usr/bin/env bash
# Worker-boundary benchmark (issue 9): one command, not part of the tests.
#   bench/platform/run_worker.sh [--quick] [--json FILE]
# Builds arcella-worker, the fixtures and worker_bench into $BUILD_DIR
# (default <repo>/build; NO_BUILD=1 skips the build) and runs worker_bench:
# in-daemon (InProcessHost) vs worker (WorkerHost) call round trip, calls/s,
# kill -9 recovery, RSS per idle replica and scale 0 -> 1,000.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
jobs="${JOBS:-2}"

if [ -z "${NO_BUILD:-}" ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  log="$build/worker-bench-build.log"
  if ! cmake --build "$build" -j"$jobs" --target worker_bench >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "worker bench: build failed (full log: $log)" >&2
    exit 1
  fi
fi

"$build/bench/platform/worker_bench" "$@"
echo "($(nproc) CPUs; load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
