// Component values in ALME messages: the MessagePack encoding of
// component::Val against its component::ValueType (docs/ALME.md, "Component
// values (MessagePack)"). Values are nlohmann::json trees, the form ALME
// frames are read into and written from (frame.h).
//
//   Json j = EncodeVal(v, *type);                    // {"name": "ann", "tags": <bin 01 02>}
//   auto back = DecodeVal(j, *type, "args[0]");      // Val, or InvalidArgument
//   // "args[0].field 'tags'[3]: expected u8, got string"
//
// Encoding, by type: bool, integers (full u64/s64 range) and floats as
// MessagePack natives; char and string as str; list as array (list<u8> as
// bin); fixed-length list and tuple as array; record as map field -> value;
// variant as the case name (str) or a one-key map {case: payload}; enum as
// str; option as nil / the value itself ({"some": v} when the payload is an
// option, so that some(none) differs from none); result as {"ok": v} /
// {"err": v} (nil for a side without a type); flags as an array of labels;
// own/borrow as {"resource": name, "handle": n}. Core values i32, i64, f32,
// f64 are the component s32, s64, f32, f64 (CoreValueType()).
//
// Decoding is strict about shape (kinds, ranges, lengths, names, UTF-8) and
// lenient about number encodings (any MessagePack integer in range; a float
// type also takes an integer). Handles come only out of the platform:
// DecodeVal refuses own/borrow unless `accept_handles` (a client reading
// results). Errors: InvalidArgument "<path>: <what>" naming the first bad
// place. Recursion follows the type and is bounded by kMaxValDepth.
// Threads: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "component/types.h"
#include "component/value.h"
#include "engine/types.h"

namespace arcella::alme {

using Json = nlohmann::json;

inline constexpr int kMaxValDepth = 200;  // nesting of values decoded or encoded

// `v` must match `t` (component::ValMatches); otherwise InvalidArgument
// "<path>: ..." like DecodeVal.
Result<Json> EncodeVal(const component::Val& v, const component::ValueType& t,
                       const std::string& path = "value");

struct DecodeValOptions {
  bool accept_handles = false;  // own/borrow as {"resource", "handle"} (results only)
};

Result<component::Val> DecodeVal(const Json& j, const component::ValueType& t,
                                 const std::string& path = "value",
                                 const DecodeValOptions& options = {});

// The component type a core value type is encoded as: i32 -> s32, i64 -> s64,
// f32 -> f32, f64 -> f64; null for v128 and reference types (not encodable).
component::TypeRef CoreValueType(engine::ValType t);

}  // namespace arcella::alme
