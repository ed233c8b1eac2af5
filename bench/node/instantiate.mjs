// Node/V8 counterpart of bench/instantiate_bench.cc: instantiation time, RSS
// per instance and JS->wasm call cost for the same modules.
//   node --expose-gc instantiate.mjs --inst FILE.wasm NAME [N] [ROUNDS]
//   node instantiate.mjs --call FILE.wasm [CALLS]
// Prints the same JSON lines as instantiate_bench (engine "node").
import { readFileSync } from 'node:fs';
import process from 'node:process';

const [what, file, ...rest] = process.argv.slice(2);
const module = new WebAssembly.Module(readFileSync(file));
const imports = { env: { host: (x) => (x + 1) | 0 } };
// Process CPU time (user+sys, all threads) in µs, like instantiate_bench.
const now = () => { const u = process.cpuUsage(); return u.user + u.system; };
const gc = globalThis.gc ?? (() => {});

if (what === '--inst') {
  const name = rest[0];
  const n = Number(rest[1] ?? 1000), rounds = Number(rest[2] ?? 3);
  { const warm = []; for (let i = 0; i < 16; i++) warm.push(new WebAssembly.Instance(module, imports)); }
  gc();
  let best = Infinity, bestFree = Infinity, rssKib = -1, cold = 0;
  for (let r = 0; r < rounds; r++) {
    let live = new Array(n);
    const rss0 = process.memoryUsage.rss();
    const t0 = now();
    for (let i = 0; i < n; i++) live[i] = new WebAssembly.Instance(module, imports);
    const t1 = now();
    const rss1 = process.memoryUsage.rss();
    if (live[n - 1].exports.memory.buffer.byteLength !== 16 * 65536) throw new Error('memory size');
    live = null;
    gc();
    const t2 = now();
    best = Math.min(best, (t1 - t0) / n);
    if (r === 0) cold = (t1 - t0) / n;
    bestFree = Math.min(bestFree, (t2 - t1) / n);
    if (r === 0) rssKib = (rss1 - rss0) / 1024 / n;
  }
  console.log(JSON.stringify({ kind: 'inst', engine: 'node', module: name, n,
    us: +best.toFixed(3), cold_us: +cold.toFixed(3), free_us: +bestFree.toFixed(3), rss_kib: +rssKib.toFixed(2) }));
} else if (what === '--call') {
  const calls = Number(rest[0] ?? 1000000);
  const ex = new WebAssembly.Instance(module, imports).exports;
  const cases = [['nop', () => ex.nop()], ['inc', () => ex.inc(41)], ['call_host', () => ex.call_host(41)]];
  for (const [name, f] of cases) {
    let best = Infinity;
    for (let rep = 0; rep < 3; rep++) {
      const t0 = now();
      let acc = 0;
      for (let i = 0; i < calls; i++) acc += f() ?? 0;
      const dt = now() - t0;
      if (name !== 'nop' && acc !== 42 * calls) throw new Error('wrong result');
      best = Math.min(best, dt * 1000 / calls);
    }
    console.log(JSON.stringify({ kind: 'call', engine: 'node', export: name, calls, ns: +best.toFixed(1) }));
  }
} else {
  console.error('usage: instantiate.mjs --inst FILE NAME [N] [ROUNDS] | --call FILE [CALLS]');
  process.exit(2);
}
