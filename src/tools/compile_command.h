// `arcella compile [OPTIONS] FILE.wasm`: compiles a module on the AOT tier
// into the user's cache, like `wasmtime compile`, so that a later `arcella
// run` of the same bytes with the same --metering starts warm. It is also
// what `arcella run` starts in the background to tier a big module up
// (background_compile.h). Exit codes (docs/CLI.md):
//   0 compiled (or already in the cache),
//   1 the module could not be read or compiled (the error names the file),
//   2 bad command line,
//   130 / 143 Ctrl-C (SIGINT) / SIGTERM cancelled the compile (no compiler
//   process or temporary folder left).
#pragma once

namespace arcella::tools {

int CompileCommand(int argc, char** argv);  // argv[0] is "compile"

}  // namespace arcella::tools
