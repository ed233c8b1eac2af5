// The interpreter tier: CompileInterp and the backend classes, forwarding to
// the C++17 wabt glue.
#include "engine/interp/interp_backend.h"

#include <cstring>

namespace arcella::engine {

namespace interp {
namespace {

static_assert(static_cast<int>(ValType::kI32) == static_cast<int>(glue::GType::kI32));
static_assert(static_cast<int>(ValType::kV128) == static_cast<int>(glue::GType::kV128));
static_assert(static_cast<int>(ValType::kExternRef) == static_cast<int>(glue::GType::kExternRef));

class InterpCaller final : public Caller {
 public:
  explicit InterpCaller(InterpInstance* inst) : inst_(inst) {}
  std::span<uint8_t> memory() override { return inst_->DefaultMemory(); }
  // Needs the facade's Instance (null only when a tier test passes none).
  Instance& instance() override { return *inst_->owner(); }

 private:
  InterpInstance* inst_;
};

std::optional<BackendTrap> ToBackend(std::optional<glue::GTrap> t) {
  if (!t) return std::nullopt;
  return BackendTrap{std::move(t->trap), t->func_index};
}

}  // namespace

glue::GValue ToGlue(const Value& v) {
  glue::GValue g;
  g.type = static_cast<glue::GType>(v.type);
  switch (v.type) {
    case ValType::kI32:
    case ValType::kF32: std::memcpy(g.bits, &v.i32, 4); break;
    case ValType::kI64:
    case ValType::kF64: std::memcpy(g.bits, &v.i64, 8); break;
    case ValType::kV128: std::memcpy(g.bits, v.v128, 16); break;
    case ValType::kFuncRef:
    case ValType::kExternRef:
      g.null = v.ref_null;
      std::memcpy(g.bits, &v.ref, 8);
      break;
  }
  return g;
}

Value FromGlue(const glue::GValue& g) {
  Value v;
  v.type = static_cast<ValType>(g.type);
  switch (v.type) {
    case ValType::kI32:
    case ValType::kF32: std::memcpy(&v.i32, g.bits, 4); break;
    case ValType::kI64:
    case ValType::kF64: std::memcpy(&v.i64, g.bits, 8); break;
    case ValType::kV128: std::memcpy(v.v128, g.bits, 16); break;
    case ValType::kFuncRef:
    case ValType::kExternRef:
      v.ref_null = g.null;
      if (!g.null) std::memcpy(&v.ref, g.bits, 8);
      break;
  }
  return v;
}

Result<std::unique_ptr<InstanceBackend>> InterpModule::Instantiate(
    const std::vector<BoundImport>& imports, const InstanceLimits& limits, Instance* owner,
    std::optional<BackendTrap>* start_trap) {
  auto self = std::make_unique<InterpInstance>(owner);
  std::vector<bool> is_func = glue::ImportIsFunc(*mod_);
  if (is_func.size() != imports.size())
    return Status::InvalidArgument("expected " + std::to_string(is_func.size()) + " imports, got " +
                                   std::to_string(imports.size()));
  std::vector<glue::GImport> gimports(imports.size());
  for (size_t i = 0; i < imports.size(); ++i) {
    if (is_func[i]) {
      if (!imports[i].fn)
        return Status::InvalidArgument("import " + std::to_string(i) + " has no host function");
      HostFunc fn = *imports[i].fn;  // copied: the binding may outlive the linker
      gimports[i].fn =
          [fn = std::move(fn)](void* caller_user, const std::vector<glue::GValue>& gargs,
                               std::vector<glue::GValue>& gresults) -> std::optional<Trap> {
        auto* caller_inst = static_cast<InterpInstance*>(caller_user);
        std::vector<Value> args(gargs.size());
        for (size_t k = 0; k < gargs.size(); ++k) args[k] = FromGlue(gargs[k]);
        std::vector<Value> results(gresults.size());
        for (size_t k = 0; k < gresults.size(); ++k)
          results[k].type = static_cast<ValType>(gresults[k].type);
        InterpCaller caller(caller_inst);
        std::optional<Trap> trap = fn(caller, args, results);
        if (trap) return trap;
        for (size_t k = 0; k < results.size(); ++k) gresults[k] = ToGlue(results[k]);
        return std::nullopt;
      };
    } else {
      auto* from = dynamic_cast<InterpInstance*>(imports[i].from);
      if (!from || !from->glue())
        return Status::InvalidArgument("import " + std::to_string(i) +
                                       " is not bound to an interpreter instance");
      gimports[i].from = from->glue();
      gimports[i].from_export = imports[i].from_export;
    }
  }
  glue::GLimits glimits;
  glimits.max_memory_bytes = limits.max_memory_bytes;
  glimits.max_table_elements = limits.max_table_elements;
  glimits.max_stack_depth = limits.max_stack_depth;
  if (owner && owner->module().engine())
    glimits.budget = owner->module().engine()->memory_budget_state();
  std::string error;
  glue::InstantiateError kind = glue::InstantiateError::kNone;
  // InstanceOptions::store_with: ignored unless it is an interpreter instance.
  glue::GInstance* store_with = nullptr;
  if (owner && owner->options().store_with) {
    auto* with = dynamic_cast<InterpInstance*>(owner->options().store_with->backend());
    if (with) store_with = with->glue();
  }
  auto g = glue::Instantiate(*mod_, gimports, glimits, self.get(), store_with, &error, &kind);
  if (!g) {
    switch (kind) {
      case glue::InstantiateError::kUnsupported: return Status::Unsupported(error);
      case glue::InstantiateError::kInvalid: return Status::InvalidArgument(error);
      default: return Status::FailedPrecondition(error);
    }
  }
  self->set_glue(std::move(g));
  // The start function may call the metering check: the facade must know us.
  if (owner) owner->AttachBackend(self.get());
  *start_trap = ToBackend(self->glue()->RunStart());
  return std::unique_ptr<InstanceBackend>(std::move(self));
}

std::optional<BackendTrap> InterpInstance::Call(uint32_t export_index, std::span<const Value> args,
                                                std::span<Value> results) {
  std::vector<glue::GValue> gargs(args.size());
  for (size_t i = 0; i < args.size(); ++i) gargs[i] = ToGlue(args[i]);
  std::vector<glue::GValue> gresults;
  std::optional<glue::GTrap> trap = inst_->Call(export_index, gargs, &gresults);
  if (trap) return ToBackend(std::move(trap));
  for (size_t i = 0; i < results.size() && i < gresults.size(); ++i)
    results[i] = FromGlue(gresults[i]);
  return std::nullopt;
}

Value InterpInstance::GetGlobal(uint32_t export_index) {
  return FromGlue(inst_->GetGlobal(export_index));
}

void InterpInstance::SetGlobal(uint32_t export_index, const Value& v) {
  inst_->SetGlobal(export_index, ToGlue(v));
}

std::span<uint8_t> InterpInstance::ExportedMemory(uint32_t export_index) {
  auto [data, size] = inst_->ExportedMemory(export_index);
  return {data, size};
}

std::span<uint8_t> InterpInstance::DefaultMemory() {
  auto [data, size] = inst_->DefaultMemory();
  return {data, size};
}

void InterpInstance::SetInterruptFlag(uint32_t export_index, uint32_t value) {
  inst_->SetInterruptFlag(export_index, value);
}

}  // namespace interp

Result<std::shared_ptr<ModuleBackend>> CompileInterp(const BackendInput& input) {
  std::string error;
  std::shared_ptr<interp::glue::GModule> mod = interp::glue::LoadModule(input.wasm.data(),
                                                                        input.wasm.size(), &error);
  if (!mod) return Status::InvalidArgument(error);
  return std::shared_ptr<ModuleBackend>(std::make_shared<interp::InterpModule>(std::move(mod)));
}

}  // namespace arcella::engine
