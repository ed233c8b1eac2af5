// SHA-256 of byte strings, as lower-case hex (content addressing, cache keys).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace arcella {

std::string Sha256Hex(std::span<const uint8_t> data);
std::string Sha256Hex(std::string_view data);

}  // namespace arcella
