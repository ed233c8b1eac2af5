// Instance-internal: the run-time index spaces a component instantiation
// builds while replaying Component::defs (instance_replay.cc), the import
// resolution against a Linker (instance_imports.cc) and ComponentInstance's
// state (instance.cc). Not part of the public API.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "component/abi_engine.h"
#include "component/canonical_abi.h"
#include "component/instance.h"

namespace arcella::component::inst {

// A core function made by the instantiation (canon lower, resource.*).
struct HostCore {
  engine::FuncType type;
  std::function<MaybeTrap(std::span<const engine::Value> args, std::span<engine::Value> results)>
      fn;
};

// A core func, table, memory or global: an export of an engine instance, or
// a host-made core function.
struct CoreItem {
  engine::ExternKind kind = engine::ExternKind::kFunc;
  std::shared_ptr<engine::Instance> inst;
  std::string name;
  std::shared_ptr<HostCore> host;
};

// A core instance: an instantiated module, or a bag of inline exports.
struct CoreInst {
  std::shared_ptr<engine::Instance> inst;
  std::vector<std::pair<std::string, CoreItem>> bag;
};

struct CompFunc {
  FuncType type;  // resources are run-time resources
  FuncInst fn;
};

struct RtInstance;
struct RtComponent;

// An entry of a component-level index space.
struct RtItem {
  Sort sort = Sort::kFunc;
  std::shared_ptr<CompFunc> func;                // kFunc
  TypeDefRef type;                               // kType (as decoded)
  ResourceRef resource;                          // kType that is a resource: the run-time one
  std::shared_ptr<RtInstance> instance;          // kInstance
  std::shared_ptr<RtComponent> component;        // kComponent
  std::shared_ptr<const engine::Module> module;  // kCoreModule
  const Component* module_owner = nullptr;       // kCoreModule not compiled yet: its component
  uint32_t module_index = 0;
};

struct RtInstance {
  std::vector<std::pair<std::string, RtItem>> items;  // export order
  const RtItem* Find(std::string_view name) const {
    for (const auto& [n, it] : items)
      if (n == name) return &it;
    return nullptr;
  }
};

using ResourceMap = std::map<const ResourceType*, ResourceRef>;

struct Frame;

struct RtComponent {
  std::shared_ptr<const Component> c;
  Frame* outer = nullptr;  // where it was defined (outer aliases)
};

// One component's index spaces while (and after) it is instantiated.
struct Frame {
  const Component* c = nullptr;
  Frame* outer = nullptr;
  ComponentInstanceState* state = nullptr;
  ResourceMap rmap;  // decoded resource node -> run-time resource
  std::vector<RtItem> modules;
  std::vector<std::shared_ptr<CoreInst>> core_instances;
  std::vector<CoreItem> core_funcs, core_tables, core_memories, core_globals;
  std::vector<RtItem> funcs, types, components, instances;
  size_t core_types = 0;
  const std::map<std::string, RtItem>* args = nullptr;  // imports (by name)
  std::shared_ptr<RtInstance> exports = std::make_shared<RtInstance>();
};

TypeRef SubstType(const TypeRef& t, const ResourceMap& m);
FuncType SubstFunc(const FuncType& f, const ResourceMap& m);

}  // namespace arcella::component::inst

namespace arcella::component {

struct ComponentInstance::Impl {
  std::shared_ptr<engine::Engine> engine;
  std::shared_ptr<const Component> component;
  ComponentOptions options;
  engine::Tier tier = engine::Tier::kAuto;

  std::vector<std::unique_ptr<ComponentInstanceState>> states;
  std::vector<std::unique_ptr<CanonOptions>> canon_opts;
  std::vector<std::unique_ptr<InstanceMemory>> memories;
  std::vector<std::shared_ptr<engine::Instance>> cores;  // every core instance
  std::vector<std::unique_ptr<inst::Frame>> frames;
  // Every run-time resource type this instance knows: who implements it.
  std::map<const ResourceType*, ResourceImpl> resource_impls;
  // Top-level imports resolved from the linker.
  std::map<std::string, inst::RtItem> imports;
  // Core and component instances made so far (nested instantiation can
  // multiply them: bounded by kMaxInstances).
  uint64_t instances_made = 0;
  static constexpr uint64_t kMaxInstances = 10'000;
  Status CountInstance(const std::string& what);

  // Calls running (a host function may call back in): the deadline and the
  // clearing of interrupts belong to the outermost one.
  int call_depth = 0;
  // Set by the first call that trapped: the instance may not be entered
  // again (the spec's may_enter stays false after a trap; wasmtime likewise).
  std::optional<std::string> poisoned;

  // Fuel: one pool shared by the core instances.
  bool fuel_limited = false;
  uint64_t fuel_pool = 0;
  uint64_t Refill(engine::Instance& running);

  // Exports.
  std::vector<std::string> func_order;
  std::map<std::string, std::shared_ptr<inst::CompFunc>, std::less<>> funcs;
  std::map<std::string, ResourceRef, std::less<>> resources;

  // Import resolution (instance_imports.cc): fills `imports` or returns the
  // FailedPrecondition listing every problem.
  Status ResolveImports(const Linker& linker);
  // Replays `f->c` (instance_replay.cc).
  Status Replay(inst::Frame* f);
  Result<std::shared_ptr<const engine::Module>> CompileModule(const Component& c, uint32_t index);
  Result<std::shared_ptr<engine::Instance>> Instantiate(std::shared_ptr<const engine::Module> m,
                                                        const engine::Linker& linker);
  void CollectExports(const std::string& prefix, const inst::RtInstance& in);
  // A host's call into the instance (Call, DropResource): the poisoned
  // check, the deadline of the outermost call, interrupts cleared after it,
  // poisoning on a trap.
  CallResult RunOutermost(std::string_view name,
                          const std::function<TrapOr<std::vector<Val>>()>& run);
};

}  // namespace arcella::component
