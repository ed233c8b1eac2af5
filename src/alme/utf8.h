// UTF-8 validation of decoded ALME messages. MessagePack strings are meant
// to be UTF-8 but nothing enforces it; a malformed one stored by the
// platform would make every later JSON rendering of it throw. So every
// string and map key of a request is checked at the boundary.
// Internal to src/alme.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace arcella::alme {

// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points
// past U+10FFFF). Otherwise sets *bad_offset to the first bad byte.
bool IsValidUtf8(std::string_view s, size_t* bad_offset = nullptr);

// Finds the first string or map key in `v` that is not UTF-8 and describes
// it, e.g. `params.overrides.env["A"]: not valid UTF-8 (byte 3 of 5)`.
// `path` names `v` ("params"). Returns an empty string if all is well.
std::string FindInvalidUtf8(const nlohmann::json& v, const std::string& path);

}  // namespace arcella::alme
