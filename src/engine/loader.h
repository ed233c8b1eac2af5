// Decoding and validation of core wasm binaries with libwabt.
//
// libwabt is built with assertions: nothing else may touch a module's IR or
// bytes until Decode() has accepted it. Decode never aborts on bad input.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/preflight.h"
#include "engine/types.h"

namespace wabt {
struct Module;
}

namespace arcella::engine {

struct DecodedModule {
  std::unique_ptr<wabt::Module> ir;  // validated IR
  std::vector<ImportDesc> imports;
  std::vector<ExportDesc> exports;
  // Name of every function (imports first): name section, else first export
  // name, else "func[N]".
  std::vector<std::string> func_names;
  bool uses_simd = false;  // any v128 type or SIMD instruction
  // Post-2.0 proposals in use (first use of each): only those a tier runs
  // (exception handling, tail calls: the interpreter; several memories: both
  // tiers). Empty for 2.0 modules.
  std::vector<FeatureUse> extensions;
  DecodedModule();
  DecodedModule(DecodedModule&&) noexcept;
  DecodedModule& operator=(DecodedModule&&) noexcept;
  ~DecodedModule();
};

// Reads and validates `wasm` with every WebAssembly 2.0 feature enabled
// (MVP, multi-value, bulk memory, reference types, sign-ext, sat-conv, SIMD).
// A module that is not valid 2.0 but valid with the legacy exception-handling,
// tail-call or multi-memory proposal is accepted, with `extensions` set (a
// module that is not valid 2.0 and uses none of them keeps its 2.0 error,
// e.g. a "long" zero after memory.grow stays malformed).
// Errors: InvalidArgument, message like
//   "invalid module at byte 0x1f: type mismatch in i32.add, expected ..."
//   "not a wasm module: bad magic number" / "component binaries are not core modules".
// Unsupported for another proposal, named with its offset:
//   "uses the threads proposal (memory 0 is shared at offset 0x1c),
//    not supported by this engine"
Result<DecodedModule> Decode(std::span<const uint8_t> wasm);

// What keeps the AOT tier from running `m` ("SIMD (v128)", "the
// exception-handling proposal"), or "" if nothing does (several memories
// do not).
std::string AotBlocker(const DecodedModule& m);

// Re-extracts import/export descriptors and function names from valid IR
// (used after instrumentation changed it).
void Describe(const wabt::Module& ir, DecodedModule* out);

// Serialises IR to a binary (names section kept).
Result<std::vector<uint8_t>> Encode(const wabt::Module& ir);

// True if the bytes start with the component-model preamble (layer 1).
bool IsComponentBinary(std::span<const uint8_t> bytes);

}  // namespace arcella::engine
