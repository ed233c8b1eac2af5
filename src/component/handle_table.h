// The per-instance table of resource handles (the spec's Table of
// ResourceHandle): what an i32 handle index in guest code refers to.
//
// Index 0 is reserved and never valid; freed indices are reused
// last-in-first-out; at most 2^28-1 entries. Every failure (index out of
// bounds, a freed slot, the table full) is a trap naming the index.
//
// Threads: used by the thread running the owning instance only.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "component/abi_result.h"
#include "component/types.h"

namespace arcella::component {

struct ResourceHandle {
  ResourceRef rt;            // the resource type (compared by identity)
  uint32_t rep = 0;          // the representation the implementation chose
  bool own = false;          // own<T> (true) or borrow<T> (false)
  uint64_t borrow_task = 0;  // borrow lowered into a lifted call: that Task's id; else 0
  uint32_t num_lends = 0;    // live borrows lent from this handle to outgoing calls
};

class HandleTable {
 public:
  static constexpr uint32_t kMaxLength = (1u << 28) - 1;

  HandleTable() : slots_(1) {}  // slot 0 reserved

  // Stores `h` at the most recently freed index, or a new one.
  TrapOr<uint32_t> Add(ResourceHandle h);
  // The live handle at `i` (valid until the next Add or Remove).
  TrapOr<ResourceHandle*> Get(uint32_t i);
  // Takes the handle out of `i` and frees the index.
  TrapOr<ResourceHandle> Remove(uint32_t i);

  // Slots including the reserved one and holes (the spec's len(array)).
  size_t size() const { return slots_.size(); }
  // Live handles.
  size_t live() const { return slots_.size() - 1 - free_.size(); }

 private:
  std::vector<std::optional<ResourceHandle>> slots_;
  std::vector<uint32_t> free_;
};

}  // namespace arcella::component
