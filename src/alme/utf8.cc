#include "alme/utf8.h"

#include <cctype>
#include <cstdint>

namespace arcella::alme {

bool IsValidUtf8(std::string_view s, size_t* bad_offset) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    uint8_t c = p[i];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    if (n - i < len) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) {
        if (bad_offset) *bad_offset = i;
        return false;
      }
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

namespace {

std::string Describe(const std::string& where, std::string_view s, size_t bad) {
  return where + ": not valid UTF-8 (bad byte at offset " + std::to_string(bad) + " of " +
         std::to_string(s.size()) + "); strings must be UTF-8";
}

// A printable rendering of a key for a path: the key if it is UTF-8.
std::string KeyPath(const std::string& path, const std::string& key) {
  bool plain = !key.empty();
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) plain = false;
  }
  if (plain) return path + "." + key;
  return path + "[" + nlohmann::json(key).dump() + "]";
}

}  // namespace

std::string FindInvalidUtf8(const nlohmann::json& v, const std::string& path) {
  size_t bad = 0;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (!IsValidUtf8(s, &bad)) return Describe(path, s, bad);
    return {};
  }
  if (v.is_array()) {
    size_t i = 0;
    for (const auto& x : v) {
      std::string e = FindInvalidUtf8(x, path + "[" + std::to_string(i++) + "]");
      if (!e.empty()) return e;
    }
    return {};
  }
  if (v.is_object()) {
    size_t i = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++i) {
      if (!IsValidUtf8(it.key(), &bad))
        return Describe(path + ": key #" + std::to_string(i + 1), it.key(), bad);
      std::string e = FindInvalidUtf8(it.value(), KeyPath(path, it.key()));
      if (!e.empty()) return e;
    }
  }
  return {};
}

}  // namespace arcella::alme
