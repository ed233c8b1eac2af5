// `canon lift` and `canon lower` for synchronous functions: the call
// protocol around lifting and lowering (CanonicalABI.md "canon lift",
// "canon lower", Store.lift / Store.invoke): reentrance, may_leave,
// borrows at the end of a call, post-return.
#include <string>
#include <utility>

#include "component/abi_internal.h"

namespace arcella::component {

using engine::Value;

namespace {

// Restores instance state on every path out of a call.
class EnterGuard {
 public:
  EnterGuard(ComponentInstanceState* inst, ComponentInstanceState* caller)
      : inst_(inst), caller_(caller) {
    inst_->EnterFrom(caller_);
    task_ = inst_->BeginTask();
  }
  ~EnterGuard() {
    inst_->EndTask(task_);
    inst_->LeaveTo(caller_);
  }
  EnterGuard(const EnterGuard&) = delete;
  EnterGuard& operator=(const EnterGuard&) = delete;
  Task* task() const { return task_; }

 private:
  ComponentInstanceState* inst_;
  ComponentInstanceState* caller_;
  Task* task_;
};

}  // namespace

FuncInst CanonLift(CoreFn callee, FuncType ft, const CanonOptions* opts,
                   ComponentInstanceState* inst) {
  uint64_t flat_params = 0;  // of the core function: one pointer past kMaxFlatParams
  for (const Field& p : ft.params) flat_params += FlatCount(*p.type);
  if (flat_params > kMaxFlatParams) flat_params = 1;
  return [callee = std::move(callee), ft = std::move(ft), opts, inst,
          flat_params](ComponentInstanceState* caller, const OnStart& on_start,
                       const OnResolve& on_resolve) -> MaybeTrap {
    if (!inst->MayEnterFrom(caller))
      return AbiTrap("cannot enter a component instance that is already running (reentrance)");
    EnterGuard guard(inst, caller);
    LiftLowerContext cx(*opts, inst);
    cx.task = guard.task();
    auto args = on_start();
    if (!args.ok()) return args.take_trap();
    std::vector<Value> flat_args;
    flat_args.reserve(flat_params);  // one allocation
    if (auto t = LowerFuncArgs(cx, ft, args.value(), &flat_args)) return t;
    std::vector<Value> flat_results;
    if (auto t = callee(flat_args, &flat_results)) return t;
    auto results = LiftFuncResults(cx, ft, flat_results);
    if (!results.ok()) return results.take_trap();
    if (cx.task->num_borrows > 0)
      return AbiTrap(std::to_string(cx.task->num_borrows) +
                     " borrow handle(s) passed to the call were not dropped before it returned");
    if (auto t = on_resolve(std::move(results).value())) return t;
    if (opts->post_return) {
      inst->may_leave = false;
      MaybeTrap t = opts->post_return(flat_results);
      inst->may_leave = true;
      if (t) return t;
    }
    return std::nullopt;
  };
}

TrapOr<std::vector<Value>> CanonLower(const FuncInst& callee, const FuncType& ft,
                                      const CanonOptions& opts, ComponentInstanceState* inst,
                                      std::span<const Value> flat_args) {
  if (!inst->may_leave)
    return AbiTrap("a component instance called an import during realloc or post-return "
                   "(may_leave is false)");
  // The number of core parameters of FlattenFuncType(ft, kLower), counted.
  uint64_t params = 0;
  for (const Field& p : ft.params) params += FlatCount(*p.type);
  const uint64_t core_params = (params > kMaxFlatParams ? 1 : params) +
                               (ft.result && FlatCount(*ft.result) > kMaxFlatResults ? 1 : 0);
  if (core_params != flat_args.size())
    return AbiTrap("lowered function takes " + std::to_string(core_params) + " core values, got " +
                   std::to_string(flat_args.size()));
  Subtask subtask;
  LiftLowerContext cx(opts, inst);
  cx.subtask = &subtask;
  // The callbacks' state behind one pointer, which std::function keeps
  // without allocating.
  struct State {
    LiftLowerContext& cx;
    const FuncType& ft;
    FlatReader in;
    std::vector<Value> flat_results;
    bool resolved = false;
  } st{cx, ft, FlatReader(flat_args), {}, false};
  OnStart on_start = [s = &st]() { return LiftFuncArgs(s->cx, s->ft, s->in); };
  OnResolve on_resolve = [s = &st](std::vector<Val> results) -> MaybeTrap {
    s->resolved = true;
    return LowerFuncResults(s->cx, s->ft, results, s->in, &s->flat_results);
  };
  MaybeTrap t = callee(inst, on_start, on_resolve);
  // The callee has returned: the caller's lent handles are free again.
  for (uint32_t i : subtask.lenders) {
    auto h = inst->handles().Get(i);
    if (h.ok() && h.value()->num_lends > 0) h.value()->num_lends--;
  }
  if (t) return *t;
  if (!st.resolved) return AbiTrap("the called function returned no results");
  return std::move(st.flat_results);
}

FuncInst HostFuncInst(HostComponentFn fn) {
  return [fn = std::move(fn)](ComponentInstanceState*, const OnStart& on_start,
                              const OnResolve& on_resolve) -> MaybeTrap {
    auto args = on_start();
    if (!args.ok()) return args.take_trap();
    auto results = fn(std::move(args).value());
    if (!results.ok()) return results.take_trap();
    return on_resolve(std::move(results).value());
  };
}

TrapOr<std::vector<Val>> InvokeFunc(const FuncInst& f, std::vector<Val> args) {
  std::vector<Val> out;
  bool resolved = false;
  MaybeTrap t = f(
      nullptr, [&]() -> TrapOr<std::vector<Val>> { return std::move(args); },
      [&](std::vector<Val> results) -> MaybeTrap {
        out = std::move(results);
        resolved = true;
        return std::nullopt;
      });
  if (t) return *t;
  if (!resolved) return AbiTrap("the called function returned no results");
  return out;
}

}  // namespace arcella::component
