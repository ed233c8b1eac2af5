#include "wast/wast_spectest.h"

#include "wast/wast_modules.h"

namespace arcella::wast {
namespace {

using engine::FuncType;
using engine::ValType;

constexpr const char* kSpectestWat = R"((module
  (global (export "global_i32") i32 (i32.const 666))
  (global (export "global_i64") i64 (i64.const 666))
  (global (export "global_f32") f32 (f32.const 666.6))
  (global (export "global_f64") f64 (f64.const 666.6))
  (table (export "table") 10 20 funcref)
  (memory (export "memory") 1 2))
)";

std::optional<engine::Trap> Print(engine::Caller&, std::span<const engine::Value>,
                                  std::span<engine::Value>) {
  return std::nullopt;  // the runner keeps scripts quiet
}

}  // namespace

Result<std::shared_ptr<engine::Instance>> Spectest::InstanceFor(engine::Tier tier) {
  auto it = instances_.find(tier);
  if (it != instances_.end()) return it->second;
  ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> wasm, WatToWasm(kSpectestWat, "spectest"));
  if (!engine_) return Status::FailedPrecondition("spectest: no engine");
  engine::CompileOptions options;
  options.tier = tier;
  auto module = engine_->Compile(wasm, options);
  if (!module.ok()) return module.status().WithContext("compiling spectest");
  engine::Linker empty;
  auto instance = engine::Instance::Create(*module, empty, {});
  if (!instance.ok()) return instance.status().WithContext("instantiating spectest");
  instances_[tier] = *instance;
  return *instance;
}

Status Spectest::AddTo(engine::Linker* linker, engine::Tier tier) {
  ARCELLA_ASSIGN_OR_RETURN(std::shared_ptr<engine::Instance> instance, InstanceFor(tier));
  linker->DefineInstance("spectest", instance);
  const struct {
    const char* name;
    std::vector<ValType> params;
  } kPrints[] = {
      {"print", {}},
      {"print_i32", {ValType::kI32}},
      {"print_i64", {ValType::kI64}},
      {"print_f32", {ValType::kF32}},
      {"print_f64", {ValType::kF64}},
      {"print_i32_f32", {ValType::kI32, ValType::kF32}},
      {"print_f64_f64", {ValType::kF64, ValType::kF64}},
  };
  for (const auto& p : kPrints)
    linker->DefineFunc("spectest", p.name, FuncType{p.params, {}}, Print);
  return Status::Ok();
}

}  // namespace arcella::wast
