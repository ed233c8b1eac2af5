// C++17, wabt side: the interpreter instance behind glue::GInstance.
//
// Limits: max_memory_bytes / max_table_elements lower the max of every
// DEFINED memory/table in a per-instance copy of the ModuleDesc (memory.grow /
// table.grow past it return -1; an initial size above the cap fails
// instantiation). max_stack_depth: a wabt Thread traps "call stack exhausted"
// when its frame vector is at capacity, so each call runs on a Thread whose
// frame capacity is the limit minus the frames already active on this OS
// thread (nested host->guest calls): depth N allows exactly N nested frames,
// one per wasm function entry (a host function called from wasm takes one
// too). The start function is run here, not by wabt, so it obeys the limit
// and a trap in it leaves a valid instance.
//
// Memory budget (GLimits::budget): the initial size of every defined memory
// is charged at instantiation and given back when the instance is freed.
// wabt's memory.grow has no hook, so growth is charged around calls: the
// outermost Run reserves what is left of the budget (up to each memory's
// max), lowers each defined memory's max to its size plus that reservation,
// and afterwards charges what the memories grew by and gives the rest back.
// The budget is thus never exceeded, but while an interpreter call runs,
// other instances of the Engine see nothing left. A defined memory grown
// through another instance that imports it is charged when its owner next
// runs or is freed.
#pragma once

#include <memory>
#include <vector>

#include "engine/interp/wabt_store.h"

namespace arcella::engine::interp::glue {

class GModule {
 public:
  wi::ModuleDesc desc;  // as read; limits are applied to per-instance copies
};

class InstanceImpl;

// State behind one imported host function. Shared with the wabt HostFunc,
// which may outlive the importing instance inside a shared table.
struct HostBinding {
  GHostFn fn;
  GFuncType type;
  uint32_t func_index = 0;           // import index = function index
  InstanceImpl* importer = nullptr;  // null once the importer is freed
  StoreGroup* group = nullptr;
};

class InstanceImpl final : public GInstance {
 public:
  InstanceImpl(std::shared_ptr<StoreGroup> group, void* user, uint32_t max_depth);
  ~InstanceImpl() override;

  std::optional<GTrap> RunStart() override;

  std::optional<GTrap> Call(uint32_t export_index, const std::vector<GValue>& args,
                            std::vector<GValue>* results) override;
  GValue GetGlobal(uint32_t export_index) override;
  void SetGlobal(uint32_t export_index, const GValue& v) override;
  std::pair<uint8_t*, size_t> ExportedMemory(uint32_t export_index) override;
  std::pair<uint8_t*, size_t> DefaultMemory() override;
  void SetInterruptFlag(uint32_t export_index, uint32_t value) override;

  // After wabt instantiation: remembers the instance, caches export objects.
  void Attach(wi::Instance::Ptr inst, std::optional<uint32_t> start);
  // Runs `func` on a fresh wabt Thread under the depth limit (lock held).
  std::optional<GTrap> Run(const wi::Func::Ptr& func, const wi::Values& params,
                           wi::Values* results);
  // Charges the initial sizes of the memories `desc` defines (after
  // `imported` imported ones) to `budget`; false with *error if one does not
  // fit. What was charged is given back by the destructor.
  bool ChargeMemories(arcella_mem_budget* budget, const wi::ModuleDesc& desc, size_t imported,
                      std::string* error);
  // Index of `func` in this instance's function space, or -1.
  int64_t FuncIndexOf(wi::Ref func) const;

  void* user() const { return user_; }
  const std::shared_ptr<StoreGroup>& group() const { return group_; }
  wi::Instance::Ptr& wabt_instance() { return inst_; }
  std::vector<std::shared_ptr<HostBinding>>& bindings() { return bindings_; }

 private:
  std::shared_ptr<StoreGroup> group_;
  void* user_;
  uint32_t max_depth_;
  std::optional<uint32_t> start_;  // start function index
  wi::Instance::Ptr inst_;
  std::vector<std::shared_ptr<HostBinding>> bindings_;
  std::vector<wi::Memory*> export_memories_;  // by export index, null if not a memory
  // Memory budget: defined memories and the pages charged for each.
  struct OwnedMemory {
    wi::Memory* memory = nullptr;  // set by Attach
    uint64_t charged_pages = 0;
    uint64_t max_pages = 0;  // after the instance limits
  };
  arcella_mem_budget* budget_ = nullptr;
  std::vector<OwnedMemory> owned_;
  uint32_t running_ = 0;  // nested Runs (group lock held)
  void ReserveGrowth();
  void SettleGrowth();
  std::vector<wi::Global*> export_globals_;  // by export index, null if not a global
  wi::Memory* memory0_ = nullptr;
};

// The wabt HostFunc callback of an imported host function.
wabt::Result CallHost(HostBinding& b, wi::Thread& thread, const wi::Values& params,
                      wi::Values& results, wi::Trap::Ptr* out_trap);

}  // namespace arcella::engine::interp::glue
