// The AOT tier's ModuleBackend / InstanceBackend (see engine/backend.h).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/aot/compiler.h"
#include "engine/backend.h"

namespace arcella::engine::aot {

class AotModule;

// Warm start: the module of cache entry `<key>.so` with the instrumented
// module's import/export lists (from its metadata record), loaded without
// compiling. Null if the cache has no valid entry for `key`.
Result<std::shared_ptr<ModuleBackend>> LoadAot(const std::string& key,
                                               std::vector<ImportDesc> imports,
                                               std::vector<ExportDesc> exports,
                                               const CompileOptions& options);
// The cache key of an AOT module's code entry; null for other tiers.
const std::string* AotKeyOf(const ModuleBackend& backend);
// The loaded object of an AOT module; null for other tiers.
const LoadedObject* AotObjectOf(const ModuleBackend& backend);
// The module of an object loaded without a cache (LoadSealedEntry), with the
// instrumented module's import/export lists (from its metadata record).
std::shared_ptr<ModuleBackend> MakeAotModule(std::shared_ptr<LoadedObject> obj,
                                             std::vector<ImportDesc> imports,
                                             std::vector<ExportDesc> exports);

class AotInstance final : public InstanceBackend {
 public:
  AotInstance(std::shared_ptr<const AotModule> module, const InstanceLimits& limits,
              Instance* owner);
  ~AotInstance() override;

  std::optional<BackendTrap> Call(uint32_t export_index, std::span<const Value> args,
                                  std::span<Value> results) override;
  Value GetGlobal(uint32_t export_index) override;
  void SetGlobal(uint32_t export_index, const Value& v) override;
  std::span<uint8_t> ExportedMemory(uint32_t export_index) override;
  std::span<uint8_t> DefaultMemory() override;
  void SetInterruptFlag(uint32_t export_index, uint32_t value) override;

  // Address of a non-function export's runtime object (wasm_rt_memory_t,
  // table struct, or global storage): what importers of it link to.
  void* ExportPtr(uint32_t export_index) const;

  // Engine-internal: binds imports and runs the module's instantiation.
  Status Init(const std::vector<BoundImport>& imports, std::optional<BackendTrap>* start_trap);

 private:
  static int HostDispatch(void* self, uint32_t import_index, uint64_t* slots);
  std::optional<BackendTrap> TrapFromCode(int code);
  // The error of an instantiation the runtime stopped with
  // WASM_RT_TRAP_RESOURCE: names the memory or table (wasm index) and its
  // initial size against the cap, like the interpreter tier.
  Status AllocFailure(const arcella_alloc_failure_t& f) const;
  int Invoke(arcella_entry_fn fn, uint64_t* slots);

  std::shared_ptr<const AotModule> module_;
  InstanceLimits limits_;
  Instance* owner_;
  void* inst_ = nullptr;                   // Z_m_instance_t
  arcella_host_ctx_t* ctx_ = nullptr;      // what the module sees as its import
  std::vector<const HostFunc*> host_fns_;  // by import index
  bool instantiated_ = false;
};

}  // namespace arcella::engine::aot
