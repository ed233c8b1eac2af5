// Turns component text into component binaries with jco's text parser
// (wasm-tools `parse`, through jco's JS API), many texts in one node process.
//
//   node component-parse.mjs REQUEST.json
//
// REQUEST.json: [{"text": "(component ...)", "out": "/cache/<hash>.wasm"}, ...]
// For each entry, writes `out` (the binary) or `out` + ".err" (the parser's
// message, "line:col: what" with 1-based line and column when the parser
// names a position). Files are written to a temporary name and renamed, so a
// reader never sees half a file. Exit status 0 unless the request itself
// could not be read or an output could not be written.
// Used by src/wast/component_text.cc; see docs/SPEC_TESTS.md.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { parse } from '@bytecodealliance/jco';

function describe(err) {
  const s = String(err && err.message ? err.message : err);
  const pos = /line: (\d+), col: (\d+)/.exec(s);
  const custom = /kind: Custom\("((?:[^"\\]|\\.)*)"\)/.exec(s);
  let what = custom ? custom[1].replace(/\\(.)/g, '$1') : s.replace(/^Error: /, '');
  const lexer = /kind: Lex\(([^)]*\))/.exec(s);
  if (!custom && lexer) what = 'lexer: ' + lexer[1];
  return pos ? `${Number(pos[1]) + 1}:${Number(pos[2]) + 1}: ${what}` : what;
}

function writeAtomic(path, data) {
  const tmp = `${path}.tmp${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const { text, out } of request) {
  let bytes;
  try {
    bytes = await parse(text);
  } catch (err) {
    writeAtomic(`${out}.err`, describe(err) + '\n');
    continue;
  }
  writeAtomic(out, bytes);
}
