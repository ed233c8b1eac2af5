// Runs a WASI command module under node's node:wasi, like `arcella run`.
// Usage: node run_wasi.mjs FILE.wasm [ARGS...]
// Exit code is the guest's. Prints compile time to stderr with BENCH_VERBOSE=1.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node run_wasi.mjs FILE.wasm [ARGS...]');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, returnOnExit: true });
const t0 = process.hrtime.bigint();
const module = await WebAssembly.compile(readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
const t1 = process.hrtime.bigint();
const code = wasi.start(instance);
if (process.env.BENCH_VERBOSE) {
  console.error(`compile+instantiate ${Number(t1 - t0) / 1e6} ms`);
}
process.exit(code ?? 0);
