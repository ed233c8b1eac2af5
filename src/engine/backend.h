// Engine-internal interface between the facade (engine.cc) and the tiers
// (aot/, interp/). Not part of the public API.
//
// The facade decodes, validates and instruments a module, then hands the
// instrumented binary plus its full import/export lists to a tier. Indices
// below (imports, exports, functions) are those of the INSTRUMENTED module.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"

namespace wabt {
struct Module;
}

namespace arcella::engine {

// Names the instrumentation adds (see instrument.h).
inline constexpr const char* kMeterModule = "arcella_rt";
inline constexpr const char* kMeterCheck = "check";                     // func () -> ()
inline constexpr const char* kFuelExport = "__arcella_fuel";            // global mut i64
inline constexpr const char* kInterruptExport = "__arcella_interrupt";  // global mut i32

struct BackendInput {
  std::vector<uint8_t> wasm;        // instrumented, valid binary
  std::vector<ImportDesc> imports;  // in import order
  std::vector<ExportDesc> exports;  // in export order
  bool uses_simd = false;
  std::string hash;  // sha256 hex of `wasm`
  // Optional: the validated IR `wasm` was encoded from (or decoded from),
  // handed over so the AOT tier need not decode it again. The tier renames
  // its items and frees function bodies while generating C: nobody may use
  // it afterwards. Null: the tier decodes `wasm` itself.
  std::shared_ptr<wabt::Module> ir;
};

// A trap as a tier reports it. `func_index` is the index (instrumented
// numbering, imports included) of the function that trapped, or -1.
struct BackendTrap {
  Trap trap;
  int64_t func_index = -1;
};

// One resolved import, in the module's import order.
struct BoundImport {
  // Functions: always a host function (instance exports are wrapped by the
  // facade). `caller_fn` receives the importing instance's Caller.
  const HostFunc* fn = nullptr;
  FuncType type;
  // Memories, tables, globals: an export of another instance of the same tier.
  InstanceBackend* from = nullptr;
  uint32_t from_export = 0;  // export index in `from`'s module
};

class ModuleBackend {
 public:
  virtual ~ModuleBackend() = default;
  virtual Tier tier() const = 0;
  // `owner` is the facade Instance (for Caller::instance()). Applies
  // limits.max_memory_bytes / max_table_elements / max_stack_depth. A trap in
  // the start function is returned in `start_trap` with a valid instance.
  virtual Result<std::unique_ptr<InstanceBackend>> Instantiate(
      const std::vector<BoundImport>& imports, const InstanceLimits& limits, Instance* owner,
      std::optional<BackendTrap>* start_trap) = 0;
};

class InstanceBackend {
 public:
  virtual ~InstanceBackend() = default;
  // Calls function export `export_index`. `args` match its params (checked
  // by the facade); `results` is presized with the result types.
  virtual std::optional<BackendTrap> Call(uint32_t export_index, std::span<const Value> args,
                                          std::span<Value> results) = 0;
  virtual Value GetGlobal(uint32_t export_index) = 0;
  virtual void SetGlobal(uint32_t export_index, const Value& v) = 0;
  // Exported memory's bytes; `DefaultMemory` is memory 0 (imported or defined).
  virtual std::span<uint8_t> ExportedMemory(uint32_t export_index) = 0;
  virtual std::span<uint8_t> DefaultMemory() = 0;
  // Fast paths for the metering globals (export indices found by the facade).
  // Set/clear the interrupt flag: safe from any thread.
  virtual void SetInterruptFlag(uint32_t export_index, uint32_t value) = 0;
};

// Decodes, validates, instruments (options.metering) and compiles `wasm` at
// options.tier (kAuto: AOT if `aot_available` and no SIMD). `options` is
// complete (filled from the EngineConfig); `hash` is sha256 hex of `wasm`.
// The caller (Engine::Compile) sets the module's engine.
Result<std::shared_ptr<Module>> CompileModule(std::span<const uint8_t> wasm,
                                              const CompileOptions& options, bool aot_available,
                                              std::string hash);

// Tier entry points (aot/aot_backend.cc, interp/interp_backend.cc).
Result<std::shared_ptr<ModuleBackend>> CompileAot(const BackendInput& input,
                                                  const CompileOptions& options);
Result<std::shared_ptr<ModuleBackend>> CompileInterp(const BackendInput& input);

}  // namespace arcella::engine
