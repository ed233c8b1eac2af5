// A bounds-checked reader over the bytes [pos, end) of a wasm binary:
// bytes, LEB128 integers and names, for the hand-written scans that run
// before (or around) wabt's reader (preflight.cc, loader_checks.cc).
// Engine-internal; no allocation except Name.
//
// A read past `end`, or a LEB128 longer than allowed, fails and sets
// `failed`, which is sticky: every later read fails too, so a scan may read
// on and check `failed` once. A plain value; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace arcella::engine {

struct ByteReader {
  std::span<const uint8_t> b;
  size_t pos = 0;
  size_t end = 0;
  bool failed = false;

  bool Byte(uint8_t* out) {
    if (failed || pos >= end) return !(failed = true);
    *out = b[pos++];
    return true;
  }
  bool Skip(size_t n) {
    if (failed || end - pos < n) return !(failed = true);
    pos += n;
    return true;
  }
  // An unsigned LEB128 of at most `max_bytes` bytes (5 for u32, 10 for u64).
  bool Leb(unsigned max_bytes, uint64_t* out = nullptr) {
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes; ++i) {
      uint8_t byte;
      if (!Byte(&byte)) return false;
      v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        if (out) *out = v;
        return true;
      }
    }
    return !(failed = true);
  }
  // A u32 LEB128 (at most 5 bytes, value below 2^32).
  bool U32(uint32_t* out) {
    uint64_t v = 0;
    if (!Leb(5, &v)) return false;
    if (v > 0xffffffffu) return !(failed = true);
    *out = static_cast<uint32_t>(v);
    return true;
  }
  // A name: u32 length, then that many bytes (not checked for UTF-8).
  bool Name(std::string* out) {
    uint32_t n = 0;
    if (!U32(&n)) return false;
    if (end - pos < n) return !(failed = true);
    out->assign(reinterpret_cast<const char*>(b.data() + pos), n);
    pos += n;
    return true;
  }
};

}  // namespace arcella::engine
