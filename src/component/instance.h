// A running component: the instantiated graph of a decoded component
// (ast.h) — its core module instances on one engine tier, nested components,
// lowered imports and lifted exports — and calls into its exports.
//
//   auto c = DecodeComponent(bytes);
//   Linker linker;  ... define the imports (linker.h, wasip2/wasi_p2.h) ...
//   auto inst = ComponentInstance::Create(engine, *c, linker, {.tier = engine::Tier::kAot});
//   auto out = (*inst)->Call("greet", {Val::String("world")});
//   // out: Result<CallResult>; out->trap set if the guest trapped
//
// Export names: a top-level function export by its name ("greet"); a
// function of an exported interface instance as "IFACE#NAME"
// ("wasi:cli/run@0.2.3#run", "my:app/api#[method]counter.get"). Exports of
// nested exported instances are reached the same way, by their full names.
//
// Limits: every core instance is created with the same options. Fuel is one
// pool shared by all core instances (ComponentOptions::limits.fuel is the
// total); the deadline applies to each top-level Call as a whole; Interrupt()
// stops whichever core instance runs; max_memory_bytes caps each memory.
//
// Errors: Create refuses a component whose imports the linker cannot
// satisfy before compiling anything, listing every unresolved or mistyped
// import (FailedPrecondition); compile errors and start traps are Status
// errors naming the core module or function. Call returns a Status for a
// wrong export name or arguments that do not match the parameter types
// (naming the path, like ValMatches), and a trap (guest trap, canonical ABI
// violation, exit, fuel, deadline, interrupt) in CallResult::trap. A trap
// poisons the instance (the spec's may_enter stays false, as in wasmtime):
// every later Call traps "cannot enter component instance: an earlier call
// trapped (...)"; make a new instance.
//
// Threads: one thread at a time calls into an instance (Call); Interrupt()
// from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "component/ast.h"
#include "component/linker.h"
#include "component/types.h"
#include "component/value.h"
#include "engine/engine.h"

namespace arcella::component {

struct ComponentOptions {
  engine::Tier tier = engine::Tier::kAuto;  // for every core module
  engine::InstanceLimits limits;            // see "Limits" above
  // Called when the shared fuel runs out; as InstanceOptions::on_out_of_fuel.
  std::function<uint64_t()> on_out_of_fuel;
};

struct CallResult {
  std::vector<Val> results;  // none or one; empty if trapped
  std::optional<engine::Trap> trap;
  bool ok() const { return !trap.has_value(); }
};

class ComponentInstance : public std::enable_shared_from_this<ComponentInstance> {
 public:
  static Result<std::shared_ptr<ComponentInstance>> Create(
      const std::shared_ptr<engine::Engine>& engine, std::shared_ptr<const Component> component,
      const Linker& linker, const ComponentOptions& options = {});
  ~ComponentInstance();

  // Every exported function, as the names Call takes, in export order.
  std::vector<std::string> ExportedFuncs() const;
  // The type of exported function `name`, or nullptr.
  const FuncType* FuncTypeOf(std::string_view name) const;
  // The exported resource type `name` ("IFACE#RES" or a top-level "RES"),
  // or null: Val::Own/Borrow handles of it pass through Call.
  ResourceRef ResourceTypeOf(std::string_view name) const;
  // Every exported resource type, by the names ResourceTypeOf takes.
  std::vector<std::pair<std::string, ResourceRef>> ExportedResources() const;

  Result<CallResult> Call(std::string_view name, std::vector<Val> args);

  // The host drops an own handle it holds of a resource this instance
  // implements (`rt` from ResourceTypeOf; `rep` as a Call result's
  // Val::Own carried it): the resource's destructor runs, if it has one, as
  // a Call does (deadline, fuel, a trap poisons). NotFound if this instance
  // does not implement `rt`.
  Result<CallResult> DropResource(const ResourceRef& rt, uint32_t rep);

  void Interrupt();
  // Fuel consumed by all core instances since creation.
  uint64_t fuel_consumed() const;
  // Refills the shared pool: the next Call has exactly `fuel` units (a
  // reactor's fuel per call). Between calls only. FailedPrecondition if the
  // instance was created without a fuel limit.
  Status SetFuel(uint64_t fuel);
  // True once a call trapped (every later Call traps; see "Errors").
  bool poisoned() const;

  struct Impl;  // instance-internal
  Impl& impl() { return *impl_; }

 private:
  explicit ComponentInstance(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arcella::component
