// Calls exports of a component under node, through `jco transpile`: the
// reference side of Arcella's differential tests.
//
//   node tools/npm/call-component.mjs COMPONENT.wasm WORKDIR EXPR...
//
// Transpiles COMPONENT.wasm (instantiation mode: no static imports) into
// WORKDIR, instantiates it with WASI 0.2 from preview2-shim (any 0.2.x
// version: imports are matched without their version) and, for the fixture
// interface arcella:fixtures/host, a host that prints "host log: MSG" and
// adds. Then evaluates each EXPR, a JS expression over the component's
// exports by their JS names (interfaces by their camel-case name, e.g.
// `types.echoU8(7)`, `text.shout("hi")`, `run(3)`), and prints one line per
// EXPR: "EXPR => RESULT" or "EXPR => throws MESSAGE". Results are printed
// deterministically: BigInt as 7n, strings JSON-quoted, arrays, typed arrays
// and objects (keys in order) recursively, resources as <resource Name>.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transpile } from '@bytecodealliance/jco';
import * as cli from '@bytecodealliance/preview2-shim/cli';
import * as clocks from '@bytecodealliance/preview2-shim/clocks';
import * as filesystem from '@bytecodealliance/preview2-shim/filesystem';
import * as http from '@bytecodealliance/preview2-shim/http';
import * as io from '@bytecodealliance/preview2-shim/io';
import * as random from '@bytecodealliance/preview2-shim/random';
import * as sockets from '@bytecodealliance/preview2-shim/sockets';

const [componentPath, workDir, ...exprs] = process.argv.slice(2);
if (!componentPath || !workDir) {
  console.error('usage: call-component.mjs COMPONENT.wasm WORKDIR EXPR...');
  process.exit(2);
}

const shims = { cli, clocks, filesystem, http, io, random, sockets };
const camel = (s) => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const fixtureHost = {
  log(msg) { console.log(`host log: ${msg}`); },
  add(a, b) { return (a + b) >>> 0; },
};
// 'wasi:cli/environment@0.2.3' -> cli.environment; the fixture host by name.
function provide(specifier) {
  const m = /^([a-z0-9-]+):([a-z0-9-]+)\/([a-z0-9-]+)(@.*)?$/.exec(specifier);
  if (m && m[1] === 'wasi' && shims[m[2]] && shims[m[2]][camel(m[3])]) {
    return shims[m[2]][camel(m[3])];
  }
  if (m && m[1] === 'arcella' && m[2] === 'fixtures' && m[3] === 'host') return fixtureHost;
  throw new Error(`call-component.mjs: no host for import ${specifier}`);
}

const name = basename(componentPath).replace(/\.wasm$/, '').replace(/[^A-Za-z0-9_]/g, '_');
const { files, imports } = await transpile(readFileSync(componentPath), {
  name, instantiation: 'async', noTypescript: true, quiet: true,
});
mkdirSync(workDir, { recursive: true });
for (const [file, bytes] of Object.entries(files)) {
  mkdirSync(dirname(join(workDir, file)), { recursive: true });
  writeFileSync(join(workDir, file), bytes);
}
const mod = await import(pathToFileURL(join(workDir, `${name}.js`)).href);
const importObject = {};
for (const specifier of imports) importObject[specifier] = provide(specifier);
const exports = await mod.instantiate(
  (file) => WebAssembly.compile(readFileSync(join(workDir, file))), importObject);

function show(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}[${Array.from(v, show).join(', ')}]`;
  if (typeof v === 'object') {
    if (v.constructor && v.constructor !== Object) return `<resource ${v.constructor.name}>`;
    return `{${Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join(', ')}}`;
  }
  return String(v);
}

const names = Object.keys(exports).filter((n) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(n));
for (const expr of exprs) {
  let out;
  try {
    const value = new Function(...names, `return (${expr});`)(...names.map((n) => exports[n]));
    out = show(value);
  } catch (err) {
    out = `throws ${err && err.payload !== undefined ? show(err.payload) : String(err)}`;
  }
  console.log(`${expr} => ${out}`);
}
