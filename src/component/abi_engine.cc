#include "component/abi_engine.h"

#include <vector>

namespace arcella::component {

using engine::ValType;
using engine::Value;

InstanceMemory::InstanceMemory(engine::Instance* inst, std::string export_name)
    : inst_(inst), name_(std::move(export_name)) {
  if (name_.empty()) {
    is_default_ = true;
    return;
  }
  // Two memories never share a (non-null) base: the same base is the same memory.
  auto named = inst_->ExportedMemory(name_);
  std::span<uint8_t> first = inst_->memory();
  is_default_ = named.ok() && named->data() != nullptr && named->data() == first.data();
}

std::span<uint8_t> InstanceMemory::Bytes() {
  if (is_default_) return inst_->memory();
  auto m = inst_->ExportedMemory(name_);
  return m.ok() ? m.value() : std::span<uint8_t>();
}

namespace {

Result<engine::FuncHandle> Resolve(engine::Instance* inst, std::string_view name,
                                   const engine::FuncType* want) {
  auto h = inst->GetFunc(name);
  if (!h.ok()) return h.status();
  if (want && !(h.value().type() == *want))
    return Status::InvalidArgument("export '" + std::string(name) + "' has type " +
                                   h.value().type().ToString() + ", expected " + want->ToString());
  return h;
}

}  // namespace

Result<ReallocFn> ReallocFromExport(engine::Instance* inst, std::string_view name) {
  engine::FuncType want{{ValType::kI32, ValType::kI32, ValType::kI32, ValType::kI32},
                        {ValType::kI32}};
  ARCELLA_ASSIGN_OR_RETURN(engine::FuncHandle h, Resolve(inst, name, &want));
  return ReallocFn([inst, h](uint32_t old_ptr, uint32_t old_size, uint32_t align,
                             uint32_t new_size) -> TrapOr<uint32_t> {
    Value args[4] = {Value::I32(old_ptr), Value::I32(old_size), Value::I32(align),
                     Value::I32(new_size)};
    Value result[1];
    if (auto t = inst->Invoke(h, args, result)) return *t;
    return result[0].i32;
  });
}

Result<PostReturnFn> PostReturnFromExport(engine::Instance* inst, std::string_view name,
                                          const std::vector<ValType>& flat_results) {
  engine::FuncType want{flat_results, {}};
  ARCELLA_ASSIGN_OR_RETURN(engine::FuncHandle h, Resolve(inst, name, &want));
  return PostReturnFn(
      [inst, h](std::span<const Value> flat) -> MaybeTrap { return inst->Invoke(h, flat, {}); });
}

Result<CoreFn> CoreFnFromExport(engine::Instance* inst, std::string_view name) {
  ARCELLA_ASSIGN_OR_RETURN(engine::FuncHandle h, Resolve(inst, name, nullptr));
  return CoreFn([inst, h](std::span<const Value> args, std::vector<Value>* results) -> MaybeTrap {
    results->assign(h.type().results.size(), Value());
    return inst->Invoke(h, args, *results);
  });
}

}  // namespace arcella::component
