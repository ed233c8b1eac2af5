// CoreModuleBytes (core_modules.h).
#include "component/core_modules.h"

namespace arcella::component {
namespace {
void Collect(const Component& c, std::vector<std::span<const uint8_t>>* out) {
  for (const CoreModule& m : c.core_modules) out->push_back(m.bytes);
  for (const auto& nested : c.components) Collect(*nested, out);
}
}  // namespace

std::vector<std::span<const uint8_t>> CoreModuleBytes(const Component& c) {
  std::vector<std::span<const uint8_t>> out;
  Collect(c, &out);
  return out;
}

}  // namespace arcella::component
