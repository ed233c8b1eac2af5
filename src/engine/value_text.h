// Wasm values as text, for `call` and `arcella run --invoke`: arguments are
// parsed by the export's signature, results printed the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/types.h"

namespace arcella::engine {

// A value of `type` from text: i32/i64 decimal (signed or unsigned, `_`
// separators allowed) or 0x-hex; f32/f64 decimal, "inf", "-inf", "nan";
// refs "null" (externref also a decimal payload). v128 is refused.
Result<engine::Value> ParseValue(engine::ValType type, std::string_view text);

// "42", "-1", "1.5", "null": i32/i64 signed decimal, floats round-trippable.
std::string FormatValue(const engine::Value& v);

// Parses `texts` as the parameters of `fn` (named `name` in errors):
// wrong count -> "add has type (i32, i32) -> (i32): expected 2 argument(s), got 1";
// bad value  -> "add: argument 2: expected i32, got \"x\"".
Result<std::vector<engine::Value>> ParseArgs(std::string_view name, const engine::FuncType& fn,
                                             const std::vector<std::string>& texts);

}  // namespace arcella::engine
