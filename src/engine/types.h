// Value types, values and signatures shared by every engine tier.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace arcella::engine {

enum class ValType : uint8_t { kI32, kI64, kF32, kF64, kV128, kFuncRef, kExternRef };

const char* ValTypeName(ValType t);  // "i32", "funcref", ...

// A WebAssembly value. Reference values: `ref_null` tells null; a non-null
// externref carries the host's 64-bit payload in `ref`; a non-null funcref
// carries an opaque handle meaningful only to the instance that produced it.
struct Value {
  ValType type = ValType::kI32;
  union {
    uint32_t i32;
    uint64_t i64;
    float f32;
    double f64;
    uint8_t v128[16];
    uint64_t ref;
  };
  bool ref_null = false;

  Value() { std::memset(v128, 0, sizeof v128); }
  static Value I32(uint32_t v) {
    Value x;
    x.type = ValType::kI32;
    x.i32 = v;
    return x;
  }
  static Value I64(uint64_t v) {
    Value x;
    x.type = ValType::kI64;
    x.i64 = v;
    return x;
  }
  static Value F32(float v) {
    Value x;
    x.type = ValType::kF32;
    x.f32 = v;
    return x;
  }
  static Value F64(double v) {
    Value x;
    x.type = ValType::kF64;
    x.f64 = v;
    return x;
  }
  static Value F32Bits(uint32_t b) {
    Value x;
    x.type = ValType::kF32;
    x.i32 = b;
    return x;
  }
  static Value F64Bits(uint64_t b) {
    Value x;
    x.type = ValType::kF64;
    x.i64 = b;
    return x;
  }
  static Value V128(const uint8_t bytes[16]) {
    Value x;
    x.type = ValType::kV128;
    std::memcpy(x.v128, bytes, 16);
    return x;
  }
  static Value NullRef(ValType t) {
    Value x;
    x.type = t;
    x.ref_null = true;
    return x;
  }
  static Value ExternRef(uint64_t payload) {
    Value x;
    x.type = ValType::kExternRef;
    x.ref = payload;
    return x;
  }

  // "i32:42", "f64:1.5", "externref:7", "funcref:null", "v128:0x...".
  std::string ToString() const;
};

struct FuncType {
  std::vector<ValType> params;
  std::vector<ValType> results;
  bool operator==(const FuncType&) const = default;
  std::string ToString() const;  // "(i32, i64) -> (f32)"
};

enum class ExternKind : uint8_t { kFunc, kTable, kMemory, kGlobal, kTag };
const char* ExternKindName(ExternKind k);

struct Limits {
  uint64_t min = 0;
  bool has_max = false;
  uint64_t max = 0;
};

// Describes one import or export. `func` is set for functions; `limits` for
// tables/memories (table elem type in `value_type`); `value_type`/`mut` for globals.
struct ExternDesc {
  ExternKind kind = ExternKind::kFunc;
  FuncType func;
  Limits limits;
  ValType value_type = ValType::kI32;
  bool mut = false;
};

struct ImportDesc {
  std::string module;
  std::string name;
  ExternDesc desc;
};

struct ExportDesc {
  std::string name;
  ExternDesc desc;
};

}  // namespace arcella::engine
