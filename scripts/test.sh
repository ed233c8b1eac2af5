#!/usr/bin/env bash
# The whole test suite: bootstrap packages, build, run every test (unit,
# integration, the official spec testsuite on both tiers). Exits non-zero on
# any failure. Used verbatim by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${ARCELLA_BUILD_DIR:-$ROOT/build}
JOBS=${JOBS:-$(nproc)}

"$ROOT/scripts/bootstrap.sh"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$JOBS"
# Every fuzz target (clang, libFuzzer) replays its corpus: a regression check.
"$ROOT/scripts/fuzz.sh"
# Tests run with their own ARCELLA_HOME under the build tree, never ~/.arcella.
export ARCELLA_HOME="$BUILD/test-home"
mkdir -p "$ARCELLA_HOME"
cd "$BUILD"
ctest -j"$JOBS" --output-on-failure --timeout 900 "$@"
