// Turning the modules of a .wast script into wasm binaries (libwabt's text
// front-end). Internal to the spec-test runner.
//
// libwabt asserts on bad input, so text IR is name-resolved and validated
// before it is serialised; a text module the front-end rejects is reported
// in `rejected` instead of being encoded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace wabt {
struct Module;
class ScriptModule;
class Features;
}  // namespace wabt

namespace arcella::wast {

// What the text front-end accepts: WebAssembly 2.0 plus the proposals the
// interpreter tier runs (exceptions, tail calls); `multi_memory` adds modules
// with several memories. The engine runs those on both tiers, but the 2.0
// scripts expect them to be invalid, so only the multi-memory proposal's
// scripts turn it on (`arcella wast --multi-memory`).
wabt::Features TextFeatures(bool multi_memory);

struct ModuleBytes {
  std::vector<uint8_t> wasm;  // the binary, when `rejected` is empty
  std::string rejected;       // why the text front-end refused the module
  bool ok() const { return rejected.empty(); }
};

// Assembles the text of one module ("(module ...)" or bare fields).
Result<std::vector<uint8_t>> WatToWasm(std::string_view wat, std::string_view filename = "<wat>",
                                       bool multi_memory = false);

// Resolves names in, validates and serialises a parsed text module.
ModuleBytes EncodeTextModule(wabt::Module* module, bool multi_memory = false);

// Text module -> EncodeTextModule; binary module -> its bytes as written;
// quoted module -> parse its text, then EncodeTextModule.
ModuleBytes ScriptModuleBytes(wabt::ScriptModule* script_module, bool multi_memory = false);

}  // namespace arcella::wast
