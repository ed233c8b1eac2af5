// Canonical ABI strings: loading utf8 / utf16 / latin1+utf16 from memory and
// storing with the spec's transcoding and exact realloc calls
// (CanonicalABI.md "Loading" load_string, "Storing" store_string_*).
#include <cstring>
#include <string>
#include <vector>

#include "component/abi_internal.h"

namespace arcella::component::abi {

namespace {

// One code point of strict UTF-8 (no overlongs, surrogates or values past
// U+10FFFF) at s[*i]; advances *i. False if the bytes there are not one.
bool NextCodePoint(std::string_view s, size_t* i, char32_t* out) {
  auto b0 = static_cast<uint8_t>(s[*i]);
  if (b0 < 0x80) {
    *out = b0;
    ++*i;
    return true;
  }
  int n;
  char32_t cp, min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 1, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 2, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 3, cp = b0 & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (*i + n >= s.size()) return false;
  for (int k = 1; k <= n; ++k) {
    auto b = static_cast<uint8_t>(s[*i + k]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  *out = cp;
  *i += n + 1;
  return true;
}

bool DecodeUtf8(std::string_view s, std::vector<char32_t>* out) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    if (!NextCodePoint(s, &i, &cp)) return false;
    out->push_back(cp);
  }
  return true;
}

// As DecodeUtf8, validating only (no code points kept); ASCII runs are
// checked eight bytes at a time.
bool ValidUtf8(std::string_view s) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    uint64_t w;
    if (i + 8 <= s.size() && (memcpy(&w, s.data() + i, 8), (w & 0x8080808080808080ull) == 0)) {
      i += 8;
    } else if (!NextCodePoint(s, &i, &cp)) {
      return false;
    }
  }
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::vector<uint8_t> EncodeUtf16(const std::vector<char32_t>& cps) {
  std::vector<uint8_t> out;
  out.reserve(cps.size() * 2);
  auto unit = [&](uint32_t u) {
    out.push_back(static_cast<uint8_t>(u));
    out.push_back(static_cast<uint8_t>(u >> 8));
  };
  for (char32_t cp : cps) {
    if (cp < 0x10000) {
      unit(cp);
    } else {
      uint32_t v = cp - 0x10000;
      unit(0xD800 | (v >> 10));
      unit(0xDC00 | (v & 0x3FF));
    }
  }
  return out;
}

// Bytes [ptr, ptr+len) of the current memory (bounds checked by the caller).
uint8_t* At(LiftLowerContext& cx, uint32_t ptr) { return cx.opts->memory->Bytes().data() + ptr; }

void Write(LiftLowerContext& cx, uint32_t ptr, const uint8_t* data, size_t n) {
  if (n) std::memcpy(At(cx, ptr), data, n);
}

using Range = std::pair<uint32_t, uint32_t>;

MaybeTrap CheckDst(LiftLowerContext& cx, uint32_t ptr, uint32_t align, uint64_t len) {
  return CheckReallocResult(cx, ptr, align, len);
}

TrapOr<Range> StoreCopy(LiftLowerContext& cx, uint32_t code_units, uint32_t unit_size,
                        uint32_t align, const std::vector<uint8_t>& encoded) {
  uint32_t len = unit_size * code_units;
  auto p = Reallocate(cx, 0, 0, align, len);
  if (!p.ok()) return p.take_trap();
  if (auto t = CheckDst(cx, p.value(), align, len)) return *t;
  Write(cx, p.value(), encoded.data(), encoded.size());
  return Range{p.value(), code_units};
}

TrapOr<Range> StoreToUtf8(LiftLowerContext& cx, const std::vector<char32_t>& cps,
                          const std::string& utf8, uint32_t code_units, uint64_t worst) {
  auto p = Reallocate(cx, 0, 0, 1, code_units);
  if (!p.ok()) return p.take_trap();
  uint32_t ptr = p.value();
  if (auto t = CheckReallocResult(cx, ptr, 1, code_units)) return *t;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (cps[i] < 0x80) {
      *At(cx, ptr + i) = static_cast<uint8_t>(cps[i]);
      continue;
    }
    if (worst > UINT32_MAX) return AbiTrap("string too long to transcode");
    auto w = static_cast<uint32_t>(worst);
    auto p2 = Reallocate(cx, ptr, code_units, 1, w);
    if (!p2.ok()) return p2.take_trap();
    ptr = p2.value();
    if (auto t = CheckReallocResult(cx, ptr, 1, w)) return *t;
    Write(cx, ptr + i, reinterpret_cast<const uint8_t*>(utf8.data()) + i, utf8.size() - i);
    auto len = static_cast<uint32_t>(utf8.size());
    if (w > len) {
      auto p3 = Reallocate(cx, ptr, w, 1, len);
      if (!p3.ok()) return p3.take_trap();
      ptr = p3.value();
      if (auto t = CheckReallocResult(cx, ptr, 1, len)) return *t;
    }
    return Range{ptr, len};
  }
  return Range{ptr, code_units};
}

TrapOr<Range> StoreUtf8ToUtf16(LiftLowerContext& cx, const std::vector<char32_t>& cps,
                               uint32_t code_units) {
  uint64_t worst = 2ull * code_units;
  if (worst > UINT32_MAX) return AbiTrap("string too long to transcode");
  auto w = static_cast<uint32_t>(worst);
  auto p = Reallocate(cx, 0, 0, 2, w);
  if (!p.ok()) return p.take_trap();
  uint32_t ptr = p.value();
  if (auto t = CheckDst(cx, ptr, 2, w)) return *t;
  std::vector<uint8_t> enc = EncodeUtf16(cps);
  Write(cx, ptr, enc.data(), enc.size());
  auto len = static_cast<uint32_t>(enc.size());
  if (len < w) {
    auto p2 = Reallocate(cx, ptr, w, 2, len);
    if (!p2.ok()) return p2.take_trap();
    ptr = p2.value();
    if (auto t = CheckDst(cx, ptr, 2, len)) return *t;
  }
  return Range{ptr, len / 2};
}

TrapOr<Range> StoreToLatin1OrUtf16(LiftLowerContext& cx, const std::vector<char32_t>& cps,
                                   uint32_t code_units) {
  auto p = Reallocate(cx, 0, 0, 2, code_units);
  if (!p.ok()) return p.take_trap();
  uint32_t ptr = p.value();
  if (auto t = CheckDst(cx, ptr, 2, code_units)) return *t;
  uint32_t dst_len = 0;
  for (char32_t cp : cps) {
    if (cp < 0x100) {
      *At(cx, ptr + dst_len) = static_cast<uint8_t>(cp);
      ++dst_len;
      continue;
    }
    uint64_t worst = 2ull * code_units;
    if (worst > UINT32_MAX) return AbiTrap("string too long to transcode");
    auto w = static_cast<uint32_t>(worst);
    auto p2 = Reallocate(cx, ptr, code_units, 2, w);
    if (!p2.ok()) return p2.take_trap();
    ptr = p2.value();
    if (auto t = CheckDst(cx, ptr, 2, w)) return *t;
    uint8_t* m = At(cx, ptr);
    for (uint32_t j = dst_len; j-- > 0;) {
      m[2 * j] = m[j];
      m[2 * j + 1] = 0;
    }
    std::vector<uint8_t> enc = EncodeUtf16(cps);
    Write(cx, ptr + 2 * dst_len, enc.data() + 2 * dst_len, enc.size() - 2 * dst_len);
    auto len = static_cast<uint32_t>(enc.size());
    if (w > len) {
      auto p3 = Reallocate(cx, ptr, w, 2, len);
      if (!p3.ok()) return p3.take_trap();
      ptr = p3.value();
      if (auto t = CheckDst(cx, ptr, 2, len)) return *t;
    }
    return Range{ptr, (len / 2) | kUtf16Tag};
  }
  if (dst_len < code_units) {
    auto p2 = Reallocate(cx, ptr, code_units, 2, dst_len);
    if (!p2.ok()) return p2.take_trap();
    ptr = p2.value();
    if (auto t = CheckDst(cx, ptr, 2, dst_len)) return *t;
  }
  return Range{ptr, dst_len};
}

TrapOr<Range> StoreProbablyUtf16(LiftLowerContext& cx, const std::vector<char32_t>& cps,
                                 uint32_t code_units) {
  uint64_t src_bytes = 2ull * code_units;
  if (src_bytes > UINT32_MAX) return AbiTrap("string too long to transcode");
  auto sb = static_cast<uint32_t>(src_bytes);
  auto p = Reallocate(cx, 0, 0, 2, sb);
  if (!p.ok()) return p.take_trap();
  uint32_t ptr = p.value();
  if (auto t = CheckDst(cx, ptr, 2, sb)) return *t;
  std::vector<uint8_t> enc = EncodeUtf16(cps);
  Write(cx, ptr, enc.data(), enc.size());
  for (char32_t cp : cps)
    if (cp >= 0x100) return Range{ptr, static_cast<uint32_t>(enc.size() / 2) | kUtf16Tag};
  auto latin1_size = static_cast<uint32_t>(enc.size() / 2);
  for (uint32_t i = 0; i < latin1_size; ++i) *At(cx, ptr + i) = *At(cx, ptr + 2 * i);
  auto p2 = Reallocate(cx, ptr, sb, 1, latin1_size);
  if (!p2.ok()) return p2.take_trap();
  ptr = p2.value();
  if (auto t = CheckReallocResult(cx, ptr, 1, latin1_size)) return *t;
  return Range{ptr, latin1_size};
}

}  // namespace

MaybeTrap LoadStringInto(LiftLowerContext& cx, uint32_t ptr, uint32_t tagged, Val* v) {
  uint64_t byte_length;
  uint32_t align = 2;
  StringOrigin origin;
  switch (cx.opts->encoding) {
    case StringEncoding::kUtf8:
      align = 1;
      byte_length = tagged;
      origin = StringOrigin::kUtf8;
      break;
    case StringEncoding::kUtf16:
      byte_length = 2ull * tagged;
      origin = StringOrigin::kUtf16;
      break;
    case StringEncoding::kLatin1Utf16:
    default:
      if (tagged & kUtf16Tag) {
        byte_length = 2ull * (tagged ^ kUtf16Tag);
        origin = StringOrigin::kLatin1Utf16Tagged;
      } else {
        byte_length = tagged;
        origin = StringOrigin::kLatin1;
      }
      break;
  }
  if (byte_length > kMaxStringByteLength)
    return AbiTrap("string of " + std::to_string(byte_length) + " bytes is longer than 2^28-1");
  if (auto t = CheckAlign(ptr, align, "string")) return *t;
  if (auto t = CheckBounds(cx, ptr, byte_length, "string")) return *t;
  if (auto t = CountNodes(cx, 1)) return *t;
  // Not formed for an empty range: the memory may be empty (no null + 0).
  const uint8_t* m = byte_length ? cx.opts->memory->Bytes().data() + ptr : nullptr;
  v->kind = TypeKind::kString;
  v->str_origin = static_cast<uint8_t>(origin);
  std::string& out = v->str;
  switch (origin) {
    case StringOrigin::kUtf8: {
      if (byte_length) out.assign(reinterpret_cast<const char*>(m), byte_length);
      if (!ValidUtf8(out)) return AbiTrap("string at " + Hex(ptr) + " is not valid UTF-8");
      break;
    }
    case StringOrigin::kLatin1:
      out.reserve(byte_length);
      for (uint64_t i = 0; i < byte_length; ++i) AppendUtf8(m[i], &out);
      break;
    default: {
      out.reserve(byte_length);
      uint64_t n = byte_length / 2;
      for (uint64_t i = 0; i < n; ++i) {
        uint32_t u = m[2 * i] | (m[2 * i + 1] << 8);
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < n) {
          uint32_t u2 = m[2 * i + 2] | (m[2 * i + 3] << 8);
          if (u2 >= 0xDC00 && u2 <= 0xDFFF) {
            AppendUtf8(0x10000 + (((u - 0xD800) << 10) | (u2 - 0xDC00)), &out);
            ++i;
            continue;
          }
        }
        if (u >= 0xD800 && u <= 0xDFFF)
          return AbiTrap("string at " + Hex(ptr) + " is not valid UTF-16 (lone surrogate " +
                         Hex(u) + ")");
        AppendUtf8(u, &out);
      }
      break;
    }
  }
  return std::nullopt;
}

TrapOr<Val> LoadStringFromRange(LiftLowerContext& cx, uint32_t ptr, uint32_t tagged) {
  Val v;
  if (auto t = LoadStringInto(cx, ptr, tagged, &v)) return *std::move(t);
  return v;
}

TrapOr<Range> StoreStringIntoRange(LiftLowerContext& cx, const Val& v) {
  auto origin = static_cast<StringOrigin>(v.str_origin);
  if (v.str_origin > 3) origin = StringOrigin::kUtf8;
  if (origin == StringOrigin::kUtf8 && cx.opts->encoding == StringEncoding::kUtf8) {
    // UTF-8 to UTF-8 (the common case): validated, then copied as is.
    if (!ValidUtf8(v.str)) return AbiTrap("string value is not valid UTF-8");
    if (v.str.size() > kMaxStringByteLength) return AbiTrap("string too long to lower");
    auto len = static_cast<uint32_t>(v.str.size());
    auto p = Reallocate(cx, 0, 0, 1, len);
    if (!p.ok()) return p.take_trap();
    if (auto t = CheckDst(cx, p.value(), 1, len)) return *t;
    Write(cx, p.value(), reinterpret_cast<const uint8_t*>(v.str.data()), len);
    return Range{p.value(), len};
  }
  std::vector<char32_t> cps;
  if (!DecodeUtf8(v.str, &cps)) return AbiTrap("string value is not valid UTF-8");
  if (origin == StringOrigin::kLatin1) {
    for (char32_t cp : cps)
      if (cp >= 0x100) origin = StringOrigin::kUtf8;  // not latin1 after all: a host edit
  }
  uint64_t units = 0;
  switch (origin) {
    case StringOrigin::kUtf8: units = v.str.size(); break;
    case StringOrigin::kLatin1: units = cps.size(); break;
    default:
      for (char32_t cp : cps) units += cp >= 0x10000 ? 2 : 1;
      break;
  }
  if (units > kMaxStringByteLength) return AbiTrap("string too long to lower");
  auto cu = static_cast<uint32_t>(units);
  switch (cx.opts->encoding) {
    case StringEncoding::kUtf8:
      switch (origin) {
        case StringOrigin::kUtf8:
          return StoreCopy(cx, cu, 1, 1, std::vector<uint8_t>(v.str.begin(), v.str.end()));
        case StringOrigin::kLatin1: return StoreToUtf8(cx, cps, v.str, cu, 2ull * cu);
        default: return StoreToUtf8(cx, cps, v.str, cu, 3ull * cu);
      }
    case StringEncoding::kUtf16:
      if (origin == StringOrigin::kUtf8) return StoreUtf8ToUtf16(cx, cps, cu);
      return StoreCopy(cx, cu, 2, 2, EncodeUtf16(cps));
    case StringEncoding::kLatin1Utf16:
    default:
      switch (origin) {
        case StringOrigin::kUtf8:
        case StringOrigin::kUtf16: return StoreToLatin1OrUtf16(cx, cps, cu);
        case StringOrigin::kLatin1: {
          std::vector<uint8_t> bytes(cps.begin(), cps.end());
          return StoreCopy(cx, cu, 1, 2, bytes);
        }
        default: return StoreProbablyUtf16(cx, cps, cu);
      }
  }
}

}  // namespace arcella::component::abi
