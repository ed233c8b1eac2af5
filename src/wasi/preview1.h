// The wasi_snapshot_preview1 function table. Internal to src/wasi and tests.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/trap.h"
#include "engine/types.h"
#include "wasi/state.h"

namespace arcella::wasi {

inline constexpr const char* kPreview1Module = "wasi_snapshot_preview1";

// Names and core-wasm signatures of every preview1 import.
struct Preview1Signature {
  const char* name;
  engine::FuncType type;
};
std::vector<Preview1Signature> Preview1Signatures();

// Runs preview1 function `name` against `state` and guest `memory`.
// Writes the errno into results[0] (if the function has a result). Returns a
// kExit trap for proc_exit, a kHostError trap for an unknown name or bad
// argument count/types.
std::optional<engine::Trap> CallPreview1(WasiState& state, std::string_view name,
                                         std::span<uint8_t> memory,
                                         std::span<const engine::Value> args,
                                         std::span<engine::Value> results);

}  // namespace arcella::wasi
