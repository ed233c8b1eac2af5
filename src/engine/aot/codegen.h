// AOT code generation: instrumented wasm -> one C translation unit.
//
// The module is translated with wabt's wasm2c writer after renaming every
// import to ("h", "f<i>"), every export to "e<i>" and every function to
// "$f<index>", so the C symbols are predictable. Glue appended to the same
// unit gives the engine fixed entry points (see the ABI comment in
// rt/include/wasm-rt.h and GenerateC() below).
#pragma once

#include <string>

#include "common/status.h"
#include "engine/backend.h"

namespace arcella::engine::aot {

struct GeneratedC {
  std::string c;  // m.c: includes "m.h"
  std::string h;  // m.h
};

// Glue entry points exported by the generated code (all extern "C"):
//   uint32_t arcella_instance_size(void);
//   void     arcella_init_module(void);
//   void     arcella_instantiate(void* inst, uint64_t* slots); // slots[0] = host ctx
//   void     arcella_free(void* inst);
//   wasm_rt_memory_t* arcella_memory0(void* inst);              // NULL if none
//   void*    arcella_export_ptr(void* inst, uint32_t export_index); // non-func
//   arcella_entry_fn arcella_export_fn(uint32_t export_index);  // func wrappers
//   const char* arcella_cache_key(void);
// A function wrapper reads params from slots[0..] and writes results to
// slots[0..] (f32 as bits in the low word, refs as boxes, see aot_values).
Result<GeneratedC> GenerateC(const BackendInput& input, const std::string& cache_key);

}  // namespace arcella::engine::aot
