// Runs jco's or componentize-js's command line with the host filesystem
// visible to the wasm-tools / splicer components they run internally:
//
//   node tools/npm/run-tool.mjs jco embed --wit x.wit x.wasm -o y.wasm
//   node tools/npm/run-tool.mjs componentize-js app.js --wit app.wit -o app.wasm
//
// Both run Rust tools compiled to components on preview2-shim, whose node
// filesystem has no preopened directory by default (preview2-shim 0.26): any
// path they open themselves (`jco embed --wit PATH`, componentize-js's WIT)
// fails with "No such file or directory". This wrapper preopens "/" and then
// loads the tool's own CLI module; every argument after the tool's name is
// the tool's. Used by tests/fixtures/components/components.cmake.
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';

const tools = {
  jco: './node_modules/@bytecodealliance/jco/dist/jco.js',
  'componentize-js': './node_modules/@bytecodealliance/componentize-js/src/cli.js',
};
const tool = process.argv[2];
if (!tools[tool]) {
  console.error(`run-tool.mjs: unknown tool '${tool}' (one of: ${Object.keys(tools).join(', ')})`);
  process.exit(2);
}
process.argv.splice(2, 1);  // the tool sees its own arguments only
_setPreopens({ '/': '/' });
await import(new URL(tools[tool], import.meta.url));
