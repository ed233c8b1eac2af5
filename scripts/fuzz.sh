#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (fuzz/, a build tree of its own) and
# either replays every corpus once (default: a regression check, seconds) or
# fuzzes each target for N seconds (`scripts/fuzz.sh 60`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${ARCELLA_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
SECONDS_EACH=${1:-0}
TARGETS=(loader_fuzz:loader alme_frame_fuzz:alme manifest_fuzz:manifest module_meta_fuzz:module_meta
  wave_parse_fuzz:wave_parse canonical_abi_fuzz:canonical_abi component_decode_fuzz:component_decode
  component_script_fuzz:component_script wit_print_fuzz:wit_print
  val_msgpack_fuzz:val_msgpack worker_frame_fuzz:worker_frame http_request_fuzz:http_request)

# -Werror is enforced by the GCC builds (scripts/test.sh); clang's warning set
# differs, so this build only warns.
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DARCELLA_FUZZ=ON -DARCELLA_TESTS=OFF \
  -DARCELLA_BENCH=OFF -DARCELLA_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
names=(); for t in "${TARGETS[@]}"; do names+=("${t%%:*}"); done
cmake --build "$BUILD" -j"$(nproc)" --target "${names[@]}"

fail=0
for t in "${TARGETS[@]}"; do
  name=${t%%:*}; corpus=$ROOT/fuzz/corpus/${t##*:}
  if [ "$SECONDS_EACH" -gt 0 ]; then
    work=$(mktemp -d)
    "$BUILD/fuzz/$name" -max_total_time="$SECONDS_EACH" "$work" "$corpus" || fail=1
    rm -rf "$work"
  else
    n=$(ls "$corpus" | wc -l)
    if "$BUILD/fuzz/$name" -runs=0 "$corpus" >/tmp/$name.replay.log 2>&1; then
      echo "fuzz replay: $name: $n corpus inputs OK"
    else
      echo "fuzz replay: $name FAILED"; tail -30 /tmp/$name.replay.log; fail=1
    fi
  fi
done
exit $fail
