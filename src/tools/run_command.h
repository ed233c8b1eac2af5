// `arcella run [OPTIONS] FILE.wasm [ARGS...]`: one-shot execution, in the
// spirit of `wasmtime run`, of a core module or a component
// (run_component.h). Exit codes (docs/CLI.md):
//   the guest's exit code (proc_exit, or 0 when _start returns; for a
//   component, wasi:cli/exit or the result of wasi:cli/run: ok 0, err 1),
//   1 the module could not be loaded, linked or called,
//   2 bad command line (or --invoke arguments that do not parse),
//   134 the guest trapped (kind and function printed on stderr),
//   130 / 143 Ctrl-C (SIGINT) / SIGTERM cancelled the compile.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "wasi/wasi.h"

namespace arcella::tools {

inline constexpr int kExitLoadError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitTrap = 134;

// With --tier auto, a module not in the AOT cache whose code section is
// larger than this runs on the interpreter at once while `arcella compile`
// builds it in the background (background_compile.h); a smaller one is
// compiled first, which takes a few seconds at most on a 2-core machine
// (docs/LIMITS.md, "First run of a big module").
inline constexpr uint64_t kTierUpCodeBytes = 128 * 1024;

// The parsed command line (the options of `arcella run --help`).
struct RunOptions {
  std::string file;
  std::vector<std::string> args;
  wasi::WasiConfig wasi;  // --dir, --dir-ro, --env (args and stdio set by the runner)
  std::optional<uint64_t> fuel;
  uint64_t max_memory = 0;
  uint32_t max_stack = 10'000;
  std::chrono::nanoseconds timeout{0};
  engine::Tier tier = engine::Tier::kAuto;
  std::optional<std::string> invoke;
  std::optional<bool> progress;  // --progress / --quiet; unset: stderr is a terminal
  engine::Metering metering = engine::Metering::kFuel;
  uint64_t tier_up_bytes = kTierUpCodeBytes;
  bool verbose = false;
};

int RunCommand(int argc, char** argv);  // argv[0] is "run"

}  // namespace arcella::tools
