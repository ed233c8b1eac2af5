#!/usr/bin/env bash
# Lint the project's own C/C++ (docs/TESTING.md "Lint"):
#   scripts/lint.sh [--build DIR]   check: clang-format (.clang-format) over
#                                   src/ tests/ bench/ fuzz/ examples/, and
#                                   clang-tidy (.clang-tidy) over src/; exits
#                                   non-zero on any finding.
#   scripts/lint.sh --fix           rewrite those files with clang-format.
# Guest programs (tests/fixtures/, bench/workloads/) are wasm inputs kept in
# their own compact style and are not linted. clang-tidy needs the
# compile_commands.json of a configured build (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build
FIX=0
while [ $# -gt 0 ]; do
  case $1 in
    --fix) FIX=1 ;;
    --build) BUILD=$2; shift ;;
    *) echo "usage: scripts/lint.sh [--fix] [--build DIR]" >&2; exit 2 ;;
  esac
  shift
done
JOBS=${JOBS:-$(nproc)}
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-14}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy-14}

list() {  # list PATTERN...: tracked files (or, outside git, found files)
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -- "$@"
  else
    local p; for p in "$@"; do find . -path "./$p" -type f | sed 's|^\./||'; done
  fi
}
mapfile -t FORMAT_FILES < <(list 'src/*' 'tests/*' 'bench/*' 'fuzz/*' 'examples/*' |
  grep -E '\.(c|cc|h)$' | grep -vE '^(tests/fixtures|bench/workloads)/' | sort -u)

if [ $FIX = 1 ]; then
  printf '%s\n' "${FORMAT_FILES[@]}" | xargs -P "$JOBS" -n 16 "$CLANG_FORMAT" -i
  echo "lint --fix: formatted ${#FORMAT_FILES[@]} files"
  exit 0
fi

fail=0
t=$SECONDS
if ! printf '%s\n' "${FORMAT_FILES[@]}" |
    xargs -P "$JOBS" -n 16 "$CLANG_FORMAT" --dry-run --Werror 2>/tmp/lint-format.$$; then
  grep -E '^[^ ]+:[0-9]+:[0-9]+: error' /tmp/lint-format.$$ | cut -d: -f1 | sort | uniq -c |
    sed 's/^/  not formatted: /' | head -50
  echo "clang-format: files differ from .clang-format; run scripts/lint.sh --fix"
  fail=1
fi
rm -f /tmp/lint-format.$$
echo "lint: clang-format over ${#FORMAT_FILES[@]} files: $((SECONDS - t)) s"

t=$SECONDS
if [ ! -f "$BUILD/compile_commands.json" ]; then
  echo "lint: $BUILD/compile_commands.json missing (configure the build first)"; exit 1
fi
mapfile -t TIDY_FILES < <(list 'src/*' | grep -E '\.(c|cc)$' | sort -u)
if ! printf '%s\n' "${TIDY_FILES[@]}" |
    xargs -P "$JOBS" -n 4 "$CLANG_TIDY" -p "$BUILD" --quiet 2>/dev/null >/tmp/lint-tidy.$$; then
  grep -E 'warning:|error:' -A3 /tmp/lint-tidy.$$ | head -200
  echo "clang-tidy: findings above (.clang-tidy); fix them or NOLINT(check) with a reason"
  fail=1
fi
rm -f /tmp/lint-tidy.$$
echo "lint: clang-tidy over ${#TIDY_FILES[@]} files: $((SECONDS - t)) s"
exit $fail
