#include "engine/value_text.h"

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace arcella::engine {
namespace {

// Unsigned magnitude and sign of a decimal or 0x-hex integer.
bool ParseMagnitude(std::string_view t, uint64_t* out, bool* negative) {
  *negative = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    *negative = t[0] == '-';
    t.remove_prefix(1);
  }
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  std::string digits;
  for (char c : t) {
    if (c == '_') continue;
    bool ok = base == 10 ? isdigit(static_cast<unsigned char>(c))
                         : isxdigit(static_cast<unsigned char>(c));
    if (!ok) return false;
    digits += c;
  }
  if (digits.empty()) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(digits.c_str(), &end, base);
  if (errno == ERANGE || *end) return false;
  *out = v;
  return true;
}

}  // namespace

Result<engine::Value> ParseValue(engine::ValType type, std::string_view text) {
  using engine::ValType;
  using engine::Value;
  std::string s(text);
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument("expected " + what + ", got \"" + s + "\"");
  };
  switch (type) {
    case ValType::kI32:
    case ValType::kI64: {
      uint64_t v;
      bool neg;
      if (!ParseMagnitude(s, &v, &neg)) return bad(engine::ValTypeName(type));
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
      if (!ParseMagnitude(s, &v, &neg) || neg) return bad("null or an externref payload");
      return Value::ExternRef(v);
    }
    case ValType::kFuncRef:
      if (s == "null") return Value::NullRef(type);
      return bad("null (only null funcrefs can be passed)");
    case ValType::kV128: return Status::Unsupported("v128 arguments cannot be passed as text");
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

Result<std::vector<engine::Value>> ParseArgs(std::string_view name, const engine::FuncType& fn,
                                             const std::vector<std::string>& texts) {
  if (texts.size() != fn.params.size())
    return Status::InvalidArgument(std::string(name) + " has type " + fn.ToString() +
                                   ": expected " + std::to_string(fn.params.size()) +
                                   " argument(s), got " + std::to_string(texts.size()));
  std::vector<engine::Value> out;
  out.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto v = ParseValue(fn.params[i], texts[i]);
    if (!v.ok())
      return v.status().WithContext(std::string(name) + ": argument " + std::to_string(i + 1));
    out.push_back(*v);
  }
  return out;
}

}  // namespace arcella::engine
