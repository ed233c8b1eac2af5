// Instance: import resolution, metering (fuel, deadlines, interrupts), calls.
#include <atomic>
#include <climits>
#include <mutex>

#include "engine/backend.h"
#include "engine/deadline.h"
#include "engine/engine.h"

namespace arcella::engine {

void* Caller::user_data() { return instance().user_data(); }

// Engine-internal state of an instance: bound host functions (owned copies)
// and metering.
struct Instance::MeterState {
  std::vector<HostFunc> host_funcs;               // reserved up front: addresses stay stable
  std::vector<std::shared_ptr<Instance>> linked;  // keep importees alive
  int64_t fuel_export = -1;
  int64_t interrupt_export = -1;
  bool fuel_initialized = false;
  uint64_t fuel_added = 0;  // initial fuel + refills
  bool unlimited_fuel = true;
  std::atomic<bool> user_interrupt{false};
  std::atomic<bool> deadline_fired{false};
  // The tier's instance, known from just before the start function runs
  // (backend_ is set only once Instantiate returns).
  std::atomic<InstanceBackend*> attached{nullptr};
};

namespace {

constexpr int64_t kUnlimitedFuel = INT64_MAX / 2;

bool ValueMatches(const Value& v, ValType t) { return v.type == t; }

std::string TypesOf(std::span<const Value> vs) {
  std::string s = "(";
  for (size_t i = 0; i < vs.size(); ++i) {
    if (i) s += ", ";
    s += ValTypeName(vs[i].type);
  }
  return s + ")";
}

std::string DescribeExtern(const ExternDesc& d) {
  switch (d.kind) {
    case ExternKind::kFunc: return "func " + d.func.ToString();
    case ExternKind::kGlobal:
      return std::string("global ") + (d.mut ? "mut " : "") + ValTypeName(d.value_type);
    case ExternKind::kMemory: return "memory";
    case ExternKind::kTable: return std::string("table ") + ValTypeName(d.value_type);
    case ExternKind::kTag: return "tag";
  }
  return "?";
}

// Import subtyping for limits (spec: import matching).
bool LimitsMatch(const Limits& actual, const Limits& required) {
  if (actual.min < required.min) return false;
  if (required.has_max) {
    if (!actual.has_max || actual.max > required.max) return false;
  }
  return true;
}

}  // namespace

class MeteringAccess {
 public:
  // Runs function export `idx` (args already checked, results presized with
  // their types) under the instance's deadline, and names the trapping
  // function. No syscall or lock unless a deadline is set.
  static std::optional<Trap> RunExport(Instance& inst, uint32_t idx, std::span<const Value> args,
                                       std::span<Value> results) {
    Instance::MeterState& m = *inst.meter_;
    InstanceBackend* b = inst.meter_->attached.load();
    uint64_t token = 0;
    if (inst.options_.limits.deadline.count() > 0 && m.interrupt_export >= 0) {
      m.deadline_fired.store(false);
      auto when = DeadlineWatchdog::Clock::now() + inst.options_.limits.deadline;
      auto flag = static_cast<uint32_t>(m.interrupt_export);
      token = inst.module_->engine()->watchdog().Arm(when, [&m, b, flag] {
        m.deadline_fired.store(true);
        b->SetInterruptFlag(flag, 1);
      });
    }
    std::optional<BackendTrap> trap = b->Call(idx, args, results);
    if (token) {
      inst.module_->engine()->watchdog().Cancel(token);
      if (m.deadline_fired.exchange(false) && !m.user_interrupt.load())
        b->SetInterruptFlag(static_cast<uint32_t>(m.interrupt_export), 0);
    }
    if (!trap) return std::nullopt;
    Trap t = std::move(trap->trap);
    const Module& mod = *inst.module_;
    if (t.function.empty() && trap->func_index >= static_cast<int64_t>(mod.layout().func_shift))
      t.function = mod.FunctionName(
          static_cast<uint32_t>(trap->func_index - mod.layout().func_shift));
    return t;
  }

  // The host side of the "arcella_rt.check" import.
  static std::optional<Trap> Check(Instance& inst) {
    auto& m = *inst.meter_;
    InstanceBackend* b = m.attached.load();
    if (m.interrupt_export >= 0 &&
        b->GetGlobal(static_cast<uint32_t>(m.interrupt_export)).i32 != 0) {
      if (m.user_interrupt.exchange(false)) {
        b->SetInterruptFlag(static_cast<uint32_t>(m.interrupt_export), 0);
        return Trap{TrapKind::kInterrupted, "", "", 0};
      }
      if (m.deadline_fired.exchange(false)) {
        b->SetInterruptFlag(static_cast<uint32_t>(m.interrupt_export), 0);
        return Trap{TrapKind::kDeadline, "", "", 0};
      }
      b->SetInterruptFlag(static_cast<uint32_t>(m.interrupt_export), 0);  // stale flag
    }
    if (m.fuel_export < 0) return std::nullopt;
    auto idx = static_cast<uint32_t>(m.fuel_export);
    auto fuel = static_cast<int64_t>(b->GetGlobal(idx).i64);
    if (fuel >= 0) return std::nullopt;
    uint64_t more = 0;
    if (!m.fuel_initialized) {
      // First exhaustion during instantiation (start function): apply the
      // initial fuel now; identical to having started with it.
      m.fuel_initialized = true;
      more = m.unlimited_fuel ? kUnlimitedFuel : *inst.options_.limits.fuel;
      if (more == 0 && inst.options_.on_out_of_fuel) more = inst.options_.on_out_of_fuel(inst);
    } else if (m.unlimited_fuel) {
      more = kUnlimitedFuel;
    } else if (inst.options_.on_out_of_fuel) {
      more = inst.options_.on_out_of_fuel(inst);
    }
    if (more > 0) {
      m.fuel_added += more;
      fuel += static_cast<int64_t>(more);
      b->SetGlobal(idx, Value::I64(static_cast<uint64_t>(fuel)));
      if (fuel >= 0) return std::nullopt;
    }
    return Trap{TrapKind::kOutOfFuel, "", "", 0};
  }
};

Instance::Instance(std::shared_ptr<const Module> module, InstanceOptions options)
    : module_(std::move(module)), options_(std::move(options)), meter_(new MeterState) {}

Instance::~Instance() = default;

Result<std::shared_ptr<Instance>> Instance::Create(std::shared_ptr<const Module> module,
                                                   const Linker& linker,
                                                   const InstanceOptions& options) {
  if (!module) return Status::InvalidArgument("no module");
  if (!module->engine()) return Status::InvalidArgument("the module has no engine");
  DeadlineWatchdog& watchdog = module->engine()->watchdog();
  const Module::Layout& layout = module->layout();
  const InstanceLimits& lim = options.limits;
  if (module->metering() != Metering::kFuel && lim.fuel)
    return Status::InvalidArgument(
        "a fuel limit needs an engine with fuel metering (EngineConfig::metering = kFuel)");
  if (module->metering() == Metering::kNone && lim.deadline.count() > 0)
    return Status::InvalidArgument(
        "a deadline needs an engine with interrupt or fuel metering (EngineConfig::metering)");

  auto inst = std::make_shared<Instance>(module, options);
  MeterState& m = *inst->meter_;
  m.fuel_export = module->InternalExportIndex(kFuelExport);
  m.interrupt_export = module->InternalExportIndex(kInterruptExport);
  m.unlimited_fuel = !lim.fuel.has_value();

  std::vector<BoundImport> bound(layout.imports.size());
  std::vector<std::string> problems;
  Instance* self = inst.get();
  size_t func_imports = 0;
  for (const ImportDesc& imp : layout.imports)
    if (imp.desc.kind == ExternKind::kFunc) ++func_imports;
  m.host_funcs.reserve(func_imports);  // at most one per function import: no reallocation
  const auto& host_funcs = linker.funcs();
  for (size_t i = 0; i < layout.imports.size(); ++i) {
    const ImportDesc& imp = layout.imports[i];
    BoundImport& b = bound[i];
    // Built only for error messages.
    auto what_fn = [&imp] {
      return imp.module + "." + imp.name + " (" + DescribeExtern(imp.desc) + ")";
    };
    if (imp.module == kMeterModule && imp.name == kMeterCheck) {
      m.host_funcs.push_back([self](Caller&, std::span<const Value>, std::span<Value>) {
        return MeteringAccess::Check(*self);
      });
      b.fn = &m.host_funcs.back();
      b.type = imp.desc.func;
      continue;
    }
    const Linker::HostEntry* host = nullptr;
    for (size_t k = host_funcs.size(); k-- > 0;) {  // the last definition wins
      const auto& f = host_funcs[k];
      if (f.name == imp.name && f.module == imp.module) {
        host = &f;
        break;
      }
    }
    if (host) {
      if (imp.desc.kind != ExternKind::kFunc) {
        problems.push_back(what_fn() + ": host defines a function");
      } else if (!(host->type == imp.desc.func)) {
        problems.push_back(what_fn() + ": host function has type " + host->type.ToString());
      } else {
        if (module->metering() == Metering::kNone) {
          m.host_funcs.push_back(host->fn);
        } else {
          // A host call that returns because of an interrupt or deadline
          // (e.g. a sleep cut short) stops the guest right there.
          HostFunc fn = host->fn;
          m.host_funcs.push_back([self, fn](Caller& c, std::span<const Value> a,
                                            std::span<Value> r) -> std::optional<Trap> {
            auto t = fn(c, a, r);
            if (!t && self->InterruptPending()) return MeteringAccess::Check(*self);
            return t;
          });
        }
        b.fn = &m.host_funcs.back();
        b.type = imp.desc.func;
      }
      continue;
    }
    std::shared_ptr<Instance> from;
    std::string from_name = imp.name;
    for (const Linker::ExportEntry& e : linker.exports()) {  // unique per (module, name)
      if (e.module == imp.module && e.name == imp.name) {
        from = e.instance;
        from_name = e.export_name;
        break;
      }
    }
    for (size_t k = linker.instances().size(); !from && k-- > 0;) {  // the last one wins
      if (linker.instances()[k].module == imp.module) {
        from = linker.instances()[k].instance;
        break;
      }
    }
    const ExportDesc* exp = from ? from->module().FindExport(from_name) : nullptr;
    if (!exp) {
      problems.push_back(what_fn() + ": unresolved");
      continue;
    }
    if (exp->desc.kind != imp.desc.kind) {
      problems.push_back(what_fn() + ": " + imp.module + " exports a " +
                         ExternKindName(exp->desc.kind));
      continue;
    }
    if (imp.desc.kind == ExternKind::kFunc) {
      if (!(exp->desc.func == imp.desc.func)) {
        problems.push_back(what_fn() + ": export has type " + exp->desc.func.ToString());
        continue;
      }
      auto handle = from->GetFunc(from_name);
      if (!handle.ok()) {
        problems.push_back(what_fn() + ": " + handle.status().message());
        continue;
      }
      // A raw pointer: `linked` keeps the target alive, and a tier may keep
      // copies of host functions past this instance (a shared interpreter
      // store), which must not own instances.
      Instance* target = from.get();
      m.host_funcs.push_back(
          [target, h = handle.value()](Caller&, std::span<const Value> args,
                                       std::span<Value> results) -> std::optional<Trap> {
            return target->Invoke(h, args, results);
          });
      b.fn = &m.host_funcs.back();
      b.type = imp.desc.func;
      m.linked.push_back(from);
      continue;
    }
    if (from->module().tier() != module->tier()) {
      problems.push_back(what_fn() + ": cannot share a " + ExternKindName(imp.desc.kind) +
                         " across tiers (" + TierName(from->module().tier()) + " vs " +
                         TierName(module->tier()) + ")");
      continue;
    }
    int64_t from_idx = from->module().InternalExportIndex(from_name);
    if (imp.desc.kind == ExternKind::kGlobal) {
      if (exp->desc.value_type != imp.desc.value_type || exp->desc.mut != imp.desc.mut) {
        problems.push_back(what_fn() + ": export is " + DescribeExtern(exp->desc));
        continue;
      }
    } else if (imp.desc.kind == ExternKind::kMemory || imp.desc.kind == ExternKind::kTable) {
      Limits actual = exp->desc.limits;
      if (imp.desc.kind == ExternKind::kMemory) {
        auto span = from->backend()->ExportedMemory(static_cast<uint32_t>(from_idx));
        actual.min = span.size() / 65536;
      }
      if ((imp.desc.kind == ExternKind::kTable && exp->desc.value_type != imp.desc.value_type) ||
          !LimitsMatch(actual, imp.desc.limits)) {
        problems.push_back(what_fn() + ": incompatible limits or type");
        continue;
      }
    }
    b.from = from->backend();
    b.from_export = static_cast<uint32_t>(from_idx);
    m.linked.push_back(from);
  }
  if (!problems.empty()) {
    std::string msg = "cannot link imports:";
    for (const auto& p : problems) msg += "\n  " + p;
    return Status::FailedPrecondition(msg);
  }

  // The start function runs inside Instantiate: it gets the per-call
  // deadline too, and Interrupt() reaches it once the tier attaches.
  uint64_t token = 0;
  if (lim.deadline.count() > 0 && m.interrupt_export >= 0) {
    auto flag = static_cast<uint32_t>(m.interrupt_export);
    token = watchdog.Arm(DeadlineWatchdog::Clock::now() + lim.deadline, [&m, flag] {
      m.deadline_fired.store(true);
      if (InstanceBackend* b = m.attached.load()) b->SetInterruptFlag(flag, 1);
    });
  }
  std::optional<BackendTrap> start_trap;
  auto backend = module->backend()->Instantiate(bound, lim, self, &start_trap);
  if (token) watchdog.Cancel(token);
  m.deadline_fired.store(false);
  if (!backend.ok()) return backend.status();
  inst->backend_ = std::move(backend).value();
  m.attached.store(inst->backend_.get());
  if (m.interrupt_export >= 0 && !m.user_interrupt.load())
    inst->backend_->SetInterruptFlag(static_cast<uint32_t>(m.interrupt_export), 0);
  if (start_trap) {
    Trap t = start_trap->trap;
    if (t.function.empty() && start_trap->func_index >= 0)
      t.function = module->FunctionName(
          static_cast<uint32_t>(start_trap->func_index - layout.func_shift));
    return Status::FailedPrecondition("start function trapped: " + t.ToString());
  }
  if (m.fuel_export >= 0 && !m.fuel_initialized) {
    m.fuel_initialized = true;
    uint64_t f = m.unlimited_fuel ? kUnlimitedFuel : *lim.fuel;
    m.fuel_added += f;
    inst->backend_->SetGlobal(
        static_cast<uint32_t>(m.fuel_export),
        Value::I64(static_cast<uint64_t>(
            static_cast<int64_t>(
                inst->backend_->GetGlobal(static_cast<uint32_t>(m.fuel_export)).i64) +
            static_cast<int64_t>(f))));
  }
  return inst;
}

Result<FuncHandle> Instance::GetFunc(std::string_view name) const {
  int64_t idx = module_->InternalExportIndex(name);
  const ExportDesc* user = module_->FindExport(name);
  if (idx < 0 || !user) return Status::NotFound("no export named \"" + std::string(name) + "\"");
  const ExportDesc& exp = module_->layout().exports[static_cast<size_t>(idx)];
  if (exp.desc.kind != ExternKind::kFunc)
    return Status::InvalidArgument("export \"" + std::string(name) + "\" is a " +
                                   ExternKindName(exp.desc.kind) + ", not a function");
  FuncHandle f;
  f.owner_ = this;
  f.type_ = &exp.desc.func;
  f.export_index_ = static_cast<uint32_t>(idx);
  return f;
}

std::optional<Trap> Instance::Invoke(const FuncHandle& func, std::span<const Value> args,
                                     std::span<Value> results) {
  if (func.owner_ != this || func.type_ == nullptr)
    return Trap{TrapKind::kHostError, "", "Invoke: the FuncHandle belongs to another instance", 0};
  const FuncType& ft = *func.type_;
  bool ok = args.size() == ft.params.size() && results.size() == ft.results.size();
  for (size_t i = 0; ok && i < args.size(); ++i) ok = args[i].type == ft.params[i];
  if (!ok)
    return Trap{TrapKind::kHostError, "",
                "Invoke: function has type " + ft.ToString() + ", called with " + TypesOf(args) +
                    " and " + std::to_string(results.size()) + " result slot(s)",
                0};
  for (size_t i = 0; i < results.size(); ++i) results[i].type = ft.results[i];
  return MeteringAccess::RunExport(*this, func.export_index_, args, results);
}

Result<CallOutcome> Instance::Call(std::string_view name, std::span<const Value> args) {
  ARCELLA_ASSIGN_OR_RETURN(FuncHandle f, GetFunc(name));
  const FuncType& ft = *f.type_;
  bool types_ok = args.size() == ft.params.size();
  for (size_t i = 0; types_ok && i < args.size(); ++i)
    types_ok = ValueMatches(args[i], ft.params[i]);
  if (!types_ok)
    return Status::InvalidArgument("export \"" + std::string(name) + "\" has type " +
                                   ft.ToString() + ", called with " + TypesOf(args));
  CallOutcome out;
  out.results.resize(ft.results.size());
  for (size_t i = 0; i < ft.results.size(); ++i) out.results[i].type = ft.results[i];
  out.trap = MeteringAccess::RunExport(*this, f.export_index_, args, out.results);
  if (out.trap) out.results.clear();
  return out;
}

Result<Value> Instance::GetGlobal(std::string_view export_name) const {
  int64_t idx = module_->InternalExportIndex(export_name);
  const ExportDesc* user = module_->FindExport(export_name);
  if (idx < 0 || !user || user->desc.kind != ExternKind::kGlobal)
    return Status::NotFound("no global export named \"" + std::string(export_name) + "\"");
  return backend_->GetGlobal(static_cast<uint32_t>(idx));
}

Status Instance::SetGlobal(std::string_view export_name, const Value& v) {
  int64_t idx = module_->InternalExportIndex(export_name);
  const ExportDesc* user = module_->FindExport(export_name);
  if (idx < 0 || !user || user->desc.kind != ExternKind::kGlobal)
    return Status::NotFound("no global export named \"" + std::string(export_name) + "\"");
  if (!user->desc.mut)
    return Status::FailedPrecondition("global \"" + std::string(export_name) + "\" is immutable");
  if (v.type != user->desc.value_type)
    return Status::InvalidArgument("global \"" + std::string(export_name) + "\" has type " +
                                   ValTypeName(user->desc.value_type));
  backend_->SetGlobal(static_cast<uint32_t>(idx), v);
  return Status::Ok();
}

std::span<uint8_t> Instance::memory() { return backend_->DefaultMemory(); }

Result<std::span<uint8_t>> Instance::ExportedMemory(std::string_view name) {
  int64_t idx = module_->InternalExportIndex(name);
  const ExportDesc* user = module_->FindExport(name);
  if (idx < 0 || !user || user->desc.kind != ExternKind::kMemory)
    return Status::NotFound("no memory export named \"" + std::string(name) + "\"");
  return backend_->ExportedMemory(static_cast<uint32_t>(idx));
}

uint64_t Instance::fuel() const {
  if (meter_->fuel_export < 0 || meter_->unlimited_fuel) return 0;
  auto f = static_cast<int64_t>(
      backend_->GetGlobal(static_cast<uint32_t>(meter_->fuel_export)).i64);
  return f < 0 ? 0 : static_cast<uint64_t>(f);
}

Status Instance::SetFuel(uint64_t fuel) {
  if (meter_->fuel_export < 0)
    return Status::FailedPrecondition("module was not compiled with fuel metering");
  if (fuel > static_cast<uint64_t>(INT64_MAX / 2)) fuel = INT64_MAX / 2;
  auto idx = static_cast<uint32_t>(meter_->fuel_export);
  auto cur = static_cast<int64_t>(backend_->GetGlobal(idx).i64);
  // Keep fuel_consumed() continuous: account the difference as added fuel.
  meter_->fuel_added += fuel - static_cast<uint64_t>(cur);
  meter_->unlimited_fuel = false;
  backend_->SetGlobal(idx, Value::I64(fuel));
  return Status::Ok();
}

uint64_t Instance::fuel_consumed() const {
  if (meter_->fuel_export < 0) return 0;
  auto cur = static_cast<int64_t>(
      backend_->GetGlobal(static_cast<uint32_t>(meter_->fuel_export)).i64);
  return meter_->fuel_added - static_cast<uint64_t>(cur);
}

bool Instance::InterruptPending() const {
  return meter_->user_interrupt.load() || meter_->deadline_fired.load();
}

void Instance::ClearInterrupt() {
  if (meter_->interrupt_export < 0) return;
  meter_->user_interrupt.store(false);
  meter_->deadline_fired.store(false);
  if (InstanceBackend* b = meter_->attached.load())
    b->SetInterruptFlag(static_cast<uint32_t>(meter_->interrupt_export), 0);
}

void Instance::ExpireDeadline() {
  if (meter_->interrupt_export < 0) return;
  meter_->deadline_fired.store(true);
  if (InstanceBackend* b = meter_->attached.load())
    b->SetInterruptFlag(static_cast<uint32_t>(meter_->interrupt_export), 1);
}

void Instance::Interrupt() {
  if (meter_->interrupt_export < 0) return;
  meter_->user_interrupt.store(true);
  if (InstanceBackend* b = meter_->attached.load())
    b->SetInterruptFlag(static_cast<uint32_t>(meter_->interrupt_export), 1);
}

void Instance::AttachBackend(InstanceBackend* backend) {
  meter_->attached.store(backend);
  // An interrupt or deadline that came before the tier attached.
  if (meter_->interrupt_export >= 0 &&
      (meter_->user_interrupt.load() || meter_->deadline_fired.load()))
    backend->SetInterruptFlag(static_cast<uint32_t>(meter_->interrupt_export), 1);
  if (options_.on_attach) options_.on_attach(*this);
}

}  // namespace arcella::engine
