// The metadata record of an AOT-compiled module: everything a cache hit
// needs to make a Module without decoding the wasm again.
//
// Stored in the AOT cache as `<meta key>.meta` (aot::MetaKey: the sha256 of
// the ORIGINAL module bytes plus everything that changes the compiled
// result), HMAC-sealed like every cache entry. It names the module's code
// entry (`aot_key`), which is loaded and verified on its own.
//
// Format (little-endian): "ARCMETA1", then u32 metering, the user-visible
// imports and exports, the function names, the instrumented layout (imports,
// exports, func_shift) and the code entry's key; strings and lists are
// u32-length-prefixed. Decoding checks every length and enum: a record that
// does not parse is rejected (the module is then compiled normally).
//
// Threads: pure functions; the decode counter is atomic.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/types.h"

namespace arcella::engine {

struct ModuleMeta {
  Metering metering = Metering::kNone;
  std::vector<ImportDesc> imports;  // user-visible (Module::imports)
  std::vector<ExportDesc> exports;  // user-visible (Module::exports)
  std::vector<std::string> func_names;
  Module::Layout layout;  // the instrumented module's lists (Module::layout)
  std::string aot_key;    // cache key of the module's code entry (<aot_key>.so)
};

std::vector<uint8_t> EncodeModuleMeta(const ModuleMeta& meta);
// False if `bytes` is not a well-formed record (then `out` is unspecified).
bool DecodeModuleMeta(std::span<const uint8_t> bytes, ModuleMeta* out);

// Modules decoded (wasm parsed and validated by wabt) by Engine::Compile in
// this process, all Engines together. Tests use it to prove that a warm
// compile does not decode.
uint64_t ModuleDecodeCount();
void CountModuleDecode();  // engine-internal (module.cc)

}  // namespace arcella::engine
