#!/usr/bin/env bash
# Installs every Debian 12 package Arcella needs to build, test and run, then
# the npm test tools pinned by tools/npm/package-lock.json (jco,
# componentize-js, preview2-shim) into tools/npm/node_modules with `npm ci`.
# Idempotent: installs only what is missing; the npm tools are reinstalled
# only when the lockfile changed (a stamp holds its hash). Packages need root
# (run as root or through sudo); the npm tools are installed as the owner of
# the checkout, never as root unless root owns it. ARCELLA_NPM_TOOLS=0 skips
# the npm tools (the component tests that need them then fail, see
# docs/TESTING.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

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
  # the canonical ABI oracle test runs the spec's definitions.py
  python3
  # guest fixtures: clang for wasm32-wasi, lld, wasi-libc, builtins
  clang lld wasi-libc libclang-rt-14-dev-wasm32
  # fuzzing (libFuzzer runtime) and differential testing (wasm-opt -ttf)
  libclang-rt-14-dev binaryen
  # lint (scripts/lint.sh)
  clang-format-14 clang-tidy-14
  # benchmark workloads
  duktape-dev nodejs
  # scripts/start.sh sends the example an HTTP request
  curl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# nodejs and npm may already come from elsewhere (node 20 with its npm on the
# build machines, from NodeSource): not asked of apt when the command exists.
for cmd in node npm; do
  pkg=$cmd; [ "$cmd" = node ] && pkg=nodejs
  if command -v "$cmd" >/dev/null 2>&1; then
    filtered=(); for p in "${missing[@]}"; do [ "$p" = "$pkg" ] || filtered+=("$p"); done
    missing=("${filtered[@]}")
  elif ! printf '%s\n' "${missing[@]}" | grep -qx "$pkg"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "bootstrap: packages done"
fi

# ---- npm test tools (tools/npm): `npm ci` from the committed lockfile.
npm_tools() {
  local dir=$ROOT/tools/npm
  local stamp=$dir/node_modules/.arcella-lock-sha256
  local want
  want=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
    [ -x "$dir/node_modules/.bin/jco" ]; then
    echo "bootstrap: npm test tools up to date (tools/npm/node_modules)"
    return 0
  fi
  # As the owner of the checkout: `sudo scripts/bootstrap.sh` must not leave a
  # root-owned node_modules (or run package scripts as root) in a user's clone.
  local owner home run=()
  owner=$(stat -c %U "$dir")
  if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then
    home=$(getent passwd "$owner" | cut -d: -f6)
    run=(runuser -u "$owner" -- env HOME="$home")
  fi
  echo "bootstrap: npm ci in tools/npm (as ${owner}; lockfile ${want:0:12})"
  rm -f "$stamp"
  (cd "$dir" && "${run[@]}" npm ci --no-audit --no-fund --loglevel=error)
  "${run[@]}" sh -c 'printf "%s\n" "$1" >"$2"' sh "$want" "$stamp"
  echo "bootstrap: npm test tools installed: $("$dir/node_modules/.bin/jco" --version 2>/dev/null | head -1)"
}
if [ "${ARCELLA_NPM_TOOLS:-1}" = 0 ]; then
  echo "bootstrap: ARCELLA_NPM_TOOLS=0: npm test tools not installed"
else
  npm_tools
fi
echo "bootstrap: done"
