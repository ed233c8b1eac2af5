#!/usr/bin/env bash
# Arcella benchmark suite: one command, not part of the tests.
#   bench/run.sh [--quick] [--reps N] [--json FILE]
# Builds what it needs into $BUILD_DIR (default: <repo>/build), then runs
# bench/run.py, which prints the tables. See bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
build="${BUILD_DIR:-$repo/build}"
jobs="${JOBS:-2}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
echo "building arcella, instantiate_bench and the workloads in $build ..." >&2
log="$build/bench-build.log"
if ! cmake --build "$build" -j"$jobs" --target arcella instantiate_bench bench_workloads >"$log" 2>&1; then
  tail -40 "$log" >&2
  echo "bench: build failed (full log: $log)" >&2
  exit 1
fi
exec python3 "$here/run.py" --build-dir "$build" "$@"
