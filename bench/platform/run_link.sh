#!/usr/bin/env bash
# Link benchmark (issue 10): one command, not part of the tests.
#   bench/platform/run_link.sh [--quick]
# Builds the component fixtures, arcella-worker and link_bench into
# $BUILD_DIR (default <repo>/build; NO_BUILD=1 skips the build) and runs it:
# a call through a link vs the same call made directly, with importer and
# provider in the daemon, in one worker, in two workers, and across the
# daemon/worker boundary each way (~25 s; --quick ~4 s).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
if [ -z "${NO_BUILD:-}" ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  log="$build/link-bench-build.log"
  if ! cmake --build "$build" -j"${JOBS:-2}" --target link_bench >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "link bench: build failed (full log: $log)" >&2
    exit 1
  fi
fi
"$build/bench/platform/link_bench" "$@"
