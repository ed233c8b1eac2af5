// Runs a WASI preview1 command module under node:wasi with the same
// arguments, environment and granted directories that `arcella run` gets.
// Usage: node node_run.mjs [--dir HOST::GUEST]... [--env K=V]... FILE.wasm [ARGS...]
// Exit code is the guest's. With BENCH_VERBOSE=1 prints compile time to stderr.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import process from 'node:process';

const argv = process.argv.slice(2);
const preopens = {};
const env = {};
let i = 0;
for (; i < argv.length; ++i) {
  const a = argv[i];
  if (a === '--dir' || a === '--dir-ro') {
    const spec = argv[++i];
    const sep = spec.indexOf('::');
    const host = sep < 0 ? spec : spec.slice(0, sep);
    const guest = sep < 0 ? spec : spec.slice(sep + 2);
    preopens[guest] = host;
  } else if (a === '--env') {
    const kv = argv[++i];
    const eq = kv.indexOf('=');
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  } else if (a === '--') {
    ++i;
    break;
  } else {
    break;
  }
}
const [file, ...args] = argv.slice(i);
if (!file) {
  console.error('usage: node node_run.mjs [--dir HOST::GUEST]... [--env K=V]... FILE.wasm [ARGS...]');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env, preopens,
                        returnOnExit: true });
const t0 = process.hrtime.bigint();
const module = await WebAssembly.compile(readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
const t1 = process.hrtime.bigint();
const code = wasi.start(instance);
if (process.env.BENCH_VERBOSE) console.error(`compile+instantiate ${Number(t1 - t0) / 1e6} ms`);
process.exit(code ?? 0);
