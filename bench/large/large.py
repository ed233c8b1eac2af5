#!/usr/bin/env python3
"""bench/large: real 1-30 MB WASI programs, arcella side by side with node.

Fetches pinned npm packages (exact version + sha512 integrity), prepares the
programs, then for each: a cold compile (fresh cache folder), warm starts, and
a workload on arcella (warm AOT cache) and on node's node:wasi, with outputs
compared byte for byte. See bench/README.md ("large") for what each column is.
Not a test: nothing here is run by ctest.
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# ---------------------------------------------------------------- packages --

# Exact versions and the registry's sha512 integrity (`npm view PKG@VER dist.integrity`).
PACKAGES = {
    "yosys": ("@yowasp/yosys", "0.55.944",
              "sha512-O9yjd529cPb8R+FO7gpQRw658yGjApBN9JiqMg21+5tONXrGhF9EygKF/vDXrHvoYerYU7QqxIK05tQDhPYgPQ=="),
    "nextpnr": ("@yowasp/nextpnr-ice40", "0.8.621",
                "sha512-DRk3t8z9fbNJVqbfEpjOpnSNEufcGVgRiCmM5Ta2zLWlMI6mNwk2vwGyjEpoGhH5lRSaImcRL1s6ykdWGzDbhg=="),
    "ruby": ("@ruby/3.4-wasm-wasi", "2.10.1",
             "sha512-qrzIJ/7TGSpsZpFyLJb9OXO6TYAq18XoLd11We17Sr78hWpb5IGGFgMQ9A2Y8Ww5n0k8uKA/I8/P8MJdzlJX0Q=="),
    # node-sqlite3 ships SQLite's own autoconf tarball (amalgamation + shell.c) in deps/.
    "sqlite-src": ("sqlite3", "5.1.7",
                   "sha512-GGIyOiFaG+TUra3JIfkI/zGP8yZYLPQ0pl1bH+ODjiX57sPhrLU5sQJn1y9bDKZUFYkX1crlrPfSYt0BKKdkog=="),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def fetch(cache, key):
    """npm pack + verify + unpack; returns the unpacked package/ folder."""
    name, version, integrity = PACKAGES[key]
    algo, _, want = integrity.partition("-")
    safe = name.replace("@", "").replace("/", "-") + "-" + version
    dest = os.path.join(cache, "pkgs", safe)
    done = os.path.join(dest, ".verified")
    if os.path.exists(done):
        return os.path.join(dest, "package")
    tgz_dir = os.path.join(cache, "tgz")
    os.makedirs(tgz_dir, exist_ok=True)
    tgz = os.path.join(tgz_dir, name.replace("@", "").replace("/", "-") + "-" + version + ".tgz")
    if not os.path.exists(tgz):
        log(f"fetch: npm pack {name}@{version}")
        r = subprocess.run(["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", tgz_dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"npm pack {name}@{version} failed:\n{r.stderr[-2000:]}")
        out = json.loads(r.stdout)[0]
        got = os.path.join(tgz_dir, out["filename"])
        if got != tgz:
            os.replace(got, tgz)
    h = hashlib.new(algo)
    with open(tgz, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if base64.b64encode(h.digest()).decode() != want:
        os.unlink(tgz)
        raise BenchError(f"{name}@{version}: {algo} of the tarball does not match the pinned integrity "
                         f"{integrity} (file removed; run again to refetch)")
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    with tarfile.open(tgz) as t:
        t.extractall(dest, filter="data")
    open(done, "w").close()
    return os.path.join(dest, "package")


# ------------------------------------------------------------- measurement --

def read_status(pid):
    """(name, VmHWM KiB) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            name, hwm = "", 0
            for line in f:
                if line.startswith("Name:"):
                    name = line.split()[1]
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
            return name, hwm
    except (OSError, ValueError, IndexError):
        return None


def descendants(root):
    """Pids of every live descendant of root (one pass over /proc)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def measure(cmd, *, env=None, cwd=None, stdin_path=None, timeout=600.0, watch_children=False,
            out_path, err_path):
    """Runs cmd; returns wall, cpu (user+sys incl. reaped children), peak RSS
    (rusage: the largest of the process and its children), the process's own
    peak (VmHWM, polled), the largest descendant's peak (polled), rc, timeout."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=stdin, stdout=out, stderr=err,
                             start_new_session=True)
    if stdin_path:
        stdin.close()
    self_hwm, child_hwm, child_name, seen = 0, 0, "", set()
    timed_out = False
    interval = 0.05
    next_poll = 0.0
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        now = time.monotonic()
        if now >= next_poll:
            st = read_status(p.pid)
            if st:
                self_hwm = max(self_hwm, st[1])
            if watch_children:
                for c in descendants(p.pid):
                    seen.add(c)
                    cs = read_status(c)
                    # A child forked by arcella reports arcella's peak until it
                    # execs the compiler (VmHWM restarts at exec): skip those.
                    if cs and cs[0] != "arcella" and cs[1] > child_hwm:
                        child_hwm, child_name = cs[1], cs[0]
            next_poll = now + (0.2 if watch_children else interval)
        if not timed_out and now - t0 > timeout:
            timed_out = True
            log(f"  timeout after {timeout:.0f}s: stopping pid {p.pid}")
            os.kill(p.pid, signal.SIGTERM)
            kill_at = now + 10
        if timed_out and now > kill_at:
            for c in [p.pid] + list(seen):
                try:
                    os.kill(c, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            kill_at = now + 10
        time.sleep(0.01)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "maxrss_kb": ru.ru_maxrss,
        "self_hwm_kb": self_hwm,
        "child_hwm_kb": child_hwm,
        "child_name": child_name,
        "rc": p.returncode,
        "timed_out": timed_out,
    }


def code_size(path):
    """Bytes of the code section (id 10) of a wasm binary."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\0asm":
        raise BenchError(f"{path}: not a wasm binary")
    pos = 8

    def leb():
        nonlocal pos
        result = shift = 0
        while True:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result

    while pos < len(data):
        sid = data[pos]
        pos += 1
        size = leb()
        if sid == 10:
            return size
        pos += size
    return 0


# ---------------------------------------------------------------- programs --

COUNTER_V = """\
module counter(input clk, output [3:0] led);
  reg [23:0] n = 0;
  always @(posedge clk) n <= n + 1;
  assign led = n[23:20];
endmodule
"""

SQLITE_SQL = """\
PRAGMA temp_store = MEMORY;
CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, c TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<300000)
INSERT INTO t SELECT i, (i*7919)%100003, printf('row-%08d', (i*104729)%1000003) FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(b), min(c), max(c) FROM t;
SELECT b%10, count(*), sum(a) FROM t GROUP BY b%10 ORDER BY 1;
SELECT count(*) FROM t x JOIN t y ON x.b = y.a WHERE x.a < 100000;
SELECT group_concat(c, ',') FROM (SELECT c FROM t ORDER BY c DESC LIMIT 5);
"""

RUBY_HELLO = 'puts "Hello, world from Ruby #{RUBY_VERSION}"\n'

RUBY_WORK = """\
def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)
h = {}
200_000.times { |i| h["k#{i % 5000}"] = (h["k#{i % 5000}"] || 0) + i }
words = (1..50_000).map { |i| (i * 7919 % 100_003).to_s(36) }.sort
puts fib(25), h.size, h.values.sum, words.first(3).join(","), words.last
"""


def node_yosys_json(cache, node):
    """counter.json for nextpnr: the counter synthesised by yosys under node."""
    prep = os.path.join(cache, "prep", "counter")
    out = os.path.join(prep, "counter.json")
    if os.path.exists(out):
        return out
    y = prepare_yosys(cache, node)
    os.makedirs(os.path.join(prep, "tmp"), exist_ok=True)
    with open(os.path.join(prep, "counter.v"), "w") as f:
        f.write(COUNTER_V)
    log("prepare: synthesising the nextpnr input with yosys under node")
    r = subprocess.run([node, "--no-warnings", os.path.join(HERE, "node_run.mjs"),
                        "--dir", y["share"] + "::/share", "--dir", prep + "::/work",
                        "--dir", os.path.join(prep, "tmp") + "::/tmp", y["wasm"], "-q", "-p",
                        "read_verilog /work/counter.v; synth_ice40 -top counter -json /work/counter.json"],
                       capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(out):
        raise BenchError(f"yosys (node) could not synthesise counter.v: {r.stderr[-1500:]}")
    return out


def prepare_yosys(cache, node):
    pkg = fetch(cache, "yosys")
    tree = os.path.join(cache, "prep", "yosys-tree")
    if not os.path.exists(os.path.join(tree, ".done")):
        shutil.rmtree(tree, ignore_errors=True)
        r = subprocess.run([node, os.path.join(HERE, "extract_tree.mjs"),
                            os.path.join(pkg, "gen", "resources-yosys.js"), tree])
        if r.returncode != 0:
            raise BenchError("could not extract yosys's share/ tree from resources-yosys.js")
        open(os.path.join(tree, ".done"), "w").close()
    return {"wasm": os.path.join(pkg, "gen", "yosys.core.wasm"), "share": os.path.join(tree, "share")}


def build_sqlite(cache, clang):
    pkg = fetch(cache, "sqlite-src")
    prep = os.path.join(cache, "prep", "sqlite")
    out = os.path.join(prep, "sqlite3.wasm")
    if os.path.exists(out):
        return out
    tars = [f for f in os.listdir(os.path.join(pkg, "deps")) if f.startswith("sqlite-autoconf-")]
    if not tars:
        raise BenchError(f"{pkg}/deps: no sqlite-autoconf tarball")
    os.makedirs(prep, exist_ok=True)
    with tarfile.open(os.path.join(pkg, "deps", tars[0])) as t:
        t.extractall(prep, filter="data")
    src = os.path.join(prep, tars[0][:-len(".tar.gz")])
    flags = ["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-w",
             "-D_WASI_EMULATED_SIGNAL", "-D_WASI_EMULATED_PROCESS_CLOCKS", "-D_WASI_EMULATED_GETPID",
             "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION", "-DSQLITE_OMIT_WAL",
             "-DSQLITE_NOHAVE_SYSTEM", "-DSQLITE_OMIT_POPEN", "-DSQLITE_OMIT_RANDOMNESS"]
    log(f"prepare: building sqlite3 shell from {tars[0]} with {clang} --target=wasm32-wasi (~1 min CPU)")
    steps = [
        [clang] + flags + ["-c", "-o", "sqlite3.o", "sqlite3.c"],
        # wasi-libc has no chmod (used by the shell's .archive/writefile helpers).
        [clang] + flags + ["-Dchmod(p,m)=0", "-c", "-o", "shell.o", "shell.c"],
        [clang, "--target=wasm32-wasi", "--sysroot=/usr", "-o", out + ".tmp", "shell.o", "sqlite3.o",
         "-lwasi-emulated-signal", "-lwasi-emulated-process-clocks", "-lwasi-emulated-getpid"],
    ]
    for s in steps:
        r = subprocess.run(s, cwd=src, capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"building sqlite3.wasm failed: {' '.join(s)}\n{r.stderr[-2000:]}")
    os.replace(out + ".tmp", out)
    return out


def prepare_ruby(cache, node):
    pkg = fetch(cache, "ruby")
    raw = os.path.join(pkg, "dist", "ruby.wasm")
    cmd = os.path.join(cache, "prep", "ruby", "ruby-cmd.wasm")
    if not os.path.exists(cmd):
        os.makedirs(os.path.dirname(cmd), exist_ok=True)
        r = subprocess.run([sys.executable, os.path.join(HERE, "ruby_command.py"), raw, cmd],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"could not make a WASI command of ruby.wasm: {r.stderr[-2000:]}")
    return cmd


def programs(cache, node, clang):
    """name -> spec. Each spec is built lazily (fetching/building on demand)."""

    def yosys():
        y = prepare_yosys(cache, node)
        return {
            "wasm": y["wasm"],
            "start": {"args": ["-V"]},
            "work": {"label": "synth_ice40 counter",
                     "args": ["-q", "-p", "read_verilog /work/counter.v; synth_ice40 -top counter "
                              "-json /work/counter.json"],
                     "dirs": [(y["share"], "/share", True), ("@work", "/work", False),
                              ("@tmp", "/tmp", False)],
                     "inputs": {"counter.v": COUNTER_V}, "outputs": ["counter.json"]},
            "cold_budget": 3600, "run_budget": 600,
        }

    def nextpnr():
        pkg = fetch(cache, "nextpnr")
        counter_json = node_yosys_json(cache, node)
        with open(counter_json) as f:
            cj = f.read()
        return {
            "wasm": os.path.join(pkg, "gen", "nextpnr-ice40.core.wasm"),
            "start": {"args": ["--version"]},
            "work": {"label": "pnr counter hx1k",
                     "args": ["--hx1k", "--package", "tq144", "--json", "/work/counter.json",
                              "--asc", "/work/counter.asc", "-q", "--seed", "1"],
                     "dirs": [(os.path.join(pkg, "gen", "share"), "/share", True),
                              ("@work", "/work", False)],
                     "inputs": {"counter.json": cj}, "outputs": ["counter.asc"]},
            # node 20.20's V8 aborts ("Fatal error ... unreachable code" in the
            # mark-compact collector during memory.grow) unless incremental marking is off.
            "node_flags": ["--no-incremental-marking"],
            "cold_budget": 1200, "run_budget": 600,
        }

    def sqlite():
        wasm = build_sqlite(cache, clang)
        return {
            "wasm": wasm,
            "start": {"args": ["-version"]},
            "work": {"label": "300k rows, index, join",
                     "args": ["-batch", ":memory:", ".read /work/bench.sql"],
                     "dirs": [("@work", "/work", True)],
                     "inputs": {"bench.sql": SQLITE_SQL}, "outputs": []},
            "cold_budget": 1200, "run_budget": 300,
        }

    def ruby():
        wasm = prepare_ruby(cache, node)
        return {
            "wasm": wasm,
            "start": {"label": "hello", "stdin": RUBY_HELLO, "args": []},
            "work": {"label": "fib, hash, sort", "args": [], "stdin": RUBY_WORK, "inputs": {},
                     "outputs": []},
            "cold_budget": 2400, "run_budget": 300,
        }

    return {"nextpnr": nextpnr, "sqlite": sqlite, "ruby": ruby, "yosys": yosys}


# ------------------------------------------------------------------ runner --

class Runner:
    def __init__(self, args):
        self.a = args
        self.cache = args.cache
        self.results = {}

    def dirs_for(self, run, workdir):
        out = []
        for host, guest, ro in run.get("dirs", []):
            if host == "@work":
                host = workdir
            elif host == "@tmp":
                host = os.path.join(workdir, "..", os.path.basename(workdir) + ".tmp")
                shutil.rmtree(host, ignore_errors=True)
                os.makedirs(host)
            out.append((os.path.abspath(host), guest, ro))
        return out

    def fresh_workdir(self, prog, engine, run):
        wd = os.path.join(self.cache, "work", prog, engine)
        shutil.rmtree(wd, ignore_errors=True)
        os.makedirs(wd)
        for name, text in run.get("inputs", {}).items():
            with open(os.path.join(wd, name), "w") as f:
                f.write(text)
        if run.get("stdin") is not None:
            with open(os.path.join(wd, ".stdin"), "w") as f:
                f.write(run["stdin"])
        return wd

    def arcella_cmd(self, wasm, run, dirs, tier_flags):
        cmd = [self.a.arcella, "run"] + tier_flags
        for host, guest, ro in dirs:
            cmd += ["--dir-ro" if ro else "--dir", f"{host}::{guest}"]
        return cmd + [wasm] + run["args"]

    def node_cmd(self, spec, wasm, run, dirs):
        cmd = [self.a.node, "--no-warnings"] + spec.get("node_flags", []) + [os.path.join(HERE, "node_run.mjs")]
        for host, guest, ro in dirs:
            cmd += ["--dir", f"{host}::{guest}"]
        return cmd + [wasm] + run["args"]

    def arcella_env(self, home, cc_log):
        env = dict(os.environ)
        env["ARCELLA_HOME"] = home
        env["CC"] = os.path.join(HERE, "cc_meter.sh")
        env["ARCELLA_BENCH_CC"] = self.a.cc
        env["ARCELLA_BENCH_CC_LOG"] = cc_log
        return env

    # Every measured arcella run but the first-run one waits for (or finds)
    # the AOT code: the default tier would run a big module not in the cache
    # on the interpreter and compile it in the background.
    AOT = ["--tier", "aot"]

    def once(self, engine, prog, spec, run, *, home=None, timeout, watch_children=False, cc_log=None,
             tier_flags=AOT):
        wd = self.fresh_workdir(prog, engine, run)
        dirs = self.dirs_for(run, wd)
        if engine == "arcella":
            cmd = self.arcella_cmd(spec["wasm"], run, dirs, tier_flags)
            env = self.arcella_env(home, cc_log or os.devnull)
        else:
            cmd, env = self.node_cmd(spec, spec["wasm"], run, dirs), dict(os.environ)
        stdin = os.path.join(wd, ".stdin") if run.get("stdin") is not None else None
        out, err = wd + ".stdout", wd + ".stderr"
        m = measure(cmd, env=env, cwd=wd, stdin_path=stdin, timeout=timeout,
                    watch_children=watch_children, out_path=out, err_path=err)
        with open(out, "rb") as f:
            outputs = {"stdout": f.read()}
        for name in run.get("outputs", []):
            p = os.path.join(wd, name)
            outputs[name] = open(p, "rb").read() if os.path.exists(p) else None
        m["outputs"] = outputs
        with open(err, "rb") as f:
            text = f.read()
            m["stderr_head"] = text[:1500].decode(errors="replace")
            m["stderr_tail"] = text[-1500:].decode(errors="replace")
        if m["rc"] != 0 or m["timed_out"]:
            log(f"  {engine} {prog}: exit {m['rc']}{' (timeout)' if m['timed_out'] else ''}: "
                f"{m['stderr_tail'][-600:]}")
        return m

    def best(self, engine, prog, spec, run, home, n):
        runs = [self.once(engine, prog, spec, run, home=home, timeout=spec["run_budget"] * self.a.budget_scale)
                for _ in range(n)]
        ok = [r for r in runs if r["rc"] == 0 and not r["timed_out"]] or runs
        b = min(ok, key=lambda r: r["cpu"])
        b["wall"] = min(r["wall"] for r in ok)
        b["maxrss_kb"] = min(r["maxrss_kb"] for r in ok)
        return b

    def first_run(self, prog, spec, res):
        """The first run as a user gets it: default tier, fresh cache folder.
        A big module runs on the interpreter while `arcella compile` builds it
        in the background; that compile is stopped (SIGTERM) once the run is
        measured, so that it does not disturb the cold compile measured next."""
        home = os.path.join(self.cache, "home", prog + "-first")
        shutil.rmtree(home, ignore_errors=True)
        os.makedirs(home)
        log("  first run (default tier, fresh cache)")
        m = self.once("arcella", prog, spec, spec["start"], home=home,
                      timeout=spec["cold_budget"] * self.a.budget_scale, tier_flags=["-v", "--progress"])
        err = m["stderr_head"] + m["stderr_tail"]
        m["tier"] = ("interp" if ": interpreter tier" in err else "aot" if ": aot tier" in err else "?")
        bg = None
        key = "in the background (pid "
        if key in err:
            bg = int(err[err.index(key) + len(key):].split(")")[0])
        m["background_compile"] = bg is not None
        if bg is not None:
            try:
                os.kill(bg, signal.SIGTERM)
            except ProcessLookupError:
                pass
            end = time.monotonic() + 60
            while time.monotonic() < end:
                try:
                    os.kill(bg, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
        shutil.rmtree(home, ignore_errors=True)
        res["first"] = m
        log(f"  first run: {m['wall']:.1f}s wall, {m['cpu']:.1f} CPU-s, {m['maxrss_kb'] / 1024:.0f} MiB, "
            f"{m['tier']} tier{', compile started in the background' if bg else ''}")

    def bench(self, prog, make_spec):
        log(f"== {prog}")
        res = {"program": prog}
        self.results[prog] = res
        try:
            spec = make_spec()
        except BenchError as e:
            res["error"] = str(e)
            log(f"  skipped: {e}")
            return
        res["wasm"] = spec["wasm"]
        res["code_mb"] = code_size(spec["wasm"]) / 1e6
        res["file_mb"] = os.path.getsize(spec["wasm"]) / 1e6
        home = os.path.join(self.cache, "home", prog)
        scale = self.a.budget_scale
        if not self.a.warm_only:
            self.first_run(prog, spec, res)
            if self.a.first_run_only:
                return
            shutil.rmtree(home, ignore_errors=True)
            os.makedirs(home)
            cc_log = os.path.join(self.cache, "work", f"{prog}.cc.log")
            os.makedirs(os.path.dirname(cc_log), exist_ok=True)
            open(cc_log, "w").close()
            log(f"  cold compile ({res['code_mb']:.1f} MB code, budget {spec['cold_budget'] * scale:.0f}s)")
            m = self.once("arcella", prog, spec, spec["start"], home=home,
                          timeout=spec["cold_budget"] * scale, watch_children=True, cc_log=cc_log)
            ccs = []
            with open(cc_log) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 4 and parts[0].isdigit():
                        ccs.append([int(parts[0])] + [float(x) for x in parts[1:]])
            m["cc_count"] = len(ccs)
            m["cc_max_kb"] = max((c[0] for c in ccs), default=0)
            m["cc_cpu"] = sum(c[2] + c[3] for c in ccs)
            res["cold"] = m
            log(f"  cold: {m['wall']:.1f}s wall, {m['cpu']:.1f} CPU-s, arcella {m['self_hwm_kb'] / 1024:.0f} MiB,"
                f" largest compiler {max(m['cc_max_kb'], m['child_hwm_kb']) / 1024:.0f} MiB ({len(ccs)} compiles)")
            if m["rc"] != 0:
                res["error"] = f"cold run failed (exit {m['rc']}): {m['stderr_tail'][-300:]}"
                return
        else:
            os.makedirs(home, exist_ok=True)
            log("  warm-up (the cache folder is kept; a first run here compiles)")
            m = self.once("arcella", prog, spec, spec["start"], home=home, timeout=spec["cold_budget"] * scale)
            if m["rc"] != 0:
                res["error"] = f"warm-up failed (exit {m['rc']}): {m['stderr_tail'][-300:]}"
                return
        n = self.a.reps
        res["warm"] = self.best("arcella", prog, spec, spec["start"], home, n)
        res["node_start"] = self.best("node", prog, spec, spec["start"], home, n)
        log(f"  start: arcella {res['warm']['wall']:.3f}s {res['warm']['maxrss_kb'] / 1024:.0f} MiB,"
            f" node {res['node_start']['wall']:.3f}s {res['node_start']['maxrss_kb'] / 1024:.0f} MiB")
        res["work"] = self.best("arcella", prog, spec, spec["work"], home, n)
        res["node_work"] = self.best("node", prog, spec, spec["work"], home, n)
        res["work_label"] = spec["work"].get("label", "")
        same = (res["warm"]["outputs"] == res["node_start"]["outputs"] and
                res["work"]["outputs"] == res["node_work"]["outputs"] and
                ("first" not in res or res["first"]["outputs"] == res["node_start"]["outputs"]))
        res["same_output"] = same
        for key in ("warm", "node_start", "work", "node_work"):
            if res[key]["rc"] != 0:
                res.setdefault("failures", []).append(f"{key} exit {res[key]['rc']}")
        if not same:
            log("  output differs between arcella and node")
        log(f"  work: arcella {res['work']['cpu']:.2f} CPU-s, node {res['node_work']['cpu']:.2f} CPU-s")


def fmt_s(x):
    return "-" if x is None else (f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}")


def fmt_mb(kb):
    return "-" if not kb else f"{kb / 1024:.0f}"


def report(r, args):
    print(f"# Arcella bench/large  {time.strftime('%Y-%m-%d %H:%M:%S')}  host {platform.node()}  "
          f"cpus {os.cpu_count()}  load {os.getloadavg()[0]:.2f}  reps {args.reps}")
    ver = subprocess.run([args.node, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# arcella {args.arcella}  node {ver}  compiler CC={args.cc} (via cc_meter.sh)  cache {args.cache}")
    print("# times in s, RSS in MiB; cpu = user+sys incl. children; cold = fresh cache folder, --tier aot;")
    print("# cc RSS = the largest compiler process (driver + cc1/as); start = warm start-up command")
    print("# (wall, cpu, peak RSS; node: the same command, which node compiles every time);")
    print("# run = the workload, warm cache (min of reps); ratio = arcella/node CPU (lower is faster)")
    print()
    hdr = (f"{'program':9} {'code MB':>7} | {'cold wall':>9} {'cpu':>7} {'RSS':>6} {'cc RSS':>6} {'#cc':>4} | "
           f"{'start':>6} {'cpu':>5} {'RSS':>5} {'node':>6} {'cpu':>5} {'RSS':>5} | {'run cpu':>7} {'wall':>6} {'node cpu':>8} "
           f"{'wall':>6} {'ratio':>6} | output")
    print(hdr)
    print("-" * len(hdr))
    for prog, x in r.items():
        if "error" not in x and "warm" not in x:
            continue  # --first-run-only: in the first-run table below
        if "error" in x and "warm" not in x:
            cold = x.get("cold")
            c = (f"{fmt_s(cold['wall']):>9} {fmt_s(cold['cpu']):>7} {fmt_mb(cold['self_hwm_kb']):>6} "
                 f"{fmt_mb(max(cold['cc_max_kb'], cold['child_hwm_kb'])):>6} {cold['cc_count']:>4}") if cold else ""
            print(f"{prog:9} {x.get('code_mb', 0):7.1f} | {c}  ERROR: {x['error'][:200]}")
            continue
        cold = x.get("cold")
        if cold:
            c = (f"{fmt_s(cold['wall']):>9} {fmt_s(cold['cpu']):>7} {fmt_mb(cold['self_hwm_kb']):>6} "
                 f"{fmt_mb(max(cold['cc_max_kb'], cold['child_hwm_kb'])):>6} {cold['cc_count']:>4}")
        else:
            c = f"{'(warm-only)':>9} {'-':>7} {'-':>6} {'-':>6} {'-':>4}"
        w, ns, wk, nw = x["warm"], x["node_start"], x["work"], x["node_work"]
        ratio = wk["cpu"] / nw["cpu"] if nw["cpu"] else float("nan")
        outcome = "identical" if x["same_output"] else "output differs"
        if x.get("failures"):
            outcome += " (" + ", ".join(x["failures"]) + ")"
        print(f"{prog:9} {x['code_mb']:7.1f} | {c} | {fmt_s(w['wall']):>6} {fmt_s(w['cpu']):>5} {fmt_mb(w['maxrss_kb']):>5} "
              f"{fmt_s(ns['wall']):>6} {fmt_s(ns['cpu']):>5} {fmt_mb(ns['maxrss_kb']):>5} | {fmt_s(wk['cpu']):>7} {fmt_s(wk['wall']):>6} "
              f"{fmt_s(nw['cpu']):>8} {fmt_s(nw['wall']):>6} {ratio:5.2f}x | {outcome}")
    print()
    firsts = [(p, x) for p, x in r.items() if x.get("first")]
    if firsts:
        print("## First run (default `arcella run`, fresh cache) vs the cold compile (`--tier aot`)")
        print(f"  {'program':9} {'tier':>6} {'wall':>7} {'cpu':>7} {'RSS':>6} | {'cold wall':>9} {'cpu':>7} | background compile")
        for p, x in firsts:
            f, cold = x["first"], x.get("cold")
            cw = f"{fmt_s(cold['wall']):>9} {fmt_s(cold['cpu']):>7}" if cold else f"{'-':>9} {'-':>7}"
            print(f"  {p:9} {f['tier']:>6} {fmt_s(f['wall']):>7} {fmt_s(f['cpu']):>7} {fmt_mb(f['maxrss_kb']):>6} | {cw} | "
                  f"{'started (stopped after the measurement)' if f['background_compile'] else 'no'}"
                  f"{'' if f['rc'] == 0 else ' (exit ' + str(f['rc']) + ')'}")
        print()
    print("## Targets (issue 7)")

    def line(name, ok, text):
        state = "n/a (not measured)" if ok is None else ("MET" if ok else "NOT MET")
        print(f"  {name:34} {text:44} {state}")

    ruby, yosys = r.get("ruby", {}), r.get("yosys", {})
    rc = ruby.get("cold")
    line("CRuby cold compile <= 150 s", None if not rc else (rc["rc"] == 0 and rc["wall"] <= 150),
         f"{rc['wall']:.0f} s wall, {rc['cpu']:.0f} CPU-s" if rc else "")
    yc = yosys.get("cold")
    line("yosys cold compile <= 5 min", None if not yc else (yc["rc"] == 0 and yc["wall"] <= 300),
         f"{yc['wall']:.0f} s wall, {yc['cpu']:.0f} CPU-s" if yc else "")
    colds = [(p, x["cold"]) for p, x in r.items() if x.get("cold")]
    if colds:
        worst = max(colds, key=lambda pc: max(pc[1]["cc_max_kb"], pc[1]["child_hwm_kb"]))
        kb = max(worst[1]["cc_max_kb"], worst[1]["child_hwm_kb"])
        line("no compiler process > 1 GiB", kb <= 1 << 20, f"largest {kb / 1024:.0f} MiB ({worst[0]})")
    else:
        line("no compiler process > 1 GiB", None, "")
    yw = yosys.get("warm")
    line("yosys -V warm <= 0.3 s, <= 200 MB", None if not yw else (yw["rc"] == 0 and yw["wall"] <= 0.3 and
                                                                 yw["maxrss_kb"] <= 200e6 / 1024),
         f"{yw['wall']:.3f} s, {yw['maxrss_kb'] / 1024:.0f} MiB" if yw else "")
    rw, rn = ruby.get("warm"), ruby.get("node_start")
    line("CRuby hello warm faster than node", None if not rw else (rw["rc"] == 0 and rw["wall"] < rn["wall"]),
         f"{rw['wall']:.3f} s vs node {rn['wall']:.3f} s (wall)" if rw else "")
    for p, x in r.items():
        if x.get("error"):
            print(f"  note: {p}: {x['error'][:300]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated programs (default: nextpnr,sqlite,ruby,yosys)")
    ap.add_argument("--arcella", default=os.path.join(REPO, "build", "arcella"))
    ap.add_argument("--cache", default=os.path.join(REPO, "build", "bench-large"),
                    help="downloads, prepared programs, AOT cache folders, work dirs")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warm-only", action="store_true",
                    help="keep each program's cache folder (no cold compile is measured)")
    ap.add_argument("--first-run-only", action="store_true",
                    help="measure only the first run (default tier, fresh cache folder)")
    ap.add_argument("--budget-scale", type=float, default=1.0, help="multiply every time budget")
    ap.add_argument("--cc", default=os.environ.get("CC") or "cc", help="the real C compiler (default $CC or cc)")
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--clang", default=shutil.which("clang") or "clang")
    ap.add_argument("--json", help="also write every measurement to this file")
    ap.add_argument("--prepare-only", action="store_true",
                    help="fetch, verify and prepare the programs, measure nothing")
    a = ap.parse_args()
    a.arcella = os.path.abspath(a.arcella)
    a.cache = os.path.abspath(a.cache)
    if not os.access(a.arcella, os.X_OK):
        sys.exit(f"bench/large: {a.arcella} is not an executable (build the arcella target or pass --arcella)")
    if not os.path.exists("/usr/bin/time"):
        sys.exit("bench/large: /usr/bin/time is missing (apt-get install time)")
    progs = programs(a.cache, a.node, a.clang)
    names = a.only.split(",") if a.only else list(progs)
    for n in names:
        if n not in progs:
            sys.exit(f"bench/large: unknown program '{n}' (known: {', '.join(progs)})")
    os.makedirs(a.cache, exist_ok=True)
    if a.prepare_only:
        for n in names:
            spec = progs[n]()
            log(f"{n}: {spec['wasm']} ({code_size(spec['wasm']) / 1e6:.1f} MB code)")
        return
    t0 = time.monotonic()
    runner = Runner(a)
    for n in names:
        runner.bench(n, progs[n])
    report(runner.results, a)
    print(f"\n# total {time.monotonic() - t0:.0f}s, load {os.getloadavg()[0]:.2f}")
    if a.json:
        def clean(o):
            if isinstance(o, dict):
                return {k: clean(v) for k, v in o.items() if k != "outputs"}
            return o
        with open(a.json, "w") as f:
            json.dump(clean(runner.results), f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        sys.exit(f"bench/large: {e}")
