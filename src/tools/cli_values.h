// Parsing of command-line values: sizes, durations, typed wasm arguments.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/types.h"

namespace arcella::tools {

// "65536", "64KiB", "16MiB", "1GiB", "1G", "512k" -> bytes (binary units).
Result<uint64_t> ParseSize(std::string_view text);
// "500ms", "2s", "1.5s", "1m", "250us", "100" (seconds) -> nanoseconds.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);
// A wasm value of type `type` from text: i32/i64 decimal (signed or
// unsigned) or 0x-hex; f32/f64 decimal, "inf", "-inf", "nan"; refs "null"
// (externref also a decimal payload).
Result<engine::Value> ParseValue(engine::ValType type, std::string_view text);
// The way `arcella run --invoke` prints a result: "42", "-1", "1.5", "null".
std::string FormatValue(const engine::Value& v);

}  // namespace arcella::tools
