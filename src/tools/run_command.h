// `arcella run [OPTIONS] FILE.wasm [ARGS...]`: one-shot execution, in the
// spirit of `wasmtime run`. Exit codes (docs/CLI.md):
//   the guest's exit code (proc_exit, or 0 when _start returns),
//   1 the module could not be loaded, linked or called,
//   2 bad command line,
//   134 the guest trapped (kind and function printed on stderr),
//   130 / 143 Ctrl-C (SIGINT) / SIGTERM cancelled the compile.
#pragma once

namespace arcella::tools {

inline constexpr int kExitLoadError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitTrap = 134;

int RunCommand(int argc, char** argv);  // argv[0] is "run"

}  // namespace arcella::tools
