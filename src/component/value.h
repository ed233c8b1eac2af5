// Component values: one typed value model shared by the engine API, the
// canonical ABI, WAVE text, the CLI and ALME (MessagePack, docs/ALME.md).
//
//   Val v = Val::Record({Val::String("ann"), Val::List({Val::U8(1), Val::U8(2)})});
//   Val r = Val::ResultOk(Val::U32(7));
//
// A Val does not carry its type: it is read and written against a ValueType
// (types.h), which gives names (record fields, cases, labels) and element
// types. `kind` must equal the type's kind (except for map, below);
// ValMatches() checks a whole tree.
//
// Storage by kind (everything else is left empty / zero):
//   bool            b
//   s8 .. s64       s (sign-extended)
//   u8 .. u64       u
//   f32, f64        f32 / f64 (NaNs kept bit-exact here; the ABI canonicalises)
//   char            c (a Unicode scalar value)
//   string          str (UTF-8)
//   list, tuple     items
//   map<k, v>       kind kList, items = 2-element tuples (key, value), in
//                   order: a map value is the list<tuple<k, v>> it
//                   despecialises to (duplicate keys are not checked)
//   record          items, in the type's field order
//   variant, enum   index = case; variant payload in items[0] if the case has one
//   option          index 0 = none, 1 = some (payload items[0])
//   result          index 0 = ok, 1 = error; payload items[0] if that side has a type
//   flags           u: bit i set = label i set
//   own, borrow     u: the host's handle of the resource; resource: its type
//
// Threads: a value type; copy or move freely.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "component/types.h"

namespace arcella::component {

struct Val {
  TypeKind kind = TypeKind::kBool;
  bool b = false;
  int64_t s = 0;
  uint64_t u = 0;
  float f32 = 0;
  double f64 = 0;
  char32_t c = 0;
  uint32_t index = 0;
  std::string str;
  std::vector<Val> items;
  ResourceRef resource;
  // string only: the encoding the canonical ABI lifted it from
  // (component::StringOrigin, canonical_abi.h; 0 = UTF-8, as for host-made
  // strings). Decides the spec's realloc sizes when it is lowered again. Not
  // part of the value: ValEquals ignores it.
  uint8_t str_origin = 0;

  static Val Bool(bool v);
  static Val S8(int8_t v);
  static Val U8(uint8_t v);
  static Val S16(int16_t v);
  static Val U16(uint16_t v);
  static Val S32(int32_t v);
  static Val U32(uint32_t v);
  static Val S64(int64_t v);
  static Val U64(uint64_t v);
  static Val F32(float v);
  static Val F64(double v);
  static Val Char(char32_t v);
  static Val String(std::string v);
  static Val List(std::vector<Val> items);
  static Val Record(std::vector<Val> fields);
  static Val Tuple(std::vector<Val> items);
  static Val Variant(uint32_t case_index, std::vector<Val> payload = {});  // 0 or 1 item
  static Val Enum(uint32_t case_index);
  static Val None();
  static Val Some(Val v);
  static Val ResultOk(std::vector<Val> payload = {});   // 0 or 1 item
  static Val ResultErr(std::vector<Val> payload = {});  // 0 or 1 item
  static Val Flags(uint64_t bits);
  static Val Own(ResourceRef r, uint64_t handle);
  static Val Borrow(ResourceRef r, uint64_t handle);

  bool has_payload() const { return !items.empty(); }
  const Val& payload() const { return items.front(); }  // only if has_payload()
};

// Structural equality against `type` (floats bit-exact, NaN == NaN with the
// same bits).
bool ValEquals(const Val& a, const Val& b);
// The kind a Val of type `t` has: t.kind, except kList for a map.
inline TypeKind ValKindOf(const ValueType& t) {
  return t.kind == TypeKind::kMap ? TypeKind::kList : t.kind;
}

// True if `v` has the shape of `type` (kinds, arities, case indices, payload
// presence, flags bits within the labels, chars valid, integers in range);
// otherwise false and *why (if given) names the path and problem, e.g.
// "field 'tags', element 3: expected u8, got string".
bool ValMatches(const Val& v, const ValueType& type, std::string* why = nullptr);

// Calls `fn` on every own/borrow inside `v` (which matches `type`), with its
// own<R>/borrow<R> type, depth first in value order; stops at (and returns)
// the first error. How a host rewrites the handles in a value it forwards.
Status ForEachHandle(Val& v, const ValueType& type,
                     const std::function<Status(Val&, const ValueType&)>& fn);

}  // namespace arcella::component
