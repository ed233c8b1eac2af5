// The node side of bench/component: the same calls and instantiations as
// component_bench.cc, on the components `jco transpile`d (instantiation
// mode) and run by node's WebAssembly.
//
//   node bench/component/node_bench.mjs --calls|--inst FIXTURES_DIR WORKDIR [--n N] [--rounds R]
//
// jco comes from tools/npm/node_modules (ARCELLA_NPM_TOOLS_DIR overrides).
//
// Prints JSON lines like component_bench ("engine":"node"). Wall-clock
// (process.hrtime), minimum over R rounds of N. Instantiation is warm: the
// core modules are compiled once (WebAssembly.compile) and reused, so only
// the component's instantiate() is timed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const npmDir = process.env.ARCELLA_NPM_TOOLS_DIR ??
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools', 'npm');
const { transpile } = await import(
  pathToFileURL(createRequire(join(npmDir, 'package.json')).resolve('@bytecodealliance/jco')).href);

const argv = process.argv.slice(2);
const what = argv[0]?.replace(/^--/, '');
const [fixtures, workDir] = [argv[1], argv[2]];
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i === -1 ? dflt : Number(argv[i + 1]);
};
if (!['calls', 'inst'].includes(what) || !fixtures || !workDir) {
  console.error('usage: node_bench.mjs --calls|--inst FIXTURES_DIR WORKDIR [--n N] [--rounds R]');
  process.exit(2);
}
const rounds = opt('--rounds', 5);

async function load(name) {
  const dir = join(workDir, name);
  const { files } = await transpile(readFileSync(join(fixtures, `${name}.component.wasm`)), {
    name, instantiation: 'async', noTypescript: true, quiet: true,
  });
  for (const [file, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), bytes);
  }
  const mod = await import(pathToFileURL(join(dir, `${name}.js`)).href);
  const compiled = new Map();
  const getCoreModule = (file) => {
    if (!compiled.has(file)) compiled.set(file, WebAssembly.compile(readFileSync(join(dir, file))));
    return compiled.get(file);
  };
  return { mod, getCoreModule };
}

const hostImports = {
  'arcella:fixtures/host': { log() {}, add(a, b) { return (a + b) >>> 0; } },
};
function importsFor(name) {
  if (name !== 'host_import') return {};
  // Both the plain and the versioned specifier, whichever jco asks for.
  return { ...hostImports, 'arcella:fixtures/host@0.1.0': hostImports['arcella:fixtures/host'] };
}

function best(n, fn) {
  let min = Infinity;
  for (let r = 0; r < rounds; ++r) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; ++i) fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / n);
  }
  return min;
}

async function bestAsync(n, fn) {
  let min = Infinity;
  for (let r = 0; r < rounds; ++r) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; ++i) await fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / n);
  }
  return min;
}

const text = 'the quick brown fox jumps over the lazy dog';
if (what === 'calls') {
  const n = opt('--n', 100000);
  const { mod, getCoreModule } = await load('bench_api');
  const api = (await mod.instantiate(getCoreModule, importsFor('bench_api'))).api;
  const xs = [];
  let want = 0n;
  for (let i = 0; i < 1000; ++i) {
    const x = BigInt((i % 2 ? -1 : 1) * i * 1000003);
    xs.push(x);
    want += x;
  }
  const r = api.f(text);
  if (r.upper !== text.toUpperCase() || r.words !== 9) throw new Error(`f: ${JSON.stringify(r)}`);
  if (api.sum(xs) !== BigInt.asIntN(64, want)) throw new Error('sum: wrong result');
  for (const [name, fn] of [['f', () => api.f(text)], ['sum', () => api.sum(xs)]]) {
    console.log(JSON.stringify({ kind: 'call', engine: 'node', case: name, n, ns: +best(n, fn).toFixed(1) }));
  }
} else {
  const n = opt('--n', 2000);
  for (const [name, modules] of [['host_import', 3], ['bench_api', 2]]) {
    const { mod, getCoreModule } = await load(name);
    const imports = importsFor(name);
    for (let i = 0; i < 8; ++i) await mod.instantiate(getCoreModule, imports);
    const ns = await bestAsync(n, () => mod.instantiate(getCoreModule, imports));
    console.log(JSON.stringify({ kind: 'inst', engine: 'node', component: name, modules, n, us: +(ns / 1000).toFixed(2) }));
  }
}
