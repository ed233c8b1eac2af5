#!/usr/bin/env bash
# bench/large: real 1-30 MB WASI programs (yosys, nextpnr-ice40, CRuby, sqlite3's
# shell) on arcella and on node, side by side. Not part of the tests.
#   bench/large/run.sh [--only nextpnr,sqlite,ruby,yosys] [--arcella PATH] [--warm-only | --first-run-only]
#                      [--reps N] [--budget-scale X] [--cache DIR] [--json FILE]
# Without --arcella it builds the `arcella` target into $BUILD_DIR (default
# <repo>/build). Downloads (npm pack, pinned by version and sha512) and every
# cache folder live under --cache (default $BUILD_DIR/bench-large). See bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$(dirname "$here")")"
build="${BUILD_DIR:-$repo/build}"
args=("$@")
have_arcella=0
for a in "$@"; do
  case "$a" in --arcella|--arcella=*) have_arcella=1 ;; -h|--help) exec python3 "$here/large.py" --help ;; esac
done
for tool in node npm clang wasm2wat wat2wasm /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/large: '$tool' is missing (Debian: apt-get install nodejs npm clang wabt time)" >&2; exit 1; }
done
if [ "$have_arcella" = 0 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  echo "bench/large: building arcella in $build ..." >&2
  log="$build/bench-large-build.log"
  if ! cmake --build "$build" -j"${JOBS:-2}" --target arcella >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "bench/large: build failed (full log: $log)" >&2
    exit 1
  fi
  args=(--arcella "$build/arcella" --cache "$build/bench-large" "${args[@]}")
fi
exec python3 "$here/large.py" "${args[@]}"
