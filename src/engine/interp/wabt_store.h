// C++17, wabt side of the interpreter tier: store groups and value
// conversion (see wabt_glue.h for the design).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include <wabt/interp/interp.h>

#include "engine/interp/wabt_glue.h"

namespace arcella::engine::interp::glue {

namespace wi = wabt::interp;

struct StoreGroup {
  StoreGroup();
  wi::Store store;
  std::recursive_mutex mu;
  uint64_t id;                  // process-unique, < 2^24
  size_t objects_after_gc = 0;  // object count after the last Collect()
  // Collects garbage if no wabt Thread is active and enough objects piled up.
  void MaybeCollect(bool force = false);
};

GType FromWabtType(wabt::Type t);
wabt::Type ToWabtType(GType t);

// Converts a wabt value of type `t` to a GValue.
GValue FromWabt(StoreGroup& g, wabt::Type t, const wi::Value& v);
// Converts a GValue to a wabt value. Fails (with a message) only for a
// funcref produced by another group or a stale handle.
std::optional<std::string> ToWabt(StoreGroup& g, const GValue& v, wi::Value* out);

}  // namespace arcella::engine::interp::glue
