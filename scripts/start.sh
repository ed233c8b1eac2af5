#!/usr/bin/env bash
# Starts Arcella with an example workload: bootstraps packages, builds, then
# runs the example module from examples/ with `arcella run` (the daemon and
# its deployments come with the platform issue).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${ARCELLA_BUILD_DIR:-$ROOT/build}

"$ROOT/scripts/bootstrap.sh"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target arcella examples
echo "== arcella run examples/hello (AOT tier, WASI, fuel-limited) =="
mkdir -p "$BUILD/example-data"
echo "hello from the host" > "$BUILD/example-data/greeting.txt"
"$BUILD/arcella" run --fuel 100000000 --dir "$BUILD/example-data::/data" \
  --env GREETING=Arcella "$BUILD/examples/hello.wasm" world
