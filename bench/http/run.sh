#!/usr/bin/env bash
# HTTP ingress benchmark: the daemon's HTTP requests/s and latency against the
# reference, `jco serve` (node), on the same component. One command, not part
# of the tests:
#   bench/http/run.sh
#   DURATION=5 WARMUP=1 CONNECTIONS="1 8" BUILD_DIR=/path/to/build bench/http/run.sh
# Uses an existing build (it builds nothing of the project; it says what is
# missing): $BUILD_DIR/{arcella,arcella-cli,arcella-worker} and
# $BUILD_DIR/examples/http-logger.wasm with its manifest, plus node and the npm
# tools (jco). Compiles the load generator bench/http/load.cc with g++ into
# $BUILD_DIR/bench/http/load, starts a daemon in a temporary ARCELLA_HOME with
# the ingress on a free port, installs http-logger and measures, each with 1
# and 8 keep-alive connections (WARMUP s, then DURATION s):
#   worker, 1 replica       deploy http-logger@0.1.0 --group web (isolation worker)
#   worker, 2 replicas      scale it to 2
#   daemon (isolation main) a deployment in group core, isolation "main",
#                           route /main (the web group stopped)
#   jco serve               node tools/npm/run-tool.mjs jco serve on the same file
# and prints a table with `x jco` = Arcella rps / jco rps at the same
# connection count. See bench/README.md, section "HTTP ingress".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
DURATION="${DURATION:-5}"
WARMUP="${WARMUP:-1}"
CONNECTIONS="${CONNECTIONS:-1 8}"

ARCELLA="$build/arcella"
CLI="$build/arcella-cli"
EXAMPLES="$build/examples"
JCO_JS="$repo/tools/npm/node_modules/@bytecodealliance/jco/dist/jco.js"

missing=()
for f in "$ARCELLA" "$CLI" "$build/arcella-worker" "$EXAMPLES/http-logger.wasm" \
         "$EXAMPLES/http-logger.component.toml"; do
  [ -e "$f" ] || missing+=("$f")
done
for tool in node g++ ss curl setsid; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("the command $tool")
done
[ -f "$JCO_JS" ] || missing+=("$JCO_JS (the npm tools: scripts/bootstrap.sh)")
if [ "${#missing[@]}" != 0 ]; then
  echo "http bench: missing:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  echo "(build them with: cmake --build $build --target arcella arcella-cli arcella-worker examples)" >&2
  exit 1
fi

LOAD="$build/bench/http/load"
mkdir -p "$build/bench/http"
if [ ! -x "$LOAD" ] || [ "$here/load.cc" -nt "$LOAD" ]; then
  echo "compiling $LOAD ..." >&2
  g++ -O2 -std=c++20 -pthread -o "$LOAD" "$here/load.cc"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/arcella-http-bench.XXXXXX")"
export ARCELLA_HOME="$work/home"
daemon_log="$work/daemon.log"
jco_log="$work/jco.log"
daemon_pid=""
jco_pid=""
jco_port=""

# Every process listening on TCP port $1 (jco serve's child node survives its
# parent, so it is found by its socket).
listeners() {
  ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true
}

stop_jco() {
  if [ -n "$jco_pid" ]; then
    kill -TERM -- "-$jco_pid" 2>/dev/null || kill -TERM "$jco_pid" 2>/dev/null || true
    wait "$jco_pid" 2>/dev/null || true
    jco_pid=""
  fi
  if [ -n "$jco_port" ]; then
    local pids
    for _ in $(seq 50); do
      pids="$(listeners "$jco_port")"
      [ -z "$pids" ] && break
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
      sleep 0.1
    done
    pids="$(listeners "$jco_port")"
    if [ -n "$pids" ]; then
      echo "http bench: killing what still listens on $jco_port: $pids" >&2
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
    fi
    jco_port=""
  fi
}

stop_daemon() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$daemon_pid" 2>/dev/null; then
      echo "http bench: the daemon did not stop within 10 s of SIGTERM; killing it" >&2
      kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
    wait "$daemon_pid" 2>/dev/null || true
  fi
  daemon_pid=""
}

cleanup() {
  local rc=$?
  set +e  # stop everything, whatever fails on the way
  if [ "$rc" != 0 ]; then
    if [ -s "$daemon_log" ]; then
      echo "http bench failed; the daemon's last log lines:" >&2
      tail -15 "$daemon_log" >&2
    fi
    if [ -s "$jco_log" ]; then
      echo "jco serve's last log lines:" >&2
      tail -15 "$jco_log" >&2
    fi
  fi
  stop_jco
  stop_daemon
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "http bench: $*" >&2; exit 1; }

# wait_http PORT PATH SECONDS: until a GET answers 200.
wait_http() {
  local deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null)" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}

# wait_ready DEPLOYMENT N: until status shows N/N replicas ready (10 s).
wait_ready() {
  for _ in $(seq 100); do
    "$CLI" status "$1" 2>/dev/null | grep -Eq "[[:space:]]$2/$2[[:space:]]" && return 0
    sleep 0.1
  done
  "$CLI" status -v "$1" >&2 || true
  die "$1 did not get $2 ready replicas within 10 s"
}

# CPU time (user + system, clock ticks) of the server's processes: the daemon
# and its worker processes, or every process of jco serve's process group.
server_pids() {
  if [ -n "$jco_pid" ]; then pgrep -g "$jco_pid" || true
  else echo "$daemon_pid"; pgrep -P "$daemon_pid" || true; fi
}
cpu_ticks() {
  local total=0 pid t
  for pid in $(server_pids); do
    t="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')" || t=0
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
TICK="$(getconf CLK_TCK)"

declare -A RESULT  # "row|connections" -> load's JSON line
declare -A CPU     # "row|connections" -> server CPU us per request
ROWS=()
field() { grep -o "\"$2\":[^,}]*" <<<"$1" | head -1 | cut -d: -f2- | tr -d '"'; }
first_error() { sed -n 's/.*"first_error":"\(.*\)"}$/\1/p' <<<"$1"; }

# measure ROW PORT PATH: one load run per connection count.
measure() {
  local row="$1" port="$2" path="$3" c json t0 t1 n
  ROWS+=("$row")
  for c in $CONNECTIONS; do
    echo "  $row, $c connection(s): GET $path ..." >&2
    # CPU over the whole run, warm-up included, per 200 answered in it.
    t0="$(cpu_ticks)"
    json="$("$LOAD" --port "$port" --path "$path" --connections "$c" \
            --duration "$DURATION" --warmup "$WARMUP")"
    t1="$(cpu_ticks)"
    echo "    $json" >&2
    RESULT["$row|$c"]="$json"
    n="$(field "$json" requests_with_warmup)"
    CPU["$row|$c"]="$(awk -v t=$((t1 - t0)) -v hz="$TICK" -v n="$n" \
                      'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "-" }')"
  done
}

echo "# HTTP ingress vs jco serve  $(date '+%Y-%m-%d %H:%M:%S')  $(nproc) CPUs" \
     "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))" \
     " load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# node $(node --version), jco $(node -p "require('$repo/tools/npm/node_modules/@bytecodealliance/jco/package.json').version")," \
     "http-logger.wasm $(stat -c %s "$EXAMPLES/http-logger.wasm") bytes; ${WARMUP} s warm-up + ${DURATION} s per run"

# ---------------------------------------------------------------- the daemon
mkdir -m 700 "$ARCELLA_HOME" "$ARCELLA_HOME/config"
printf '[http]\nlisten = "127.0.0.1:0"\n' >"$ARCELLA_HOME/config/arcella.toml"
"$ARCELLA" >"$daemon_log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do
  "$CLI" ping >/dev/null 2>&1 && [ -s "$ARCELLA_HOME/http.address" ] && break
  sleep 0.1
done
"$CLI" ping >/dev/null 2>&1 || die "the daemon did not answer ping within 10 s"
[ -s "$ARCELLA_HOME/http.address" ] || die "no $ARCELLA_HOME/http.address: the ingress is not listening"
address="$(cat "$ARCELLA_HOME/http.address")"
port="${address##*:}"
echo "daemon pid $daemon_pid, home $ARCELLA_HOME, HTTP on $address" >&2

cd "$EXAMPLES"
"$CLI" --quiet install ./http-logger.wasm >/dev/null
"$CLI" --quiet deploy http-logger@0.1.0 --group web >/dev/null
"$CLI" --quiet start http-logger@0.1.0 --group web >/dev/null
wait_ready http-logger@0.1.0/web 1
wait_http "$port" /http-logger/x 30 || die "GET /http-logger/x did not answer 200"
measure "worker, 1 replica" "$port" /http-logger/x

"$CLI" --quiet scale http-logger@0.1.0 --group web --replicas 2 >/dev/null
wait_ready http-logger@0.1.0/web 2
wait_http "$port" /http-logger/x 30 || die "GET /http-logger/x did not answer 200 with 2 replicas"
measure "worker, 2 replicas" "$port" /http-logger/x

"$CLI" --quiet stop http-logger@0.1.0 --group web >/dev/null
cat >"$work/main.deployment.toml" <<'EOF'
[deployment]
module_id = "http-logger@0.1.0"
group = "core"
replicas = 1

[deployment.overrides]
isolation = "main"

[deployment.overrides.http]
route = "/main"
EOF
"$CLI" --quiet deploy -f "$work/main.deployment.toml" >/dev/null
"$CLI" --quiet start http-logger@0.1.0 --group core >/dev/null
wait_ready http-logger@0.1.0/core 1
wait_http "$port" /main/x 30 || die "GET /main/x did not answer 200"
measure "daemon (isolation main)" "$port" /main/x
stop_daemon

# ----------------------------------------------------------------- jco serve
for _ in $(seq 100); do
  p=$((20000 + RANDOM % 40000))
  if [ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ]; then jco_port=$p; break; fi
done
[ -n "$jco_port" ] || die "no free port found for jco serve"
echo "starting jco serve on 127.0.0.1:$jco_port (it transpiles the component first) ..." >&2
# Its own process group, so that stop_jco reaches the node child it spawns;
# --jco-dir keeps the transpiled code in $work (jco removes its own temporary
# directory only when it exits by itself).
(cd "$repo/tools/npm" && exec setsid node run-tool.mjs jco serve "$EXAMPLES/http-logger.wasm" \
   --port "$jco_port" --host 127.0.0.1 --jco-dir "$work/jco") >"$jco_log" 2>&1 &
jco_pid=$!
wait_http "$jco_port" /x 180 || die "jco serve did not answer 200 on /x within 180 s"
measure "jco serve" "$jco_port" /x
stop_jco

# --------------------------------------------------------------------- table
printf '\n%-24s %5s %10s %9s %9s %7s %12s\n' row conns rps "p50 us" "p99 us" "x jco" "cpu us/req"
printf '%s\n' "-------------------------------------------------------------------------------"
problems=()
notes=()
for row in "${ROWS[@]}"; do
  for c in $CONNECTIONS; do
    j="${RESULT[$row|$c]}"
    rps="$(field "$j" rps)"
    jco_rps="$(field "${RESULT[jco serve|$c]}" rps)"
    ratio="$(awk -v a="$rps" -v b="$jco_rps" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
    printf '%-24s %5s %10.0f %9s %9s %7s %12s\n' "$row" "$c" "$rps" "$(field "$j" p50_us)" \
      "$(field "$j" p99_us)" "$ratio" "${CPU[$row|$c]}"
    errors="$(field "$j" errors)"
    requests="$(field "$j" requests)"
    reconnects="$(field "$j" reconnects)"
    if [ "$errors" != 0 ] || [ "$requests" = 0 ]; then
      problems+=("$row, $c connection(s): $requests 200s, $errors errors (first: $(first_error "$j"))")
    fi
    if [ "$reconnects" != 0 ]; then
      notes+=("$row, $c connection(s): the server closed a connection $reconnects times (the request was sent again)")
    fi
  done
done
echo
if [ "${#problems[@]}" = 0 ]; then
  echo "every row served only 200s (errors = 0)"
else
  echo "NOT every row served only 200s:"
  printf '  %s\n' "${problems[@]}"
fi
echo "cpu us/req: user + system CPU of the server's processes (the daemon and its workers;"
echo "jco serve's node processes) per request answered, warm-up included"
[ "${#notes[@]}" = 0 ] || printf '%s\n' "${notes[@]}"
echo "(load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
[ "${#problems[@]}" = 0 ]
