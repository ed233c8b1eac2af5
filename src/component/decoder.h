// Decoding and validation of Component Model binaries (Binary.md,
// Explainer.md): every section, nested components, every type constructor,
// names, canonical definitions and the type-checking of instantiations.
//
//   if (IsComponentBinary(bytes)) {
//     auto c = DecodeComponent(bytes);
//     if (!c.ok()) fail(c.status().message());  // "offset 0x1d: ..."
//   }
//
// Hostile input is expected: nothing aborts; nesting of components and
// component/instance types is limited to kMaxNesting levels, value types to
// kMaxTypeDepth levels and kMaxTypeSize nodes (see docs/COMPONENTS.md).
// Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "common/status.h"

namespace arcella::component {

struct Component;  // ast.h

inline constexpr uint32_t kMaxNesting = 64;       // components and component/instance types
inline constexpr uint32_t kMaxTypeDepth = 100;    // nesting of one value type
inline constexpr uint32_t kMaxTypeSize = 100000;  // nodes in one value or function type

// True if `bytes` starts with the component preamble (\0asm, version 0x0d
// 0x00, layer 0x01 0x00).
bool IsComponentBinary(std::span<const uint8_t> bytes);

// Decodes and validates a component binary (nested components too). Errors:
// InvalidArgument "offset N: <what is wrong>" for malformed and invalid
// components; Unsupported "offset N: <feature> ... not supported yet" for
// async (WASI 0.3) features: 0x43 async func types, stream/future/error-context types,
// async canon builtins (task.*, subtask.*, stream.*, future.*, waitable*, context.*, thread.*,
// backpressure, yield), the `async`/`callback` canon options. Never aborts or crashes.
Result<std::shared_ptr<const Component>> DecodeComponent(std::span<const uint8_t> bytes);

}  // namespace arcella::component
