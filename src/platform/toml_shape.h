// Bounds on TOML text checked before toml++ sees it. toml++ recurses per
// nesting level: a 400 KB file with a 200,000-deep dotted key (a.a.a...=1)
// or [[[[... overflowed the stack. CheckTomlShape scans the text once
// (strings and comments respected, no allocation per level) and refuses:
//   - text over kMaxTomlBytes;
//   - nesting deeper than kMaxTomlDepth, where the depth of a value is the
//     segments of its table header + the segments of its dotted key + the
//     arrays and inline tables around it ([a.b] c.d = [{e = 1}] is 6 deep);
//   - more than kMaxTomlKeys key segments in all.
// Errors are "FILE:LINE:COL: ..." at the place the bound is crossed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace arcella::platform {

inline constexpr size_t kMaxTomlBytes = 1u << 20;
inline constexpr int kMaxTomlDepth = 32;
inline constexpr size_t kMaxTomlKeys = 10000;

Status CheckTomlShape(std::string_view text, const std::string& file);

}  // namespace arcella::platform
