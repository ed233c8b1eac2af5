// C++17 boundary around libwabt's interpreter.
//
// wabt 1.0.32's interp-inl.h does not compile as C++20 (template-id
// destructors, rejected by GCC 12 since DR 2237), so every file that
// includes wabt/interp/*.h is named src/engine/interp/wabt_*.cc and built as
// C++17 (see CMakeLists.txt). This header is the only thing the C++20 tier
// code (interp_backend.cc) sees of them: it uses no engine header except the
// C++17-clean trap.h.
//
// Stores and threading:
//   - A wabt Store is not thread-safe and its objects can only be referenced
//     from the store that owns them. An instance that imports no memory,
//     table or global from another instance gets a store group of its own, so
//     independent instances run in parallel on many threads.
//   - An instance importing none of them may be asked to join the group of a
//     given instance instead (InstanceOptions::store_with), so that a later
//     instance can import from both.
//   - An instance importing memories/tables/globals from other instances joins
//     their group; all such imports must come from ONE group, else
//     instantiation fails (kUnsupported). Function imports are host functions
//     (the facade wraps instance exports) and never join groups.
//   - Every entry into a group (call, instantiation, global get/set) holds the
//     group's recursive mutex: instances of one linked group serialise;
//     re-entry from a host function on the same thread is allowed.
//   - SetInterruptFlag takes no lock: it stores the 32-bit global atomically
//     while the guest reads it with a plain load (a benign, documented race).
// Values: funcref handles are (group id << 40 | wabt Ref index), valid only in
// the producing group; externrefs are wabt Foreign objects carrying the
// host's 64-bit payload, so ref.extern N round-trips through params, results,
// globals and tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/trap.h"

struct arcella_mem_budget;  // engine/rt/arcella_rt.h

namespace arcella::engine::interp::glue {

// Same enumerator order as engine::ValType (checked by interp_backend.cc).
enum class GType : uint8_t { kI32, kI64, kF32, kF64, kV128, kFuncRef, kExternRef };

struct GValue {
  GType type = GType::kI32;
  bool null = false;      // reference types
  uint8_t bits[16] = {};  // little-endian payload (i32/f32: 4 bytes, ...; ref: 8)
};

struct GTrap {
  Trap trap;
  int64_t func_index = -1;  // function (module numbering) where it happened
};

// A host function. `caller_user` is the user pointer of the calling instance
// (see Instantiate). `results` arrive presized and typed.
using GHostFn = std::function<std::optional<Trap>(
    void* caller_user, const std::vector<GValue>& args, std::vector<GValue>& results)>;

struct GFuncType {
  std::vector<GType> params, results;
};

class GInstance;

struct GImport {
  GHostFn fn;                 // functions
  GInstance* from = nullptr;  // memories, tables, globals
  uint32_t from_export = 0;
};

struct GLimits {
  uint64_t max_memory_bytes = 0;  // 0: 4 GiB
  // The Engine's memory budget that defined memories are charged to (null:
  // none); outlives the instance (the Engine does).
  arcella_mem_budget* budget = nullptr;
  uint32_t max_table_elements = 0;  // 0: no cap
  uint32_t max_stack_depth = 10'000;
};

class GModule;

// Reads a (validated) binary with WebAssembly 2.0 features incl. SIMD.
std::shared_ptr<GModule> LoadModule(const uint8_t* data, size_t size, std::string* error);
// Kind of each import: true for functions. And function import signatures.
std::vector<bool> ImportIsFunc(const GModule& m);
GFuncType ImportFuncType(const GModule& m, size_t import_index);

enum class InstantiateError { kNone, kInvalid, kUnsupported, kLimits, kTrap };

// Instantiates (imports, segments; not the start function). `user` is
// handed to host functions as caller_user when this instance calls them. An
// instance with no memory, table or global imports joins the group of
// `store_with` if given (else gets a group of its own). On failure returns
// null with *error and *kind set.
std::unique_ptr<GInstance> Instantiate(const GModule& m, const std::vector<GImport>& imports,
                                       const GLimits& limits, void* user, GInstance* store_with,
                                       std::string* error, InstantiateError* kind);

class GInstance {
 public:
  virtual ~GInstance() = default;
  // Runs the start function, if any (once, right after Instantiate).
  virtual std::optional<GTrap> RunStart() = 0;
  // Calls function export `export_index`; results are resized and typed.
  virtual std::optional<GTrap> Call(uint32_t export_index, const std::vector<GValue>& args,
                                    std::vector<GValue>* results) = 0;
  virtual GValue GetGlobal(uint32_t export_index) = 0;
  virtual void SetGlobal(uint32_t export_index, const GValue& v) = 0;
  // (data, byte size); {nullptr, 0} if none.
  virtual std::pair<uint8_t*, size_t> ExportedMemory(uint32_t export_index) = 0;
  virtual std::pair<uint8_t*, size_t> DefaultMemory() = 0;
  virtual void SetInterruptFlag(uint32_t export_index, uint32_t value) = 0;
};

// Maps a wabt trap message to a trap (kind + detail); kHostError if unknown.
Trap TrapFromMessage(const std::string& message);

}  // namespace arcella::engine::interp::glue
