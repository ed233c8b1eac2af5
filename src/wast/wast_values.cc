#include "wast/wast_values.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "wabt/ir.h"

namespace arcella::wast {
namespace {

using engine::TrapKind;
using engine::ValType;
using engine::Value;

constexpr uint32_t kF32Canonical = 0x7fc00000u;
constexpr uint64_t kF64Canonical = 0x7ff8000000000000ull;

bool MatchF32(uint32_t actual, uint32_t expected, wabt::ExpectedNan nan) {
  switch (nan) {
    case wabt::ExpectedNan::Canonical: return (actual & 0x7fffffffu) == kF32Canonical;
    case wabt::ExpectedNan::Arithmetic: return (actual & kF32Canonical) == kF32Canonical;
    case wabt::ExpectedNan::None: break;
  }
  return actual == expected;
}

bool MatchF64(uint64_t actual, uint64_t expected, wabt::ExpectedNan nan) {
  switch (nan) {
    case wabt::ExpectedNan::Canonical: return (actual & 0x7fffffffffffffffull) == kF64Canonical;
    case wabt::ExpectedNan::Arithmetic: return (actual & kF64Canonical) == kF64Canonical;
    case wabt::ExpectedNan::None: break;
  }
  return actual == expected;
}

const char* NanName(wabt::ExpectedNan nan) {
  return nan == wabt::ExpectedNan::Canonical ? "nan:canonical" : "nan:arithmetic";
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

bool IsNullBits(const wabt::Const& c) { return c.ref_bits() == wabt::Const::kRefNullBits; }

}  // namespace

Result<Value> ConstToValue(const wabt::Const& c) {
  switch (c.type()) {
    case wabt::Type::I32: return Value::I32(c.u32());
    case wabt::Type::I64: return Value::I64(c.u64());
    case wabt::Type::F32: return Value::F32Bits(c.f32_bits());
    case wabt::Type::F64: return Value::F64Bits(c.f64_bits());
    case wabt::Type::V128: {
      auto v = c.vec128();
      uint8_t bytes[16];
      for (int i = 0; i < 16; ++i) bytes[i] = v.u8(i);
      return Value::V128(bytes);
    }
    case wabt::Type::FuncRef:
      if (IsNullBits(c)) return Value::NullRef(ValType::kFuncRef);
      return Status::Unsupported("non-null funcref constants as arguments");
    case wabt::Type::ExternRef:
      if (IsNullBits(c)) return Value::NullRef(ValType::kExternRef);
      return Value::ExternRef(c.ref_bits());
    default: return Status::Unsupported(std::string("constant of type ") + c.type().GetName());
  }
}

bool MatchesExpected(const wabt::Const& e, const Value& a) {
  switch (e.type()) {
    case wabt::Type::I32: return a.type == ValType::kI32 && a.i32 == e.u32();
    case wabt::Type::I64: return a.type == ValType::kI64 && a.i64 == e.u64();
    case wabt::Type::F32:
      return a.type == ValType::kF32 && MatchF32(a.i32, e.f32_bits(), e.expected_nan(0));
    case wabt::Type::F64:
      return a.type == ValType::kF64 && MatchF64(a.i64, e.f64_bits(), e.expected_nan(0));
    case wabt::Type::V128: {
      if (a.type != ValType::kV128) return false;
      auto ev = e.vec128();
      uint8_t expected[16];
      for (int i = 0; i < 16; ++i) expected[i] = ev.u8(i);
      wabt::Type lane = e.lane_type();
      if (lane == wabt::Type::F32) {
        for (int i = 0; i < 4; ++i) {
          uint32_t x, y;
          std::memcpy(&x, a.v128 + 4 * i, 4);
          std::memcpy(&y, expected + 4 * i, 4);
          if (!MatchF32(x, y, e.expected_nan(i))) return false;
        }
        return true;
      }
      if (lane == wabt::Type::F64) {
        for (int i = 0; i < 2; ++i) {
          uint64_t x, y;
          std::memcpy(&x, a.v128 + 8 * i, 8);
          std::memcpy(&y, expected + 8 * i, 8);
          if (!MatchF64(x, y, e.expected_nan(i))) return false;
        }
        return true;
      }
      return std::memcmp(a.v128, expected, 16) == 0;
    }
    case wabt::Type::FuncRef:
      if (a.type != ValType::kFuncRef) return false;
      return IsNullBits(e) ? a.ref_null : !a.ref_null;
    case wabt::Type::ExternRef:
      if (a.type != ValType::kExternRef) return false;
      if (IsNullBits(e)) return a.ref_null;
      return !a.ref_null && a.ref == e.ref_bits();
    default: return false;
  }
}

std::string FormatConst(const wabt::Const& c) {
  switch (c.type()) {
    case wabt::Type::I32: return "i32:" + Hex(c.u32());
    case wabt::Type::I64: return "i64:" + Hex(c.u64());
    case wabt::Type::F32:
      return c.is_expected_nan(0) ? std::string("f32:") + NanName(c.expected_nan(0))
                                  : "f32:" + Hex(c.f32_bits());
    case wabt::Type::F64:
      return c.is_expected_nan(0) ? std::string("f64:") + NanName(c.expected_nan(0))
                                  : "f64:" + Hex(c.f64_bits());
    case wabt::Type::V128: {
      std::string s = "v128:";
      auto v = c.vec128();
      bool f32 = c.lane_type() == wabt::Type::F32, f64 = c.lane_type() == wabt::Type::F64;
      int lanes = f64 ? 2 : 4;
      for (int i = 0; i < lanes; ++i) {
        if (i) s += ' ';
        if ((f32 || f64) && c.is_expected_nan(i)) {
          s += NanName(c.expected_nan(i));
        } else {
          s += f64 ? Hex(v.u64(i)) : Hex(v.u32(i));
        }
      }
      return s;
    }
    case wabt::Type::FuncRef: return IsNullBits(c) ? "ref.null func" : "ref.func";
    case wabt::Type::ExternRef:
      return IsNullBits(c) ? "ref.null extern" : "ref.extern " + std::to_string(c.ref_bits());
    default: return "?";
  }
}

std::string FormatValue(const Value& v) {
  switch (v.type) {
    case ValType::kI32: return "i32:" + Hex(v.i32);
    case ValType::kI64: return "i64:" + Hex(v.i64);
    case ValType::kF32: return "f32:" + Hex(v.i32);
    case ValType::kF64: return "f64:" + Hex(v.i64);
    case ValType::kV128: {
      std::string s = "v128:";
      for (int i = 0; i < 4; ++i) {
        uint32_t x;
        std::memcpy(&x, v.v128 + 4 * i, 4);
        s += (i ? " " : "") + Hex(x);
      }
      return s;
    }
    case ValType::kFuncRef: return v.ref_null ? "ref.null func" : "ref.func " + Hex(v.ref);
    case ValType::kExternRef:
      return v.ref_null ? "ref.null extern" : "ref.extern " + std::to_string(v.ref);
  }
  return "?";
}

std::vector<TrapKind> TrapKindsForText(std::string_view text) {
  struct Entry {
    const char* prefix;
    std::vector<TrapKind> kinds;
  };
  static const Entry kTable[] = {
      {"unreachable", {TrapKind::kUnreachable}},
      {"out of bounds memory access", {TrapKind::kMemoryOutOfBounds}},
      {"out of bounds table access", {TrapKind::kTableOutOfBounds}},
      // call_indirect with an index past the table's end.
      {"undefined element", {TrapKind::kTableOutOfBounds, TrapKind::kIndirectCallNull}},
      {"uninitialized element", {TrapKind::kIndirectCallNull}},
      {"indirect call type mismatch", {TrapKind::kIndirectCallTypeMismatch}},
      {"integer divide by zero", {TrapKind::kIntegerDivideByZero}},
      {"integer overflow", {TrapKind::kIntegerOverflow}},
      {"invalid conversion to integer", {TrapKind::kBadConversion}},
      {"call stack exhausted", {TrapKind::kStackExhausted}},
      {"null reference", {TrapKind::kNullReference}},
      {"null function reference", {TrapKind::kNullReference, TrapKind::kIndirectCallNull}},
  };
  for (const Entry& e : kTable) {
    if (text.substr(0, std::strlen(e.prefix)) == e.prefix) return e.kinds;
  }
  return {};
}

}  // namespace arcella::wast
