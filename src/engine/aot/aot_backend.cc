#include "engine/aot/aot_backend.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace arcella::engine {
namespace aot {

class AotModule final : public ModuleBackend, public std::enable_shared_from_this<AotModule> {
 public:
  AotModule(std::shared_ptr<LoadedObject> obj, std::vector<ImportDesc> imports,
            std::vector<ExportDesc> exports)
      : obj(std::move(obj)), imports(std::move(imports)), exports(std::move(exports)) {
    uint32_t f = 0;
    for (const auto& imp : this->imports) {  // the parameter was moved from
      func_index.push_back(imp.desc.kind == ExternKind::kFunc ? static_cast<int64_t>(f) : -1);
      if (imp.desc.kind == ExternKind::kFunc) ++f;
    }
  }
  Tier tier() const override { return Tier::kAot; }
  Result<std::unique_ptr<InstanceBackend>> Instantiate(
      const std::vector<BoundImport>& bound, const InstanceLimits& limits, Instance* owner,
      std::optional<BackendTrap>* start_trap) override {
    if (bound.size() != imports.size()) return Status::Internal("aot: import count mismatch");
    auto inst = std::make_unique<AotInstance>(shared_from_this(), limits, owner);
    ARCELLA_RETURN_IF_ERROR(inst->Init(bound, start_trap));
    return std::unique_ptr<InstanceBackend>(std::move(inst));
  }

  std::shared_ptr<LoadedObject> obj;
  std::vector<ImportDesc> imports;
  std::vector<ExportDesc> exports;
  std::vector<int64_t> func_index;  // function index of each func import, else -1
};

namespace {

// Host trap details travel beside the longjmp, per thread.
thread_local std::optional<BackendTrap> t_host_trap;

inline uint64_t ToSlot(const Value& v) {
  switch (v.type) {
    case ValType::kI32: return v.i32;
    case ValType::kF32: return v.i32;
    case ValType::kI64:
    case ValType::kF64: return v.i64;
    case ValType::kFuncRef: return v.ref_null ? 0 : v.ref;
    case ValType::kExternRef: return v.ref_null ? 0 : v.ref + 1;
    case ValType::kV128: return 0;
  }
  return 0;
}

inline Value FromSlot(ValType t, uint64_t s) {
  switch (t) {
    case ValType::kI32: return Value::I32(static_cast<uint32_t>(s));
    case ValType::kF32: return Value::F32Bits(static_cast<uint32_t>(s));
    case ValType::kI64: return Value::I64(s);
    case ValType::kF64: return Value::F64Bits(s);
    case ValType::kFuncRef: {
      Value v = Value::NullRef(t);
      if (s != 0) {
        v.ref_null = false;
        v.ref = s;
      }
      return v;
    }
    case ValType::kExternRef: return s == 0 ? Value::NullRef(t) : Value::ExternRef(s - 1);
    case ValType::kV128: break;
  }
  return Value::NullRef(t);
}

size_t GlobalSize(ValType t) {
  switch (t) {
    case ValType::kI32:
    case ValType::kF32: return 4;
    case ValType::kI64:
    case ValType::kF64: return 8;
    case ValType::kFuncRef: return sizeof(wasm_rt_funcref_t);
    case ValType::kExternRef: return sizeof(wasm_rt_externref_t);
    case ValType::kV128: return 16;
  }
  return 0;
}

class AotCaller final : public Caller {
 public:
  AotCaller(std::span<uint8_t> mem, Instance* owner) : mem_(mem), owner_(owner) {}
  std::span<uint8_t> memory() override { return mem_; }
  Instance& instance() override { return *owner_; }

 private:
  std::span<uint8_t> mem_;
  Instance* owner_;
};

}  // namespace

AotInstance::AotInstance(std::shared_ptr<const AotModule> module, const InstanceLimits& limits,
                         Instance* owner)
    : module_(std::move(module)), limits_(limits), owner_(owner) {}

AotInstance::~AotInstance() {
  if (inst_ != nullptr) {
    uint32_t size = module_->obj->instance_size();
    if (instantiated_) module_->obj->free_instance(inst_);
    arcella_funcref_release(inst_, size);
    std::free(inst_);
  }
  std::free(ctx_);
}

int AotInstance::Invoke(arcella_entry_fn fn, uint64_t* slots) {
  const uint32_t saved_max = wasm_rt_max_call_stack_depth;
  wasm_rt_max_call_stack_depth = limits_.max_stack_depth;
  int rc = arcella_rt_invoke(fn, inst_, slots);
  wasm_rt_max_call_stack_depth = saved_max;
  return rc;
}

Status AotInstance::Init(const std::vector<BoundImport>& imports,
                         std::optional<BackendTrap>* start_trap) {
  const LoadedObject& obj = *module_->obj;
  module_->obj->EnsureInit();
  size_t n = imports.size();
  ctx_ = static_cast<arcella_host_ctx_t*>(
      std::calloc(1, sizeof(arcella_host_ctx_t) + n * sizeof(void*)));
  size_t size = (obj.instance_size() + 63) / 64 * 64;
  inst_ = std::aligned_alloc(64, size ? size : 64);
  if (ctx_ == nullptr || inst_ == nullptr) return Status::Internal("aot: out of memory");
  std::memset(inst_, 0, size);
  ctx_->self = ctx_;
  ctx_->call = &AotInstance::HostDispatch;
  ctx_->host = this;
  host_fns_.assign(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    const ImportDesc& imp = module_->imports[i];
    if (imp.desc.kind == ExternKind::kFunc) {
      host_fns_[i] = imports[i].fn;
      continue;
    }
    auto* from = dynamic_cast<AotInstance*>(imports[i].from);
    if (from == nullptr)
      return Status::InvalidArgument("aot: import " + imp.module + "." + imp.name +
                                     " must come from another AOT instance");
    ctx_->imports[i] = from->ExportPtr(imports[i].from_export);
    if (ctx_->imports[i] == nullptr)
      return Status::InvalidArgument("aot: import " + imp.module + "." + imp.name + " not found");
  }
  // The start function may call the metering check: the facade must know us.
  if (owner_) owner_->AttachBackend(this);
  arcella_rt_set_alloc_limits(limits_.max_memory_bytes, limits_.max_table_elements);
  if (owner_ && owner_->module().engine())
    arcella_rt_set_alloc_budget(owner_->module().engine()->memory_budget_state());
  uint64_t slots[1] = {reinterpret_cast<uint64_t>(ctx_)};
  int rc = Invoke(obj.instantiate, slots);
  const arcella_alloc_failure_t failure = arcella_rt_last_alloc_failure();
  arcella_rt_set_alloc_limits(0, 0);
  arcella_rt_set_alloc_budget(nullptr);
  instantiated_ = true;  // partial instantiation still owns what it allocated
  if (rc == WASM_RT_TRAP_RESOURCE) return AllocFailure(failure);
  if (rc != 0) *start_trap = TrapFromCode(rc);
  return Status::Ok();
}

Status AotInstance::AllocFailure(const arcella_alloc_failure_t& f) const {
  // The runtime counts the memories (tables) it allocated: defined ones,
  // which come after the imported ones in the index space.
  const ExternKind kind = f.kind == ARCELLA_ALLOC_TABLE ? ExternKind::kTable : ExternKind::kMemory;
  uint32_t index = f.index;
  for (const ImportDesc& imp : module_->imports)
    if (imp.desc.kind == kind) ++index;
  std::string what = (kind == ExternKind::kTable ? "table " : "memory ") + std::to_string(index);
  if (f.kind == ARCELLA_ALLOC_BUDGET)
    return Status::FailedPrecondition(what + " needs " + std::to_string(f.initial * 65536) +
                                      " bytes initially; the engine's memory budget of " +
                                      std::to_string(f.budget) + " bytes has " +
                                      std::to_string(f.left) + " left");
  if (f.kind == 0)
    return Status::FailedPrecondition(
        "aot: cannot allocate the module's memories/tables within the instance limits");
  if (f.initial <= f.cap)
    return Status::FailedPrecondition("aot: cannot allocate " + what + " (" +
                                      std::to_string(f.initial) +
                                      (kind == ExternKind::kTable ? " elements)" : " pages)"));
  if (kind == ExternKind::kTable)
    return Status::FailedPrecondition(what + " needs " + std::to_string(f.initial) +
                                      " elements initially, more than the cap of " +
                                      std::to_string(f.cap));
  return Status::FailedPrecondition(what + " needs " + std::to_string(f.initial * 65536) +
                                    " bytes initially, more than the cap of " +
                                    std::to_string(f.cap * 65536) + " bytes");
}

std::optional<BackendTrap> AotInstance::TrapFromCode(int code) {
  BackendTrap bt;
  switch (code) {
    case WASM_RT_TRAP_OOB: bt.trap.kind = TrapKind::kMemoryOutOfBounds; break;
    case WASM_RT_TRAP_INT_OVERFLOW: bt.trap.kind = TrapKind::kIntegerOverflow; break;
    case WASM_RT_TRAP_DIV_BY_ZERO: bt.trap.kind = TrapKind::kIntegerDivideByZero; break;
    case WASM_RT_TRAP_INVALID_CONVERSION: bt.trap.kind = TrapKind::kBadConversion; break;
    case WASM_RT_TRAP_UNREACHABLE: bt.trap.kind = TrapKind::kUnreachable; break;
    case WASM_RT_TRAP_CALL_INDIRECT: bt.trap.kind = TrapKind::kIndirectCallTypeMismatch; break;
    case WASM_RT_TRAP_EXHAUSTION: bt.trap.kind = TrapKind::kStackExhausted; break;
    case WASM_RT_TRAP_TABLE_OOB: bt.trap.kind = TrapKind::kTableOutOfBounds; break;
    case WASM_RT_TRAP_INDIRECT_NULL: bt.trap.kind = TrapKind::kIndirectCallNull; break;
    case WASM_RT_TRAP_HOST:
      // Attributed to the guest function that called the import (below),
      // else to the import itself.
      if (t_host_trap) {
        bt = std::move(*t_host_trap);
        t_host_trap.reset();
      } else {
        bt.trap.kind = TrapKind::kHostError;
      }
      break;
    default:
      bt.trap.kind = TrapKind::kHostError;
      bt.trap.message = wasm_rt_strerror(static_cast<wasm_rt_trap_t>(code));
  }
  const uintptr_t* pcs = nullptr;
  size_t npcs = arcella_rt_last_trap_pcs(&pcs);
  for (size_t i = 0; i < npcs; ++i) {
    int64_t f = module_->obj->FuncIndexAt(pcs[i]);
    if (f >= 0) {
      bt.func_index = f;
      break;
    }
  }
  return bt;
}

int AotInstance::HostDispatch(void* self_ptr, uint32_t import_index, uint64_t* slots) {
  auto* self = static_cast<AotInstance*>(self_ptr);
  const FuncType& ft = self->module_->imports[import_index].desc.func;
  const HostFunc* fn = self->host_fns_[import_index];
  BackendTrap bt;
  bt.func_index = self->module_->func_index[import_index];
  if (fn == nullptr || !*fn) {
    bt.trap.kind = TrapKind::kHostError;
    bt.trap.message = "import " + self->module_->imports[import_index].module + "." +
                      self->module_->imports[import_index].name + " is not bound";
    t_host_trap = std::move(bt);
    return 1;
  }
  Value args_local[8], results_local[8];
  std::vector<Value> args_heap, results_heap;
  std::span<Value> args(args_local, ft.params.size() <= 8 ? ft.params.size() : 0);
  std::span<Value> results(results_local, ft.results.size() <= 8 ? ft.results.size() : 0);
  if (ft.params.size() > 8)
    args = (args_heap.resize(ft.params.size()), std::span<Value>(args_heap));
  if (ft.results.size() > 8)
    results = (results_heap.resize(ft.results.size()), std::span<Value>(results_heap));
  for (size_t i = 0; i < ft.params.size(); ++i) args[i] = FromSlot(ft.params[i], slots[i]);
  for (size_t i = 0; i < ft.results.size(); ++i)
    results[i] = Value::NullRef(ft.results[i]), results[i].ref_null = false;
  AotCaller caller(self->DefaultMemory(), self->owner_);
  std::optional<Trap> trap = (*fn)(caller, std::span<const Value>(args.data(), args.size()),
                                   results);
  if (trap) {
    bt.trap = std::move(*trap);
    t_host_trap = std::move(bt);
    return 1;
  }
  for (size_t i = 0; i < ft.results.size(); ++i) {
    Value r = results[i];
    r.type = ft.results[i];
    slots[i] = ToSlot(r);
  }
  return 0;
}

std::optional<BackendTrap> AotInstance::Call(uint32_t export_index, std::span<const Value> args,
                                             std::span<Value> results) {
  const FuncType& ft = module_->exports[export_index].desc.func;
  arcella_entry_fn fn = module_->obj->export_fn(export_index);
  if (fn == nullptr)
    return BackendTrap{Trap{TrapKind::kHostError, "", "not a function export", 0}, -1};
  // Slots on the stack; the heap only for signatures wider than 16.
  const size_t n = std::max({ft.params.size(), ft.results.size(), size_t{1}});
  uint64_t local[16];
  std::unique_ptr<uint64_t[]> heap;
  uint64_t* slots = local;
  if (n > 16) {
    heap.reset(new uint64_t[n]());
    slots = heap.get();
  }
  slots[0] = 0;
  for (size_t i = 0; i < args.size() && i < ft.params.size(); ++i) slots[i] = ToSlot(args[i]);
  int rc = Invoke(fn, slots);
  if (rc != 0) return TrapFromCode(rc);
  for (size_t i = 0; i < ft.results.size() && i < results.size(); ++i)
    results[i] = FromSlot(ft.results[i], slots[i]);
  return std::nullopt;
}

void* AotInstance::ExportPtr(uint32_t export_index) const {
  if (export_index >= module_->exports.size()) return nullptr;
  return module_->obj->export_ptr(inst_, export_index);
}

Value AotInstance::GetGlobal(uint32_t export_index) {
  ValType t = module_->exports[export_index].desc.value_type;
  const void* p = ExportPtr(export_index);
  if (p == nullptr) return Value::NullRef(t);
  switch (t) {
    case ValType::kI32:
    case ValType::kF32: {
      uint32_t v = __atomic_load_n(static_cast<const uint32_t*>(p), __ATOMIC_RELAXED);
      return FromSlot(t, v);
    }
    case ValType::kI64:
    case ValType::kF64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return FromSlot(t, v);
    }
    case ValType::kFuncRef:
      return FromSlot(t, arcella_funcref_box(*static_cast<const wasm_rt_funcref_t*>(p)));
    case ValType::kExternRef:
      return FromSlot(t, reinterpret_cast<uintptr_t>(*static_cast<void* const*>(p)));
    case ValType::kV128: break;
  }
  return Value::NullRef(t);
}

void AotInstance::SetGlobal(uint32_t export_index, const Value& v) {
  ValType t = module_->exports[export_index].desc.value_type;
  void* p = ExportPtr(export_index);
  if (p == nullptr) return;
  Value x = v;
  x.type = t;
  uint64_t s = ToSlot(x);
  switch (t) {
    case ValType::kI32:
    case ValType::kF32:
      __atomic_store_n(static_cast<uint32_t*>(p), static_cast<uint32_t>(s), __ATOMIC_RELAXED);
      break;
    case ValType::kI64:
    case ValType::kF64: std::memcpy(p, &s, 8); break;
    case ValType::kFuncRef: *static_cast<wasm_rt_funcref_t*>(p) = arcella_funcref_unbox(s); break;
    case ValType::kExternRef: *static_cast<void**>(p) = reinterpret_cast<void*>(s); break;
    case ValType::kV128: std::memcpy(p, v.v128, GlobalSize(t)); break;
  }
}

std::span<uint8_t> AotInstance::ExportedMemory(uint32_t export_index) {
  auto* m = static_cast<wasm_rt_memory_t*>(ExportPtr(export_index));
  if (m == nullptr || m->data == nullptr) return {};
  return {m->data, static_cast<size_t>(m->size)};
}

std::span<uint8_t> AotInstance::DefaultMemory() {
  wasm_rt_memory_t* m = inst_ ? module_->obj->memory0(inst_) : nullptr;
  if (m == nullptr || m->data == nullptr) return {};
  return {m->data, static_cast<size_t>(m->size)};
}

void AotInstance::SetInterruptFlag(uint32_t export_index, uint32_t value) {
  auto* p = static_cast<uint32_t*>(ExportPtr(export_index));
  if (p != nullptr) __atomic_store_n(p, value, __ATOMIC_SEQ_CST);
}

}  // namespace aot

Result<std::shared_ptr<ModuleBackend>> CompileAot(const BackendInput& input,
                                                  const CompileOptions& options) {
  if (input.uses_simd) return Status::Unsupported("aot: SIMD modules run on the interpreter tier");
  ARCELLA_ASSIGN_OR_RETURN(std::shared_ptr<aot::LoadedObject> obj,
                           aot::CompileAndLoad(input, options));
  return std::shared_ptr<ModuleBackend>(
      std::make_shared<aot::AotModule>(std::move(obj), input.imports, input.exports));
}

namespace aot {

Result<std::shared_ptr<ModuleBackend>> LoadAot(const std::string& key,
                                               std::vector<ImportDesc> imports,
                                               std::vector<ExportDesc> exports,
                                               const CompileOptions& options) {
  ARCELLA_ASSIGN_OR_RETURN(std::shared_ptr<LoadedObject> obj, LoadCached(key, options));
  if (!obj) return std::shared_ptr<ModuleBackend>();
  return std::shared_ptr<ModuleBackend>(
      std::make_shared<AotModule>(std::move(obj), std::move(imports), std::move(exports)));
}

const std::string* AotKeyOf(const ModuleBackend& backend) {
  const auto* m = dynamic_cast<const AotModule*>(&backend);
  return m == nullptr ? nullptr : &m->obj->key;
}

const LoadedObject* AotObjectOf(const ModuleBackend& backend) {
  const auto* m = dynamic_cast<const AotModule*>(&backend);
  return m == nullptr ? nullptr : m->obj.get();
}

std::shared_ptr<ModuleBackend> MakeAotModule(std::shared_ptr<LoadedObject> obj,
                                             std::vector<ImportDesc> imports,
                                             std::vector<ExportDesc> exports) {
  return std::make_shared<AotModule>(std::move(obj), std::move(imports), std::move(exports));
}

}  // namespace aot

}  // namespace arcella::engine
