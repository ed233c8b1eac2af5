#include "component/reader.h"

#include <cstdio>

namespace arcella::component::decoding {

namespace {
std::string Hex(size_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%zx", offset);
  return buf;
}
}  // namespace

std::string HexByte(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

Status OffsetError(size_t offset, const std::string& what) {
  return Status::InvalidArgument("offset " + Hex(offset) + ": " + what);
}

Status OffsetUnsupported(size_t offset, const std::string& what) {
  return Status::Unsupported("offset " + Hex(offset) + ": " + what + " not supported yet");
}

Status Reader::Byte(uint8_t* out) {
  if (pos_ >= end_) return Error("unexpected end-of-file");
  *out = all_[pos_++];
  return Status::Ok();
}

Status Reader::Peek(uint8_t* out) const {
  if (pos_ >= end_) return Error("unexpected end-of-file");
  *out = all_[pos_];
  return Status::Ok();
}

Status Reader::U32(uint32_t* out) {
  size_t start = pos_;
  uint64_t v = 0;
  for (unsigned i = 0; i < 5; ++i) {
    uint8_t b = 0;
    ARCELLA_RETURN_IF_ERROR(Byte(&b));
    if (i == 4 && (b & 0xf0) != 0) {
      return OffsetError(start, "invalid var_u32: integer too large");
    }
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *out = static_cast<uint32_t>(v);
      return Status::Ok();
    }
  }
  return OffsetError(start, "invalid var_u32: integer representation too long");
}

Status Reader::S33(int64_t* out) {
  size_t start = pos_;
  int64_t v = 0;
  unsigned shift = 0;
  for (unsigned i = 0; i < 5; ++i) {
    uint8_t b = 0;
    ARCELLA_RETURN_IF_ERROR(Byte(&b));
    v |= static_cast<int64_t>(b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) == 0) {
      if (i == 4) {
        // 33 bits: the unused high bits must be the sign extension.
        uint8_t high = b & 0x70;
        bool neg = (b & 0x08) != 0;
        if ((neg && high != 0x70) || (!neg && high != 0)) {
          return OffsetError(start, "invalid var_s33: integer too large");
        }
      }
      if (shift < 64 && (b & 0x40) != 0) v |= -(int64_t{1} << shift);
      *out = v;
      return Status::Ok();
    }
  }
  return OffsetError(start, "invalid var_s33: integer representation too long");
}

Status Reader::Bytes(size_t n, size_t* begin) {
  if (remaining() < n) return Error("unexpected end-of-file");
  *begin = pos_;
  pos_ += n;
  return Status::Ok();
}

Status Reader::Name(std::string* out) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(U32(&n));
  size_t begin;
  ARCELLA_RETURN_IF_ERROR(Bytes(n, &begin));
  out->assign(reinterpret_cast<const char*>(all_.data() + begin), n);
  if (!IsValidUtf8(*out)) return OffsetError(begin, "malformed UTF-8 encoding");
  return Status::Ok();
}

Status Reader::Count(uint32_t* out, size_t min_elem_bytes) {
  size_t start = pos_;
  ARCELLA_RETURN_IF_ERROR(U32(out));
  if (min_elem_bytes != 0 && *out > remaining() / min_elem_bytes) {
    return OffsetError(start, "vector length " + std::to_string(*out) +
                                  " is larger than the remaining bytes (unexpected end-of-file)");
  }
  return Status::Ok();
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace arcella::component::decoding
