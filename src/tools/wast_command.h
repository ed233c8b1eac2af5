// `arcella wast FILE.wast... [--tier aot|interp|auto]`: runs spec-test
// scripts like `wasmtime wast`, prints "N passed, M failed" per file and in
// total; exits 0 only if every assertion passed.
#pragma once

namespace arcella::tools {

int WastCommand(int argc, char** argv);  // argv[0] is "wast"

}  // namespace arcella::tools
