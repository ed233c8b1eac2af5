// CoreModuleBytes: the core modules a component carries, in the order its
// instantiation meets them (its own, then each nested component's, depth
// first). What compiles a component ahead of instantiation (install, `arcella
// run`) and what hands its code to a worker walk them in this order.
//
// Thread-safety: a pure function of an immutable Component.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "component/ast.h"

namespace arcella::component {

// Spans into c.bytes (valid as long as `c`).
std::vector<std::span<const uint8_t>> CoreModuleBytes(const Component& c);

}  // namespace arcella::component
