// A bounds-checked reader over a component binary, for the decoder only.
//
// Every read either succeeds or returns an InvalidArgument Status whose
// message starts with "offset 0x<hex>: " (the offset is absolute in the
// whole input, so errors inside nested components point at the right byte).
// Decoder-internal (namespace component::decoding); a plain value, not
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"

namespace arcella::component::decoding {

// "offset 0x1d: <what>" as InvalidArgument.
Status OffsetError(size_t offset, const std::string& what);
// "offset 0x1d: <what> not supported yet" as Unsupported.
Status OffsetUnsupported(size_t offset, const std::string& what);

class Reader {
 public:
  // Reads bytes [begin, end) of `all`.
  Reader(std::span<const uint8_t> all, size_t begin, size_t end)
      : all_(all), pos_(begin), end_(end) {}

  size_t pos() const { return pos_; }
  size_t end() const { return end_; }
  bool done() const { return pos_ >= end_; }
  size_t remaining() const { return end_ - pos_; }
  std::span<const uint8_t> all() const { return all_; }

  Status Byte(uint8_t* out);
  Status Peek(uint8_t* out) const;
  Status U32(uint32_t* out);
  Status S33(int64_t* out);
  Status Bytes(size_t n, size_t* begin);  // skips n bytes, *begin = their offset
  // A core:name: u32 length + UTF-8 bytes (validated).
  Status Name(std::string* out);
  // A vector length, checked against the remaining bytes (each element needs
  // at least `min_elem_bytes`), so that a caller may reserve() it.
  Status Count(uint32_t* out, size_t min_elem_bytes = 1);
  // Error at the current position.
  Status Error(const std::string& what) const { return OffsetError(pos_, what); }

 private:
  std::span<const uint8_t> all_;
  size_t pos_;
  size_t end_;
};

bool IsValidUtf8(std::string_view s);
// "0x1f".
std::string HexByte(uint64_t v);

}  // namespace arcella::component::decoding
