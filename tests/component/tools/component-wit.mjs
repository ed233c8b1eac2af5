// Prints the WIT of many component binaries with jco's `componentWit`
// (wasm-tools `component wit`), in one node process: the reference side of
// tests/component/wit_print_test.cc.
//
//   node component-wit.mjs NPM_TOOLS_DIR REQUEST.json
//
// REQUEST.json: [{"in": "/x/a.wasm", "out": "/x/a.wit"}, ...]. For each entry,
// writes `out` (the WIT text) or `out` + ".err" (jco's message). A panic in
// jco's wasm leaves its instance unusable ("cannot enter component
// instance"), so after one the script stops with exit status 3: the caller
// runs it again on the entries that have no output yet. Otherwise exit
// status 0 unless the request could not be read.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [npmDir, requestPath] = process.argv.slice(2);
const api = await import(
  pathToFileURL(`${npmDir}/node_modules/@bytecodealliance/jco/dist/api.js`).href);
const request = JSON.parse(readFileSync(requestPath, 'utf8'));
for (const { in: input, out } of request) {
  try {
    const wit = await api.componentWit(readFileSync(input));
    writeFileSync(out, wit);
  } catch (err) {
    const message = String(err && err.message ? err.message : err);
    writeFileSync(`${out}.err`, message + '\n');
    if (/wasm trap|unreachable/.test(message)) process.exit(3);
  }
}
