// ExportComponent / AdoptComponent (portable_component.h).
#include "platform/portable_component.h"

#include <utility>

#include "common/sha256.h"
#include "component/core_modules.h"
#include "component/decoder.h"

namespace arcella::platform {
namespace {
// The largest component a worker takes (as the engine's largest module).
constexpr uint64_t kMaxComponentBytes = uint64_t{1} << 30;
}  // namespace

Result<PortableComponent> ExportComponent(const LoadedComponent& c) {
  PortableComponent out;
  ARCELLA_ASSIGN_OR_RETURN(out.bytes, engine::ExportBytes(*c.component->bytes));
  std::vector<std::span<const uint8_t>> mods = component::CoreModuleBytes(*c.component);
  if (mods.size() != c.modules.size())
    return Status::Internal("component " + Sha256Hex(*c.component->bytes).substr(0, 12) + ": " +
                            std::to_string(c.modules.size()) + " compiled modules for " +
                            std::to_string(mods.size()) + " core modules");
  for (size_t i = 0; i < mods.size(); ++i) {
    auto code = engine::ExportCode(*c.modules[i], mods[i]);
    if (!code.ok())
      return code.status().WithContext("core module " + std::to_string(i + 1) + "/" +
                                       std::to_string(mods.size()));
    out.modules.push_back(std::move(*code));
  }
  return out;
}

Result<std::shared_ptr<const LoadedComponent>> AdoptComponent(
    const std::shared_ptr<engine::Engine>& engine, const CodeRef& code, PortableComponent p) {
  if (!code.component)
    return Status::InvalidArgument("AdoptComponent: " + CodeRefName(code) +
                                   " names a core module, not a component");
  auto bytes = engine::AdoptBytes(p.bytes.get(), code.module_hash, kMaxComponentBytes);
  if (!bytes.ok()) return bytes.status().WithContext("component " + CodeRefName(code));
  auto decoded = component::DecodeComponent(*bytes);
  if (!decoded.ok()) return decoded.status().WithContext("component " + CodeRefName(code));
  std::vector<std::span<const uint8_t>> mods = component::CoreModuleBytes(**decoded);
  if (mods.size() != p.modules.size())
    return Status::InvalidArgument("component " + CodeRefName(code) + " has " +
                                   std::to_string(mods.size()) + " core modules; code for " +
                                   std::to_string(p.modules.size()) + " was given");
  auto out = std::make_shared<LoadedComponent>();
  out->component = *decoded;
  out->engine = engine;
  out->tier = code.tier;
  out->metering = code.metering;
  for (size_t i = 0; i < mods.size(); ++i) {
    engine::PortableCode& m = p.modules[i];
    const std::string what = "component " + CodeRefName(code) + ", core module " +
                             std::to_string(i + 1) + "/" + std::to_string(mods.size());
    if (m.tier != code.tier || m.metering != code.metering)
      return Status::InvalidArgument(what + ": its code is " + engine::TierName(m.tier) +
                                     " code of another metering or tier than the component's");
    // The module is named by its bytes in the component (checked above
    // against the CodeRef): its code must answer to them.
    m.hash = Sha256Hex(mods[i]);
    auto mod = engine::AdoptCode(engine, std::move(m));
    if (!mod.ok()) return mod.status().WithContext(what);
    out->modules.push_back(*mod);
  }
  return std::shared_ptr<const LoadedComponent>(std::move(out));
}

}  // namespace arcella::platform
