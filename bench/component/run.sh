#!/usr/bin/env bash
# Component benchmark: one command, not part of the tests.
#   bench/component/run.sh [--quick] [--reps N] [--json FILE]
# Builds arcella, component_bench and the component fixtures into $BUILD_DIR
# (default <repo>/build; NO_BUILD=1 skips the build), then runs run.py, which
# prints the tables. Needs node and the npm test tools (tools/npm, installed
# by scripts/bootstrap.sh). See bench/README.md, section "Components".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
jobs="${JOBS:-2}"
if [ -z "${NO_BUILD:-}" ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  echo "building arcella, component_bench and the component fixtures in $build ..." >&2
  log="$build/component-bench-build.log"
  if ! cmake --build "$build" -j"$jobs" --target arcella component_bench component_fixtures \
      >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "component bench: build failed (full log: $log)" >&2
    exit 1
  fi
fi
exec python3 "$here/run.py" --build-dir "$build" "$@"
