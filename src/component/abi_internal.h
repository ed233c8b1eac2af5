// Helpers shared by the canonical ABI's .cc files. Not a public header.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "component/canonical_abi.h"

namespace arcella::component::abi {

inline constexpr uint32_t kMaxStringByteLength = (1u << 28) - 1;
inline constexpr uint32_t kMaxListByteLength = (1u << 28) - 1;
inline constexpr uint32_t kUtf16Tag = 1u << 31;

inline uint64_t AlignTo(uint64_t ptr, uint32_t align) { return (ptr + align - 1) / align * align; }

std::string Hex(uint64_t v);  // "0x1f"

// The payload types of a variant-like type (variant, enum, option, result)
// in case order; null for a case without payload.
void CaseTypes(const ValueType& t, std::vector<const ValueType*>* out);
// The element types of a record or tuple, in order.
inline const std::vector<Field>& FieldsOf(const ValueType& t) { return t.fields; }
// The Val of case `index` of variant-like `t` with its payload (0 or 1 item).
inline Val MakeCase(const ValueType& t, uint32_t index, std::vector<Val> payload) {
  switch (t.kind) {
    case TypeKind::kEnum: return Val::Enum(index);
    case TypeKind::kOption: return index == 0 ? Val::None() : Val::Some(std::move(payload[0]));
    case TypeKind::kResult:
      return index == 0 ? Val::ResultOk(std::move(payload)) : Val::ResultErr(std::move(payload));
    default: return Val::Variant(index, std::move(payload));
  }
}
// The bits a flags type of `n` labels uses.
inline uint64_t FlagsMask(size_t n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }
// Max alignment of the cases' payloads (1 if none).
uint32_t MaxCaseAlignment(const std::vector<const ValueType*>& cases);

// The current bytes of cx's memory, or a trap if the options have none.
TrapOr<std::span<uint8_t>> Memory(LiftLowerContext& cx);
// Trap unless [ptr, ptr+len) lies in memory (re-fetched).
MaybeTrap CheckBounds(LiftLowerContext& cx, uint64_t ptr, uint64_t len, const char* what);
// Trap unless ptr is a multiple of align.
MaybeTrap CheckAlign(uint64_t ptr, uint32_t align, const char* what);
// Trap unless a pointer realloc returned is aligned (align > 1 only) and
// [ptr, ptr+len) lies in memory.
MaybeTrap CheckReallocResult(LiftLowerContext& cx, uint32_t ptr, uint32_t align, uint64_t len);

// Calls the guest's realloc with may_leave cleared (the spec's
// LiftLowerContext.reallocate).
TrapOr<uint32_t> Reallocate(LiftLowerContext& cx, uint32_t old_ptr, uint32_t old_size,
                            uint32_t align, uint32_t new_size);

// Little-endian integer access; the range must have been checked.
inline uint64_t LoadInt(std::span<const uint8_t> mem, uint32_t ptr, uint32_t n) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < n; ++i) v |= uint64_t{mem[ptr + i]} << (8 * i);
  return v;
}
inline void StoreInt(std::span<uint8_t> mem, uint32_t ptr, uint64_t v, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) mem[ptr + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Counts one lifted Val node against cx.max_lift_nodes.
MaybeTrap CountNodes(LiftLowerContext& cx, uint64_t n);

// Traps for a Val that does not fit its type (host bug).
engine::Trap ShapeTrap(const Val& v, const ValueType& t, const std::string& problem = {});

// Floats: canonical NaNs (the spec's deterministic profile).
float CanonF32(float f);
double CanonF64(double d);
inline uint32_t F32Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
inline uint64_t F64Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}
inline float BitsF32(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
inline double BitsF64(uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}
// Trap unless `c` is a Unicode scalar value.
MaybeTrap CheckChar(uint32_t c);

// Strings (abi_strings.cc).
TrapOr<Val> LoadStringFromRange(LiftLowerContext& cx, uint32_t ptr, uint32_t tagged_code_units);
// The same into *out, a default Val (filled in place).
MaybeTrap LoadStringInto(LiftLowerContext& cx, uint32_t ptr, uint32_t tagged_code_units, Val* out);
// Stores `v` (a string Val) with realloc; returns (ptr, tagged code units).
TrapOr<std::pair<uint32_t, uint32_t>> StoreStringIntoRange(LiftLowerContext& cx, const Val& v);

// Load / Store (canonical_abi.h) without their alignment and bounds checks,
// which the caller has made (abi_load_store.cc).
TrapOr<Val> LoadAt(LiftLowerContext& cx, uint32_t ptr, const ValueType& t);
// The same into *out, a default Val (filled in place, no Val moved).
MaybeTrap LoadInto(LiftLowerContext& cx, uint32_t ptr, const ValueType& t, Val* out);
MaybeTrap StoreAt(LiftLowerContext& cx, const Val& v, const ValueType& t, uint32_t ptr);

// Lists (abi_load_store.cc).
TrapOr<Val> LoadListFromRange(LiftLowerContext& cx, uint32_t ptr, uint32_t length,
                              const ValueType& elem);
TrapOr<std::pair<uint32_t, uint32_t>> StoreListIntoRange(LiftLowerContext& cx, const Val& v,
                                                         const ValueType& elem);

// Handles (abi_resources.cc).
TrapOr<Val> LiftOwn(LiftLowerContext& cx, uint32_t i, const ValueType& t);
TrapOr<Val> LiftBorrow(LiftLowerContext& cx, uint32_t i, const ValueType& t);
TrapOr<uint32_t> LowerOwn(LiftLowerContext& cx, const Val& v, const ValueType& t);
TrapOr<uint32_t> LowerBorrow(LiftLowerContext& cx, const Val& v, const ValueType& t);

}  // namespace arcella::component::abi
