// A tiny byte builder for hand-assembled component binaries in the decoder
// tests (no dependency on a text parser). Test-only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace arcella::component::testing {

using CompBytes = std::vector<uint8_t>;

struct CompBuilder {
  CompBytes b;
  CompBuilder& Byte(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  CompBuilder& Bytes(std::initializer_list<uint8_t> v) {
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  CompBuilder& Raw(const CompBytes& v) {
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  CompBuilder& U32(uint32_t v) {
    do {
      uint8_t byte = v & 0x7f;
      v >>= 7;
      if (v != 0) byte |= 0x80;
      b.push_back(byte);
    } while (v != 0);
    return *this;
  }
  // A type index where a valtype is expected (signed LEB128, s33).
  CompBuilder& TypeIdx(uint32_t v) {
    uint64_t x = v;
    while (true) {
      uint8_t byte = x & 0x7f;
      x >>= 7;
      if (x == 0 && (byte & 0x40) == 0) {
        b.push_back(byte);
        return *this;
      }
      b.push_back(byte | 0x80);
    }
  }
  CompBuilder& Name(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  // A section: id, size, body.
  CompBuilder& Section(uint8_t id, const CompBytes& body) {
    Byte(id);
    U32(static_cast<uint32_t>(body.size()));
    return Raw(body);
  }
};

inline CompBytes CompPreamble() { return {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00}; }

// A component from sections (each already framed by CompBuilder::Section).
inline CompBytes CompOf(std::initializer_list<CompBytes> sections) {
  CompBytes out = CompPreamble();
  for (const auto& s : sections) out.insert(out.end(), s.begin(), s.end());
  return out;
}

inline CompBytes CompSection(uint8_t id, const CompBytes& body) {
  CompBuilder s;
  s.Section(id, body);
  return s.b;
}

// A core module: (func "f" (param i32) (result i32)), (func "realloc"
// (param i32 i32 i32 i32) (result i32)), (memory "mem" 1), (func "drop" (param i32)).
inline CompBytes CompCoreModule() {
  CompBuilder m;
  m.Bytes({0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00});
  m.Section(1, {0x03, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f,
                0x60, 0x01, 0x7f, 0x00});
  m.Section(3, {0x03, 0x00, 0x01, 0x02});
  m.Section(5, {0x01, 0x00, 0x01});
  CompBuilder ex;
  ex.U32(4).Name("f").Bytes({0x00, 0x00}).Name("realloc").Bytes({0x00, 0x01});
  ex.Name("mem").Bytes({0x02, 0x00}).Name("drop").Bytes({0x00, 0x02});
  m.Section(7, ex.b);
  m.Section(10,
            {0x03, 0x04, 0x00, 0x20, 0x00, 0x0b, 0x04, 0x00, 0x41, 0x00, 0x0b, 0x02, 0x00, 0x0b});
  return m.b;
}

}  // namespace arcella::component::testing
