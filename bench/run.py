#!/usr/bin/env python3
"""Arcella benchmark harness (started by bench/run.sh; not part of the tests).

Runs, side by side in one process tree:
  1. the compute suite (bench/workloads) on native gcc -O2, Arcella AOT,
     Arcella interpreter (smaller input, extrapolated) and node 20 (node:wasi);
     every engine's checksum must match native's;
  2. fuel / interrupt instrumentation overhead on AOT;
  3. instantiation time and RSS per instance, Arcella vs node;
  4. host->guest call cost.
Each process is timed for wall-clock and CPU (user+sys, from wait4); the
minimum over repetitions is kept. Engines are interleaved round-robin so
background load hits all of them alike.
"""
import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name, full-scale argument, interpreter argument (extrapolated to full scale)
WORKLOADS = [
    ("sha256", 128, 1),        # MiB hashed
    ("matmul", 100, 1),        # 256x256 double multiplies
    ("nbody", 5_000_000, 50_000),  # steps
    ("duk_bench", 100, 1),     # rounds of the JS workload in duktape
]
HUGE_FUEL = 10**18
LARGE = "duk_bench"


class Engine:
    def __init__(self, name, argv_fn):
        self.name, self.argv = name, argv_fn


def run_timed(argv, env=None):
    """Runs argv; returns (wall_s, cpu_s, stdout). Raises on failure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {proc.returncode}:\n"
                           f"{err.decode(errors='replace')[-2000:]}")
    return wall, out.decode(errors="replace")


def run_measured(argv, env):
    """Like run_timed, with CPU time (user+sys) of the child from RUSAGE_CHILDREN."""
    import resource
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, out = run_timed(argv, env)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, out


def checksum(out):
    m = re.search(r"^checksum (.*)$", out, re.M)
    return m.group(1).strip() if m else None


def fmt_ratio(x):
    return "-" if x is None or math.isnan(x) else f"{x:.2f}x"


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


def table(headers, rows, left=2):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).rjust(w) if i >= left else str(c).ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="quarter-size inputs, 2 reps")
    ap.add_argument("--json", help="also write all measurements to this file")
    ap.add_argument("--n", type=int, default=1000, help="instances per instantiation round")
    args = ap.parse_args()
    if args.quick:
        args.reps = min(args.reps, 2)
    b = os.path.abspath(args.build_dir)
    arcella = os.path.join(b, "arcella")
    inst_bench = os.path.join(b, "bench", "instantiate_bench")
    node = "node"
    env = dict(os.environ)
    env["ARCELLA_HOME"] = os.path.join(b, "bench", "home")  # private AOT cache
    results = {"compute": {}, "interp": {}, "instantiate": [], "call": []}

    def wasm(n):
        return os.path.join(b, "bench", "wasm", n + ".wasm")

    def aot(*extra):
        return lambda n, a: [arcella, "run", "--tier", "aot", *extra, wasm(n), str(a)]

    engines = [
        Engine("native", lambda n, a: [os.path.join(b, "bench", "native", n), str(a)]),
        # "aot": uninstrumented (an engine with Metering::kNone), the speed baseline.
        Engine("aot", aot("--metering", "none")),
        # The one artefact of the default engine (fuel + interrupt, switchable
        # per instance): fuel on (identical to the former separate kFuel build),
        # fuel off, fuel off with a deadline.
        Engine("aot+fuel", aot("--fuel", str(HUGE_FUEL))),
        Engine("aot+off", aot()),
        Engine("aot+dl", aot("--timeout", "1h")),
        # The former separate interrupt-only build.
        Engine("aot+intr", aot("--metering", "interrupt", "--timeout", "1h")),
        Engine("node", lambda n, a: [node, "--no-warnings", os.path.join(HERE, "node", "run_wasi.mjs"),
                                     wasm(n), str(a)]),
    ]
    interp = lambda n, a: [arcella, "run", "--tier", "interp", wasm(n), str(a)]

    workloads = [(n, max(1, f // 4) if args.quick else f, s) for n, f, s in WORKLOADS
                 if os.path.exists(wasm(n))]
    t_start = time.time()
    print(f"# Arcella bench  {time.strftime('%Y-%m-%d %H:%M:%S')}  host {platform.node()}  "
          f"cpus {os.cpu_count()}  load {os.getloadavg()[0]:.2f}  reps {args.reps}"
          f"{'  (quick)' if args.quick else ''}")
    print(f"# node {subprocess.run([node, '--version'], capture_output=True, text=True).stdout.strip()}"
          f"  gcc/clang -O2  arcella AOT cache {env['ARCELLA_HOME']}\n", flush=True)

    # ------------------------------------------------------------ compute suite
    for name, full, small in workloads:
        # Warm the AOT cache for every metering variant (compile excluded).
        for e in engines:
            if e.name.startswith("aot"):
                run_timed(e.argv(name, 0), env)
        best = {e.name: [math.inf, math.inf] for e in engines}
        best0 = {e.name: [math.inf, math.inf] for e in engines}  # input 0: startup + setup only
        sums = {}
        for rep in range(args.reps):
            order = engines[rep % len(engines):] + engines[:rep % len(engines)]
            for e in order:
                for a, dst in ((full, best), (0, best0)):
                    wall, cpu, out = run_measured(e.argv(name, a), env)
                    dst[e.name][0] = min(dst[e.name][0], wall)
                    dst[e.name][1] = min(dst[e.name][1], cpu)
                    if a == full:
                        sums.setdefault(e.name, checksum(out))
        ref = sums["native"]
        for en, s in sums.items():
            if s != ref:
                sys.exit(f"CHECKSUM MISMATCH {name}: native {ref!r} vs {en} {s!r}")
        # Interpreter: scale 0 (setup only) and the small scale, extrapolated:
        # t(full) ~ t(0) + (t(small) - t(0)) * full / small.
        ref_small = checksum(run_timed(engines[0].argv(name, small), env)[1])
        ib = {0: [math.inf, math.inf], small: [math.inf, math.inf]}
        for rep in range(min(args.reps, 3)):
            for a in (0, small):
                wall, cpu, out = run_measured(interp(name, a), env)
                if a == small and checksum(out) != ref_small:
                    sys.exit(f"CHECKSUM MISMATCH {name}: interp {checksum(out)!r} vs {ref_small!r}")
                ib[a] = [min(ib[a][0], wall), min(ib[a][1], cpu)]
        k = full / small
        best["interp*"] = [ib[0][i] + max(0.0, ib[small][i] - ib[0][i]) * k for i in (0, 1)]
        best0["interp*"] = ib[0]
        results["compute"][name] = {
            "arg": full, "checksum": ref, "wall": {e: v[0] for e, v in best.items()},
            "cpu": {e: v[1] for e, v in best.items()}, "cpu0": {e: v[1] for e, v in best0.items()},
            # net: the work itself, without process start, module load and setup
            "net": {e: max(1e-6, best[e][1] - best0[e][1]) for e in best}}
        results["interp"][name] = {"arg": small, "t0": ib[0], "t_small": ib[small]}
        print(f"  {name}: done ({time.time() - t_start:.0f}s, checksum {ref})", file=sys.stderr, flush=True)

    rows = []
    for name, full, small in workloads:
        r = results["compute"][name]
        for en in ["native", "aot", "interp*", "node"]:
            w, c, c0, nt = r["wall"][en], r["cpu"][en], r["cpu0"][en], r["net"][en]
            rows.append([name if en == "native" else "", en, f"{w:.3f}", f"{c:.3f}", f"{c0:.3f}",
                         fmt_ratio(c / r["cpu"]["native"]), fmt_ratio(c / r["cpu"]["node"]),
                         fmt_ratio(nt / r["net"]["native"]), fmt_ratio(nt / r["net"]["node"])])
    print("## Compute suite: seconds, min of reps; ratio = time / reference time (lower is faster)")
    print("## cpu = user+sys of the whole process; start = cpu with input 0 (process start, module")
    print("## load, instantiation, workload setup); net = cpu - start (the work itself)")
    print("## interp* = interpreter at a small input, extrapolated: start + (t(small) - start) * full/small\n")
    table(["workload", "engine", "wall s", "cpu s", "start s", "cpu/native", "cpu/node",
           "net/native", "net/node"], rows)
    names = [n for n, _, _ in workloads]
    for en in ["aot", "interp*", "node"]:
        g = lambda key, ref: fmt_ratio(geomean([results["compute"][n][key][en] / results["compute"][n][key][ref]
                                                for n in names]))
        print(f"geomean {en:8s} cpu/native {g('cpu', 'native')}  cpu/node {g('cpu', 'node')}"
              f"  net/native {g('net', 'native')}  net/node {g('net', 'node')}")
    print()

    # ------------------------------------------------------------ instrumentation
    rows, cols = [], ["aot+fuel", "aot+off", "aot+dl", "aot+intr"]
    ovh = {k: [] for k in cols}
    for n in names:
        c = results["compute"][n]["net"]
        row = [n, f"{c['aot']:.3f}"]
        for k in cols:
            r = c[k] / c["aot"]
            ovh[k].append(r)
            row += [f"{c[k]:.3f}", f"{(r - 1) * 100:+.1f}%"]
        rows.append(row)
    g = ["geomean", ""]
    for k in cols:
        g += ["", f"{(geomean(ovh[k]) - 1) * 100:+.1f}%"]
    rows.append(g)
    print("## Metering overhead on AOT (net cpu s) against uninstrumented (--metering none): the one "
          "artefact with --fuel 1e18 (fuel on), with no limit (fuel off), with --timeout 1h; and the "
          "separate interrupt-only build (--metering interrupt --timeout 1h)\n")
    hdr = ["workload", "aot"]
    for k in cols:
        hdr += [k, "ovh"]
    table(hdr, rows, left=1)

    # ------------------------------------------------------------ instantiation
    mods = os.path.join(b, "bench", "modules")
    os.makedirs(mods, exist_ok=True)
    subprocess.run([inst_bench, "--emit", mods], check=True, env=env)
    inst, calls = {}, {}
    # Each case in a fresh process (clean RSS baseline), 3 processes, interleaved;
    # keep the fastest (instantiation is short and wall-clock, so load-sensitive).
    for m in ["mem1", "mem1_data"]:
        cases = {t: [inst_bench, "--inst", "--tier", t, "--module", m, "--n", str(args.n)]
                 for t in ["aot", "interp"]}
        cases["node"] = [node, "--expose-gc", os.path.join(HERE, "node", "instantiate.mjs"), "--inst",
                         os.path.join(mods, m + ".wasm"), m, str(args.n)]
        for _ in range(3):
            for en, argv in cases.items():
                j = json.loads(run_timed(argv, env)[1])
                if (en, m) not in inst or j["us"] < inst[(en, m)]["us"]:
                    inst[(en, m)] = j
    for tier, n_calls in [("aot", 1_000_000), ("interp", 300_000)]:
        out = run_timed([inst_bench, "--call", "--tier", tier, "--calls", str(n_calls)], env)[1]
        for line in out.splitlines():
            j = json.loads(line); calls[(tier, j["export"])] = j
    out = run_timed([node, os.path.join(HERE, "node", "instantiate.mjs"), "--call",
                     os.path.join(mods, "mem1.wasm"), "1000000"], env)[1]
    for line in out.splitlines():
        j = json.loads(line); calls[("node", j["export"])] = j
    results["instantiate"] = [dict(v, engine=k[0]) for k, v in inst.items()]
    results["call"] = [dict(v, engine=k[0]) for k, v in calls.items()]

    rows = []
    for m in ["mem1", "mem1_data"]:
        for en in ["aot", "interp", "node"]:
            j = inst[(en, m)]
            rows.append([m if en == "aot" else "", en, f"{j['us']:.2f}", f"{j['cold_us']:.2f}",
                         f"{j['free_us']:.2f}", f"{j['rss_kib']:.1f}",
                         fmt_ratio(inst[('node', m)]['us'] / j['us']),
                         fmt_ratio(inst[('node', m)]['cold_us'] / j['cold_us'])])
    print(f"## Instantiation: {args.n} live instances per round, min of 3 rounds x 3 processes "
          "(mem1 = 1 MiB memory; mem1_data = 1 MiB + 64 KiB data segment)")
    print("## cpu us/inst: best round (AOT: memory reservations reused from the pool);"
          " cold: the first round of a process (nothing pooled yet)\n")
    table(["module", "engine", "cpu us/inst", "cold us", "free cpu us", "RSS KiB/inst",
           "node/this", "cold node/this"], rows)

    rows = []
    for ex in ["nop", "inc", "call_host"]:
        rows.append([ex] + [f"{calls[(en, ex)]['ns']:.1f}" for en in ["aot", "interp", "node"]])
    print("## Host->guest call cost, CPU ns per call (Instance::Call by name; node: JS->wasm export call)")
    print("## call_host = the export calls a host import (a host function / a JS function)\n")
    table(["export", "aot", "interp", "node"], rows, left=1)

    # ------------------------------------------------------------ targets
    print("## Targets")
    if LARGE in results["compute"]:
        c, w, nt = (results["compute"][LARGE][k] for k in ("cpu", "wall", "net"))
        r_nat, r_node = c["aot"] / c["native"], c["node"] / c["aot"]
        print(f"  duktape AOT vs native  : {r_nat:.2f}x native cpu (net {nt['aot'] / nt['native']:.2f}x,"
              f" wall {w['aot'] / w['native']:.2f}x)  target <= 1.20x  {'MET' if r_nat <= 1.2 else 'NOT MET'}")
        print(f"  duktape AOT vs node    : {r_node:.2f}x faster cpu (net {nt['node'] / nt['aot']:.2f}x,"
              f" wall {w['node'] / w['aot']:.2f}x)  target >= 1.20x  {'MET' if r_node >= 1.2 else 'NOT MET'}")
    for m in ["mem1", "mem1_data"]:
        s = inst[("node", m)]["us"] / inst[("aot", m)]["us"]
        c = inst[("node", m)]["cold_us"] / inst[("aot", m)]["cold_us"]
        print(f"  instantiate {m:9s} : {s:.1f}x faster than node (cold: {c:.1f}x)  target >= 20x  "
              f"{'MET' if s >= 20 else 'NOT MET'}{'' if c >= 20 else ' (cold: NOT MET)'}")
    print(f"\n# total {time.time() - t_start:.0f}s, load {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
