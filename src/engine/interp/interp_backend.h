// The interpreter tier (C++20 side): ModuleBackend / InstanceBackend over the
// C++17 wabt glue (wabt_glue.h explains why the split exists and documents
// the store/threading design; wabt_instance.h documents the limits).
// Entry point: CompileInterp() in backend.h.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/backend.h"
#include "engine/interp/wabt_glue.h"

namespace arcella::engine::interp {

class InterpModule final : public ModuleBackend {
 public:
  explicit InterpModule(std::shared_ptr<glue::GModule> mod) : mod_(std::move(mod)) {}
  Tier tier() const override { return Tier::kInterp; }
  Result<std::unique_ptr<InstanceBackend>> Instantiate(
      const std::vector<BoundImport>& imports, const InstanceLimits& limits, Instance* owner,
      std::optional<BackendTrap>* start_trap) override;

 private:
  std::shared_ptr<glue::GModule> mod_;
};

class InterpInstance final : public InstanceBackend {
 public:
  explicit InterpInstance(Instance* owner) : owner_(owner) {}
  std::optional<BackendTrap> Call(uint32_t export_index, std::span<const Value> args,
                                  std::span<Value> results) override;
  Value GetGlobal(uint32_t export_index) override;
  void SetGlobal(uint32_t export_index, const Value& v) override;
  std::span<uint8_t> ExportedMemory(uint32_t export_index) override;
  std::span<uint8_t> DefaultMemory() override;
  void SetInterruptFlag(uint32_t export_index, uint32_t value) override;

  Instance* owner() const { return owner_; }
  glue::GInstance* glue() const { return inst_.get(); }
  void set_glue(std::unique_ptr<glue::GInstance> g) { inst_ = std::move(g); }

 private:
  Instance* owner_;
  std::unique_ptr<glue::GInstance> inst_;
};

// Conversions between engine values and glue values.
glue::GValue ToGlue(const Value& v);
Value FromGlue(const glue::GValue& g);

}  // namespace arcella::engine::interp
