#!/usr/bin/env python3
"""Component benchmark (started by bench/component/run.sh; not part of the tests).

Side by side, in one run:
  1. end to end: `arcella run hello.component.wasm` (AOT, warm cache) vs
     `jco run hello.component.wasm` (node), wall and CPU per process;
  2. calls: arcella:bench/api#f(string) -> record and #sum(list<s64>) of
     1,000 elements, ns per call, Arcella AOT (component_bench) vs the
     `jco transpile`d component under node (node_bench.mjs);
  3. warm instantiation of host_import (3 core modules) and bench_api (2),
     us per instance, same two sides.
Processes are run round-robin and the minimum over repetitions is kept.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def run(argv, env, check_out=None):
    """Runs argv; returns (wall_s, cpu_s, stdout). Raises on failure."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0 or (check_out is not None and out != check_out):
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}, printed {out!r}:\n"
                           f"{proc.stderr.decode(errors='replace')[-2000:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, out


def json_lines(out):
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).rjust(w) if i else str(h).ljust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--reps", type=int, default=10, help="processes per side for hello")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and calls")
    ap.add_argument("--json", help="also write every measurement to this file")
    args = ap.parse_args()
    build = os.path.abspath(args.build_dir)
    fixtures = os.path.join(build, "fixtures", "components")
    npm = os.path.join(REPO, "tools", "npm")
    jco = os.path.join(npm, "node_modules", ".bin", "jco")
    arcella = os.path.join(build, "arcella")
    bench = os.path.join(build, "bench", "component", "component_bench")
    node = os.environ.get("NODE", "node")
    work = os.path.join(build, "bench", "component-work")
    env = dict(os.environ)
    env["ARCELLA_HOME"] = os.path.join(build, "bench", "component-home")
    env["ARCELLA_NPM_TOOLS_DIR"] = npm
    os.makedirs(env["ARCELLA_HOME"], exist_ok=True)
    reps = 3 if args.quick else args.reps
    calls = 20_000 if args.quick else 100_000
    insts = 500 if args.quick else 2_000
    results = {"hello": {}, "calls": [], "inst": []}
    t_start = time.time()

    print(f"# Arcella component bench  {time.strftime('%Y-%m-%d %H:%M:%S')}  host {platform.node()}  "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    node_version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# node {node_version}, jco {json.load(open(os.path.join(npm, 'node_modules', '@bytecodealliance', 'jco', 'package.json')))['version']}\n")

    # 1. hello, end to end. The AOT cache is warmed first (not timed).
    hello = os.path.join(fixtures, "hello.component.wasm")
    sides = {
        "arcella": [arcella, "run", "--tier", "aot", "-q", hello],
        "jco run": [jco, "run", hello],
    }
    print("warming the AOT cache for hello ...", file=sys.stderr, flush=True)
    for argv in sides.values():
        run(argv, env, "hello, world\n")
    times = {k: [] for k in sides}
    for _ in range(reps):
        for name, argv in sides.items():
            wall, cpu, _ = run(argv, env, "hello, world\n")
            times[name].append((wall, cpu))
    rows = []
    for name, ts in times.items():
        walls, cpus = [t[0] for t in ts], [t[1] for t in ts]
        results["hello"][name] = {"wall_min": min(walls), "wall_median": statistics.median(walls),
                                  "cpu_min": min(cpus)}
        rows.append([name, f"{min(walls) * 1000:.1f}", f"{statistics.median(walls) * 1000:.1f}",
                     f"{min(cpus) * 1000:.1f}"])
    h = results["hello"]
    print(f"## hello command end to end: ms per process, {reps} processes per side, round-robin")
    table(["", "wall min", "wall median", "cpu min"], rows)

    # 2. calls; 3. instantiation.
    print("timing calls and instantiation ...", file=sys.stderr, flush=True)
    common = ["--rounds", "3" if args.quick else "5"]
    for kind, n in (("calls", calls), ("inst", insts)):
        for metering in ("none", "fuel"):
            _, _, out = run([bench, f"--{kind}", fixtures, "--metering", metering, "--n", str(n)] + common, env)
            results["calls" if kind == "calls" else "inst"] += json_lines(out)
        _, _, out = run([node, os.path.join(HERE, "node_bench.mjs"), f"--{kind}", fixtures, work,
                         "--n", str(n)] + common, env)
        results["calls" if kind == "calls" else "inst"] += json_lines(out)

    def get(kind, engine, key, name):
        for j in results[kind]:
            if j["engine"] == engine and j[key] == name:
                return j
        return None

    print("## calls: ns per call (wall, min of rounds); f(\"the quick brown fox ...\") -> "
          "record{upper, length, words}; sum(list<s64>) of 1,000 elements")
    print("## aot = Metering::kNone; aot+fuel = arcella run's default engine (fuel + interrupt checks)")
    rows = []
    for case in ("f", "sum"):
        a, af, nd = get("calls", "aot", "case", case), get("calls", "aot+fuel", "case", case), get("calls", "node", "case", case)
        rows.append([case, f"{a['ns']:.0f}", f"{af['ns']:.0f}", f"{nd['ns']:.0f}",
                     f"{nd['ns'] / a['ns']:.1f}x", f"{nd['ns'] / af['ns']:.1f}x"])
    table(["call", "aot ns", "aot+fuel ns", "node ns", "node/aot", "node/aot+fuel"], rows)

    print("## warm instantiation: us per instance (core modules compiled; min of rounds)")
    rows = []
    for comp in ("host_import", "bench_api"):
        a, af, nd = get("inst", "aot", "component", comp), get("inst", "aot+fuel", "component", comp), get("inst", "node", "component", comp)
        rows.append([comp, a["modules"], f"{a['us']:.2f}", f"{af['us']:.2f}", f"{nd['us']:.2f}",
                     f"{nd['us'] / a['us']:.1f}x"])
    table(["component", "core modules", "aot us", "aot+fuel us", "node us", "node/aot"], rows)

    print("## Targets")
    speedup = h["jco run"]["wall_min"] / h["arcella"]["wall_min"]
    print(f"  hello end to end   : arcella {speedup:.1f}x faster than jco run (wall min; "
          f"median {h['jco run']['wall_median'] / h['arcella']['wall_median']:.1f}x)  target >= 20x  "
          f"{'OK' if speedup >= 20 else 'MISSED'}")
    for case in ("f", "sum"):
        a, nd = get("calls", "aot+fuel", "case", case), get("calls", "node", "case", case)
        print(f"  call {case:4s}          : {a['ns']:.0f} ns aot+fuel vs {nd['ns']:.0f} ns node  "
              f"target faster  {'OK' if a['ns'] < nd['ns'] else 'MISSED'}")
    a = get("inst", "aot+fuel", "component", "host_import")
    print(f"  instantiate 3 mods : {a['us']:.2f} us (aot+fuel, warm)  target <= 20 us  "
          f"{'OK' if a['us'] <= 20 else 'MISSED'}")
    print(f"\n# total {time.time() - t_start:.0f}s, load {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
