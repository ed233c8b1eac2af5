#!/usr/bin/env bash
# Installs every Debian 12 package Arcella needs to build, test and run.
# Idempotent: installs only what is missing. Run as root (or with sudo).
set -euo pipefail

PACKAGES=(
  # build (ccache: the compiler launcher when present, see CMakeLists.txt)
  build-essential cmake pkg-config git ccache
  # engine
  wabt libssl-dev
  # platform libraries
  libboost-dev libmsgpack-cxx-dev libspdlog-dev libfmt-dev libcli11-dev
  libtomlplusplus-dev libsqlite3-dev libseccomp-dev nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # guest fixtures: clang for wasm32-wasi, lld, wasi-libc, builtins
  clang lld wasi-libc libclang-rt-14-dev-wasm32
  # fuzzing (libFuzzer runtime) and differential testing (wasm-opt -ttf)
  libclang-rt-14-dev binaryen
  # lint (scripts/lint.sh)
  clang-format-14 clang-tidy-14
  # benchmark workloads
  duktape-dev nodejs
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# nodejs may already come from elsewhere (node 20 on the build machines): skip if `node` exists.
if command -v node >/dev/null 2>&1; then
  filtered=(); for p in "${missing[@]}"; do [ "$p" = nodejs ] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
[ ${#missing[@]} -eq 0 ] || $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
