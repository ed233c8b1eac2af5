#include "component/handle_table.h"

#include <string>

namespace arcella::component {

TrapOr<uint32_t> HandleTable::Add(ResourceHandle h) {
  if (!free_.empty()) {
    uint32_t i = free_.back();
    free_.pop_back();
    slots_[i] = std::move(h);
    return i;
  }
  if (slots_.size() > kMaxLength)
    return AbiTrap("handle table full (" + std::to_string(kMaxLength) + " handles)");
  slots_.emplace_back(std::move(h));
  return static_cast<uint32_t>(slots_.size() - 1);
}

TrapOr<ResourceHandle*> HandleTable::Get(uint32_t i) {
  if (i >= slots_.size())
    return AbiTrap("handle index " + std::to_string(i) + " out of bounds (table size " +
                   std::to_string(slots_.size()) + ")");
  if (!slots_[i]) {
    if (i == 0) return AbiTrap("handle index 0 is reserved");
    return AbiTrap("handle index " + std::to_string(i) + " is not in use");
  }
  return &*slots_[i];
}

TrapOr<ResourceHandle> HandleTable::Remove(uint32_t i) {
  auto got = Get(i);
  if (!got.ok()) return got.take_trap();
  ResourceHandle h = std::move(*got.value());
  slots_[i].reset();
  free_.push_back(i);
  return h;
}

}  // namespace arcella::component
