#include "tools/cli_values.h"

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace arcella::tools {
namespace {

bool ParseU64(std::string_view t, uint64_t* out, bool* negative) {
  std::string s(t);
  *negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    *negative = s[0] == '-';
    s = s.substr(1);
  }
  if (s.empty()) return false;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s = s.substr(2);
  }
  for (char c : s) {
    if (c == '_') continue;
    if (base == 10 ? !isdigit(static_cast<unsigned char>(c))
                   : !isxdigit(static_cast<unsigned char>(c)))
      return false;
  }
  std::string digits;
  for (char c : s)
    if (c != '_') digits += c;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(digits.c_str(), &end, base);
  if (errno == ERANGE || *end) return false;
  *out = v;
  return true;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  std::string s(text);
  size_t i = 0;
  while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return Status::InvalidArgument("bad size \"" + s + "\": expected e.g. 64MiB");
  double n = strtod(s.substr(0, i).c_str(), nullptr);
  std::string unit = s.substr(i);
  for (auto& c : unit) c = static_cast<char>(tolower(c));
  double mult;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1024.0 * 1024 * 1024;
  else
    return Status::InvalidArgument("bad size \"" + s + "\": unknown unit \"" + unit +
                                   "\" (use B, KiB, MiB or GiB)");
  double bytes = n * mult;
  if (bytes > 1.8e19) return Status::InvalidArgument("size \"" + s + "\" is too large");
  return static_cast<uint64_t>(bytes);
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  std::string s(text);
  size_t i = 0;
  while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0)
    return Status::InvalidArgument("bad duration \"" + s + "\": expected e.g. 500ms or 2s");
  double n = strtod(s.substr(0, i).c_str(), nullptr);
  std::string unit = s.substr(i);
  double mult;
  if (unit.empty() || unit == "s") mult = 1e9;
  else if (unit == "ms") mult = 1e6;
  else if (unit == "us") mult = 1e3;
  else if (unit == "ns") mult = 1;
  else if (unit == "m" || unit == "min") mult = 60e9;
  else if (unit == "h") mult = 3600e9;
  else
    return Status::InvalidArgument("bad duration \"" + s + "\": unknown unit \"" + unit +
                                   "\" (use ns, us, ms, s, m or h)");
  return std::chrono::nanoseconds(static_cast<int64_t>(n * mult));
}

Result<engine::Value> ParseValue(engine::ValType type, std::string_view text) {
  using engine::Value;
  using engine::ValType;
  std::string s(text);
  auto bad = [&](const char* what) {
    return Status::InvalidArgument("expected " + std::string(what) + ", got \"" + s + "\"");
  };
  switch (type) {
    case ValType::kI32:
    case ValType::kI64: {
      uint64_t v;
      bool neg;
      if (!ParseU64(s, &v, &neg)) return bad(engine::ValTypeName(type));
      if (type == ValType::kI32) {
        if (neg ? v > 0x80000000ull : v > 0xffffffffull) return bad("a 32-bit integer");
        return Value::I32(static_cast<uint32_t>(neg ? 0u - v : v));
      }
      if (neg && v > 0x8000000000000000ull) return bad("a 64-bit integer");
      return Value::I64(neg ? 0ull - v : v);
    }
    case ValType::kF32:
    case ValType::kF64: {
      errno = 0;
      char* end = nullptr;
      double d = strtod(s.c_str(), &end);
      if (s.empty() || *end || errno == ERANGE) return bad(engine::ValTypeName(type));
      return type == ValType::kF32 ? Value::F32(static_cast<float>(d)) : Value::F64(d);
    }
    case ValType::kExternRef: {
      if (s == "null") return Value::NullRef(type);
      uint64_t v;
      bool neg;
      if (!ParseU64(s, &v, &neg) || neg) return bad("null or an externref payload");
      return Value::ExternRef(v);
    }
    case ValType::kFuncRef:
      if (s == "null") return Value::NullRef(type);
      return bad("null (only null funcrefs can be passed)");
    case ValType::kV128:
      return Status::Unsupported("v128 arguments cannot be passed from the command line");
  }
  return bad("a value");
}

std::string FormatValue(const engine::Value& v) {
  using engine::ValType;
  char buf[64];
  switch (v.type) {
    case ValType::kI32: snprintf(buf, sizeof buf, "%" PRId32, static_cast<int32_t>(v.i32)); break;
    case ValType::kI64: snprintf(buf, sizeof buf, "%" PRId64, static_cast<int64_t>(v.i64)); break;
    case ValType::kF32: snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v.f32)); break;
    case ValType::kF64: snprintf(buf, sizeof buf, "%.17g", v.f64); break;
    case ValType::kFuncRef:
    case ValType::kExternRef:
      if (v.ref_null) return "null";
      snprintf(buf, sizeof buf, "%" PRIu64, v.ref);
      break;
    case ValType::kV128: return v.ToString();
  }
  return buf;
}

}  // namespace arcella::tools
