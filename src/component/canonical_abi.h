// The Canonical ABI of the Component Model (design/mvp/CanonicalABI.md):
// how component values (Val, typed by ValueType) move to and from core wasm
// values (engine::Value) and a guest's linear memory, and the state a
// component instance keeps for it (handle table, may_enter / may_leave).
//
//   SpanMemory mem(bytes);
//   CanonOptions opts{.encoding = StringEncoding::kUtf8, .memory = &mem,
//                     .realloc = my_realloc, .post_return = {}};
//   ComponentInstanceState inst;
//   LiftLowerContext cx(opts, &inst);
//   std::vector<engine::Value> flat;
//   auto trap = LowerFlat(cx, Val::String("hi"), *ValueType::String(), &flat);
//
// Scope: synchronous functions only (no async, stream, future,
// error-context, threads) and 32-bit memories. Lowered floats are
// canonicalised (the spec's deterministic profile), lifted NaNs too.
//
// Handles: a lifted own / borrow Val carries the resource's representation
// (the spec's `rep`, Val::u) and its type; lowering it makes a handle in the
// destination instance's table (or passes the rep to the instance that
// implements the resource, for a borrow). A host resource's rep is whatever
// index the host keeps for it.
//
// Errors: every rule the spec enforces with trap_if is an engine::Trap of
// kind kHostError whose message starts "canonical ABI: " and names the rule
// ("char 0xd800 is not a Unicode scalar value", "realloc returned misaligned
// pointer 0x3"). A Val that does not have the shape of its type (a host bug)
// traps the same way instead of crashing. Nothing here aborts on guest data.
//
// Memory: the ABI holds no pointer into linear memory across a realloc (or
// any guest call): it asks MemoryAccess::Bytes() again, since the memory may
// have grown. Allocation while lifting is bounded: list and string byte
// lengths by the spec's 2^28-1 limit and the memory's size, and the total
// number of Val nodes one lift makes by LiftLowerContext::max_lift_nodes.
//
// Threads: a context, an instance state and its handle table are used by one
// thread at a time (the thread running the component instance).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "component/abi_result.h"
#include "component/handle_table.h"
#include "component/types.h"
#include "component/value.h"
#include "engine/trap.h"
#include "engine/types.h"

namespace arcella::component {

// ---------------------------------------------------------------- options

// Where a lifted string came from; stored in Val::str_origin so that
// lowering it again makes the spec's realloc calls (whose sizes depend on the
// source encoding). Host-made strings are kUtf8.
enum class StringOrigin : uint8_t {
  kUtf8 = 0,
  kUtf16 = 1,
  kLatin1 = 2,             // latin1+utf16, latin1 form
  kLatin1Utf16Tagged = 3,  // latin1+utf16, utf16 form
};

// A guest's linear memory as the ABI sees it. Bytes() is called again after
// every realloc or guest call (the memory may grow and move).
class MemoryAccess {
 public:
  virtual ~MemoryAccess() = default;
  virtual std::span<uint8_t> Bytes() = 0;
};

// A MemoryAccess over bytes the caller owns (tests, host buffers).
class SpanMemory : public MemoryAccess {
 public:
  explicit SpanMemory(std::span<uint8_t> bytes) : bytes_(bytes) {}
  std::span<uint8_t> Bytes() override { return bytes_; }
  void Reset(std::span<uint8_t> bytes) { bytes_ = bytes; }

 private:
  std::span<uint8_t> bytes_;
};

// The guest's `realloc(old_ptr, old_size, align, new_size) -> ptr`; returns
// the pointer or the guest's trap.
using ReallocFn = std::function<TrapOr<uint32_t>(uint32_t old_ptr, uint32_t old_size,
                                                 uint32_t align, uint32_t new_size)>;
// The guest's `post-return`, called with the flat results of the call.
using PostReturnFn = std::function<MaybeTrap(std::span<const engine::Value> flat_results)>;

// The canonical options of one `canon lift` / `canon lower`. `memory` is not
// owned and must outlive every use; realloc / post_return may be empty when
// the function's types do not need them (validation guarantees it; a missing
// one traps when needed).
struct CanonOptions {
  StringEncoding encoding = StringEncoding::kUtf8;
  MemoryAccess* memory = nullptr;
  ReallocFn realloc = {};
  PostReturnFn post_return = {};
};

// ---------------------------------------------------------------- instance state

// The destructor of a resource type: a core function of the implementing
// instance (or the host) called with the representation.
using ResourceDtorFn = std::function<MaybeTrap(uint32_t rep)>;

class ComponentInstanceState;

// What `resource.drop` needs to know about a resource type.
struct ResourceImpl {
  ResourceRef type;
  ComponentInstanceState* impl = nullptr;  // the defining instance; null: the host
  ResourceDtorFn dtor = {};                // empty: no destructor
};

// A synchronous call into a lifted function (the spec's Task): the scope of
// the borrow handles lowered into the callee.
struct Task {
  uint64_t id = 0;
  uint32_t num_borrows = 0;  // borrow handles given to the callee and not dropped
};

// A synchronous call out through a lowered function (the spec's Subtask):
// the caller's handles lent to the callee as borrows while it runs.
struct Subtask {
  std::vector<uint32_t> lenders;  // indices in the caller's handle table
};

// The per-instance state of the spec's ComponentInstance. The instantiation
// code makes one per component instance (with its parent for nested ones),
// registers the resource types the instance defines, and checks/sets the
// flags around every call as the spec does (CanonLift/CanonLower below do it).
class ComponentInstanceState {
 public:
  explicit ComponentInstanceState(ComponentInstanceState* parent = nullptr) : parent_(parent) {}
  ComponentInstanceState(const ComponentInstanceState&) = delete;
  ComponentInstanceState& operator=(const ComponentInstanceState&) = delete;

  HandleTable& handles() { return handles_; }
  const HandleTable& handles() const { return handles_; }
  ComponentInstanceState* parent() const { return parent_; }

  // False while this instance runs (sync: no reentrance).
  bool may_enter = true;
  // False while its realloc or post-return runs: it may not call out then.
  bool may_leave = true;

  // The spec's entering set: this instance and its ancestors, minus the
  // caller's (null caller: the host).
  bool MayEnterFrom(const ComponentInstanceState* caller) const;
  void EnterFrom(const ComponentInstanceState* caller);
  void LeaveTo(const ComponentInstanceState* caller);

  // Resource types this instance defines (`cx.inst is t.rt.impl`).
  void DefineResource(const ResourceType* rt) { defined_.push_back(rt); }
  bool Implements(const ResourceType* rt) const;

  // Tasks of calls into this instance, innermost last.
  Task* BeginTask();
  void EndTask(Task* task);
  Task* FindTask(uint64_t id);

 private:
  ComponentInstanceState* parent_;
  HandleTable handles_;
  std::vector<const ResourceType*> defined_;
  std::vector<std::unique_ptr<Task>> tasks_;
  uint64_t next_task_id_ = 1;
};

// ---------------------------------------------------------------- context

// The spec's LiftLowerContext: options, instance, and the borrow scope (a
// Task when lowering into a lifted callee, a Subtask when lifting a lowered
// call's arguments). Not owned; all must outlive the context.
struct LiftLowerContext {
  LiftLowerContext(const CanonOptions& o, ComponentInstanceState* i) : opts(&o), inst(i) {}
  const CanonOptions* opts;
  ComponentInstanceState* inst;
  Task* task = nullptr;
  Subtask* subtask = nullptr;
  // Lifting stops with a trap past this many Val nodes (hostile lengths).
  uint64_t max_lift_nodes = uint64_t{1} << 24;
  uint64_t lift_nodes = 0;
};

// ---------------------------------------------------------------- layout

inline constexpr uint32_t kMaxFlatParams = 16;
inline constexpr uint32_t kMaxFlatResults = 1;

// Computed once per type node (ValueType::abi_layout) and then read.
uint32_t AlignOf(const ValueType& t);
uint32_t SizeOf(const ValueType& t);  // the spec's elem_size
// Appends the core types `t` flattens to (variants joined). Stops past 4096
// values (any count past 16 spills anyway), so hostile types stay cheap.
void Flatten(const ValueType& t, std::vector<engine::ValType>* out);
// The number of core values `t` flattens to (len(flatten_type)), capped at
// 4097; computed once per type node, without allocating.
uint32_t FlatCount(const ValueType& t);
// Bytes of the discriminant of a variant with `n` cases (1, 2 or 4).
uint32_t DiscriminantSize(size_t n);

enum class FlattenContext : uint8_t { kLift, kLower };
// The core signature of a function lifted (`canon lift`) or lowered (`canon
// lower`) with these types: params past 16 flat values become one pointer;
// results past 1 become a returned pointer (lift) or a trailing out-pointer
// parameter (lower).
engine::FuncType FlattenFuncType(const FuncType& ft, FlattenContext context);

// ---------------------------------------------------------------- values

// Loads a value of type `t` at `ptr` (aligned and in bounds, else a trap).
TrapOr<Val> Load(LiftLowerContext& cx, uint32_t ptr, const ValueType& t);
// Stores `v` at `ptr` (aligned and in bounds, else a trap), calling realloc
// for strings and lists.
MaybeTrap Store(LiftLowerContext& cx, const Val& v, const ValueType& t, uint32_t ptr);

// Reads core values in order, checking their types (the spec's CoreValueIter).
class FlatReader {
 public:
  explicit FlatReader(std::span<const engine::Value> values) : values_(values) {}
  TrapOr<engine::Value> Next(engine::ValType want);
  bool done() const { return i_ == values_.size(); }

 private:
  std::span<const engine::Value> values_;
  size_t i_ = 0;
};

TrapOr<Val> LiftFlat(LiftLowerContext& cx, FlatReader& in, const ValueType& t);
MaybeTrap LowerFlat(LiftLowerContext& cx, const Val& v, const ValueType& t,
                    std::vector<engine::Value>* out);

// The spec's lift_flat_values / lower_flat_values over a list of types:
// past `max_flat` flat values the values travel in memory as a tuple, at a
// pointer read from `in` (lift), allocated with realloc (lower without
// out_param), or read from `out_param` (lower of results of `canon lower`).
TrapOr<std::vector<Val>> LiftFlatValues(LiftLowerContext& cx, uint32_t max_flat, FlatReader& in,
                                        std::span<const TypeRef> types);
MaybeTrap LowerFlatValues(LiftLowerContext& cx, uint32_t max_flat, std::span<const Val> vals,
                          std::span<const TypeRef> types, std::vector<engine::Value>* out,
                          FlatReader* out_param = nullptr);

// Function-level helpers. Caller side of a lifted export (the host or
// another component calls into the guest): LowerFuncArgs then, after the
// core call, LiftFuncResults. Callee side of a lowered import (the guest
// calls the host): LiftFuncArgs then LowerFuncResults (which writes through
// the trailing out-pointer when results spill).
MaybeTrap LowerFuncArgs(LiftLowerContext& cx, const FuncType& ft, std::span<const Val> args,
                        std::vector<engine::Value>* flat_args);
TrapOr<std::vector<Val>> LiftFuncResults(LiftLowerContext& cx, const FuncType& ft,
                                         std::span<const engine::Value> flat_results);
TrapOr<std::vector<Val>> LiftFuncArgs(LiftLowerContext& cx, const FuncType& ft,
                                      FlatReader& flat_args);
MaybeTrap LowerFuncResults(LiftLowerContext& cx, const FuncType& ft, std::span<const Val> results,
                           FlatReader& flat_args, std::vector<engine::Value>* flat_results);

// ---------------------------------------------------------------- calls

// A component-level function (the spec's FuncInst, synchronous): it calls
// on_start for its arguments, runs, and hands its results to on_resolve
// before it cleans up (post-return). `caller` is the calling instance, null
// for the host.
using OnStart = std::function<TrapOr<std::vector<Val>>()>;
using OnResolve = std::function<MaybeTrap(std::vector<Val> results)>;
using FuncInst = std::function<MaybeTrap(ComponentInstanceState* caller, const OnStart& on_start,
                                         const OnResolve& on_resolve)>;
// A core function: writes its results.
using CoreFn = std::function<MaybeTrap(std::span<const engine::Value> args,
                                       std::vector<engine::Value>* results)>;

// `canon lift`: a component function over core function `callee` of `inst`
// (the spec's Store.lift + canon_lift): reentrance check, arguments lowered
// into the callee, results lifted, borrows checked, post-return called.
// opts and inst must outlive the returned function.
FuncInst CanonLift(CoreFn callee, FuncType ft, const CanonOptions* opts,
                   ComponentInstanceState* inst);
// `canon lower`: the core function body that calls `callee` for guest `inst`
// (arguments lifted from flat_args, results lowered).
TrapOr<std::vector<engine::Value>> CanonLower(const FuncInst& callee, const FuncType& ft,
                                              const CanonOptions& opts,
                                              ComponentInstanceState* inst,
                                              std::span<const engine::Value> flat_args);
// A FuncInst implemented by the host.
using HostComponentFn = std::function<TrapOr<std::vector<Val>>(std::vector<Val> args)>;
FuncInst HostFuncInst(HostComponentFn fn);
// The host calls `f` (the spec's Store.invoke).
TrapOr<std::vector<Val>> InvokeFunc(const FuncInst& f, std::vector<Val> args);

// The resource built-ins, run on behalf of guest instance `inst`.
TrapOr<uint32_t> CanonResourceNew(ComponentInstanceState* inst, const ResourceRef& rt,
                                  uint32_t rep);
MaybeTrap CanonResourceDrop(ComponentInstanceState* inst, const ResourceImpl& rt, uint32_t index);
TrapOr<uint32_t> CanonResourceRep(ComponentInstanceState* inst, const ResourceRef& rt,
                                  uint32_t index);

}  // namespace arcella::component
