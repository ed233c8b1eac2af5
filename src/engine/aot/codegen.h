// AOT code generation: instrumented wasm -> C translation units on disk.
//
// The input is `input.ir` when the facade handed its IR over (consumed:
// renamed, debug names dropped, function bodies freed as their C is
// written), else a decode of `input.wasm`; both give the same C. The module
// is translated with wabt's wasm2c writer after renaming every
// import to ("h", "f<i>"), every export to "e<i>", every function to
// "$f<index>", global to "$g<index>" and data segment to "$d<index>", so the
// C symbols are predictable. The C text streams through a CSplitter
// (c_split.h) into shared.h, function units u<k>.c and a main unit, to
// which glue is appended that gives the engine fixed entry points (see the
// ABI comment in rt/include/wasm-rt.h and below). Data segments are not C:
// they are returned as a blob (data_blob.h), and active ones are taken out
// of the IR before wasm2c runs, their loads written by the engine
// (active_data.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/aot/c_split.h"
#include "engine/backend.h"

namespace arcella::engine::aot {

struct SplitHooks {
  std::string dir;  // existing private folder for the C files
  uint64_t unit_budget = 4 << 20;
  // Called on the generating thread as the split proceeds (see CSplitter);
  // an error stops generation and is returned.
  std::function<Status(const std::string& header_digest)> on_header;
  std::function<Status(const CUnit&)> on_unit;
};

struct GeneratedModule {
  std::vector<CUnit> units;   // function units, all already passed to on_unit
  std::string main_path;      // <dir>/main.c
  std::vector<uint8_t> data;  // the data blob
  uint32_t data_segments = 0;
};

// Glue entry points exported by the main unit (all extern "C"):
//   uint32_t arcella_instance_size(void);
//   void     arcella_init_module(void);
//   void     arcella_instantiate(void* inst, uint64_t* slots); // slots[0] = host ctx
//   void     arcella_free(void* inst);
//   wasm_rt_memory_t* arcella_memory0(void* inst);              // NULL if none
//   void*    arcella_export_ptr(void* inst, uint32_t export_index); // non-func
//   arcella_entry_fn arcella_export_fn(uint32_t export_index);  // func wrappers
//   const char* arcella_cache_key(void);
//   const u8* arcella_data_segments[];     // filled by the loader from the blob
//   uint32_t arcella_data_segment_count(void);
// A function wrapper reads params from slots[0..] and writes results to
// slots[0..] (f32 as bits in the low word, refs as boxes, see aot_values).
Result<GeneratedModule> GenerateSplitC(const BackendInput& input, const std::string& cache_key,
                                       const SplitHooks& hooks);

}  // namespace arcella::engine::aot
