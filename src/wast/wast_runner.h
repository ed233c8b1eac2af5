// Runs WebAssembly spec-test scripts (.wast) on the engine's public API,
// like `wasmtime wast`. Used by `arcella wast FILE.wast... [--tier ...]`.
//
//   WastOptions opts{.tier = engine::Tier::kInterp};
//   auto summary = RunWastFiles({"i32.wast"}, opts, std::cout);
//   return summary.ok() && summary->failed == 0 ? 0 : 1;
//
// Every command is handled: module (named / current), register, invoke/get,
// assert_return (nan:canonical / nan:arithmetic, per v128 lane; ref.null,
// ref.extern N, ref.func), assert_trap (calls and instantiation),
// assert_exhaustion, assert_invalid / assert_malformed (must be rejected),
// assert_unlinkable, assert_uninstantiable. Traps compare by kind. A failing
// or unsupported command is counted and reported, never fatal.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"

namespace arcella::wast {

struct WastOptions {
  engine::Tier tier = engine::Tier::kAuto;  // tier every script module is compiled to
  std::string cache_dir;                    // AOT cache; empty: no AOT tier
  bool verbose = false;                     // also log passing module compiles, timings
  std::string cc = "cc";                    // C compiler command of the AOT tier
  // Text modules may have several memories (the multi-memory proposal's
  // scripts); off, the 2.0 scripts' modules with two memories are invalid.
  bool multi_memory = false;
};

struct WastSummary {
  int passed = 0;
  int failed = 0;
  int skipped = 0;                    // commands this runner cannot express
  std::vector<std::string> failures;  // "file.wast:12: assert_return ...: why"
  double seconds = 0;                 // wall time
  int files = 0;
  int files_failed = 0;
};

// Runs one script. Prints one line per failure and "<file>: N passed, M
// failed" to `log`. Errors only when the file cannot be read or parsed.
Result<WastSummary> RunWastFile(const std::string& path, const WastOptions& options,
                                std::ostream& log);

// Same, on script text in memory; `name` is used in messages.
Result<WastSummary> RunWastText(const std::string& name, std::string_view text,
                                const WastOptions& options, std::ostream& log);

// Runs every script, then prints the total. An unreadable/unparsable file
// counts as a failed file (and one failure); never returns early.
WastSummary RunWastFiles(const std::vector<std::string>& paths, const WastOptions& options,
                         std::ostream& log);

}  // namespace arcella::wast
