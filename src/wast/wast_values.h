// Script constants, expectations and trap texts of .wast scripts, mapped
// onto engine values and trap kinds. Internal to the spec-test runner.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/trap.h"
#include "engine/types.h"

namespace wabt {
struct Const;
}

namespace arcella::wast {

// An argument constant -> engine value (refs: ref.null T, ref.extern N).
Result<engine::Value> ConstToValue(const wabt::Const& c);

// Does `actual` satisfy the expectation `expected`? Floats compare bit for
// bit unless the expectation is nan:canonical / nan:arithmetic (also per
// v128 lane); `ref.func` matches any non-null funcref, `ref.extern N` the
// externref with payload N.
bool MatchesExpected(const wabt::Const& expected, const engine::Value& actual);

// "i32:0x2a", "f32:nan:canonical", "v128:i32x4 ...", "ref.extern 7".
std::string FormatConst(const wabt::Const& c);
std::string FormatValue(const engine::Value& v);

// Trap kinds that satisfy a script's trap text ("integer divide by zero").
// Empty if the text is not recognised (the runner then accepts any trap).
std::vector<engine::TrapKind> TrapKindsForText(std::string_view text);

}  // namespace arcella::wast
