// Component Model value and function types: the one structural type model
// shared by the decoder, the canonical ABI, WAVE, WIT printing and the CLI.
//
//   TypeRef t = ValueType::Record({{"name", ValueType::String()},
//                                  {"tags", ValueType::List(ValueType::U8())}});
//
// A ValueType is an immutable tree; share nodes freely through TypeRef
// (shared_ptr<const>). Names (record fields, cases, enum and flag labels) are
// kebab-case strings as in the binary. Resource types are compared by
// identity (pointer): each `(resource ...)` definition, and each instantiation
// of a component that defines one, makes a new ResourceType.
//
// Threads: immutable after construction; safe to share across threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace arcella::component {

enum class TypeKind : uint8_t {
  kBool,
  kS8,
  kU8,
  kS16,
  kU16,
  kS32,
  kU32,
  kS64,
  kU64,
  kF32,
  kF64,
  kChar,
  kString,
  kList,
  kRecord,
  kTuple,
  kVariant,
  kEnum,
  kOption,
  kResult,
  kFlags,
  kOwn,
  kBorrow,
  kMap,  // 🗺️ map<k, v>; elem is tuple<k, v> (see ValueType::Map)
};
const char* TypeKindName(TypeKind k);  // WIT spelling: "bool", "s8", ..., "list", "own"
bool IsPrimitive(TypeKind k);          // bool .. string
// <keytype> of a map: bool, integers, char, string (not floats).
bool IsMapKey(TypeKind k);

struct ValueType;
using TypeRef = std::shared_ptr<const ValueType>;

// A resource type. Identity is the object: two handles have the same
// resource type iff they point to the same ResourceType.
struct ResourceType {
  // For messages and WIT: "input-stream", "wasi:io/streams@0.2.0#input-stream",
  // or "resource#N" when no name is known.
  std::string name;
};
using ResourceRef = std::shared_ptr<const ResourceType>;

struct Field {  // record field; tuple element (name empty)
  std::string name;
  TypeRef type;
};
struct Case {  // variant case; `type` null when the case has no payload
  std::string name;
  TypeRef type;
};

// One word where the canonical ABI keeps a type's layout (alignment, size,
// flat count) once it has computed it (component/abi_layout.cc). Not part of
// the type: a copy starts empty (so a copy that is then changed never sees a
// stale layout) and TypeEquals ignores it. Threads: concurrent first uses
// store the same word (relaxed atomics; the layout depends only on the
// immutable type).
class AbiLayoutCache {
 public:
  AbiLayoutCache() = default;
  AbiLayoutCache(const AbiLayoutCache&) noexcept {}
  AbiLayoutCache& operator=(const AbiLayoutCache&) noexcept {
    bits_.store(0, std::memory_order_relaxed);
    return *this;
  }
  uint64_t Load() const { return bits_.load(std::memory_order_relaxed); }  // 0: not computed
  void Store(uint64_t bits) const { bits_.store(bits, std::memory_order_relaxed); }

 private:
  mutable std::atomic<uint64_t> bits_{0};
};

struct ValueType {
  TypeKind kind = TypeKind::kBool;
  TypeRef elem;                     // list<elem>, option<elem>, map: tuple<k, v>
  uint32_t length = 0;              // list<elem, length> (fixed-length); 0: variable
  std::vector<Field> fields;        // record (named), tuple (unnamed)
  std::vector<Case> cases;          // variant
  std::vector<std::string> labels;  // enum cases, flags labels
  TypeRef ok, err;                  // result<ok, err>; either may be null
  ResourceRef resource;             // own<resource>, borrow<resource>
  AbiLayoutCache abi_layout;        // the canonical ABI's, filled in on first use

  static TypeRef Prim(TypeKind k);  // a shared node per primitive kind
  static TypeRef Bool() { return Prim(TypeKind::kBool); }
  static TypeRef S8() { return Prim(TypeKind::kS8); }
  static TypeRef U8() { return Prim(TypeKind::kU8); }
  static TypeRef S16() { return Prim(TypeKind::kS16); }
  static TypeRef U16() { return Prim(TypeKind::kU16); }
  static TypeRef S32() { return Prim(TypeKind::kS32); }
  static TypeRef U32() { return Prim(TypeKind::kU32); }
  static TypeRef S64() { return Prim(TypeKind::kS64); }
  static TypeRef U64() { return Prim(TypeKind::kU64); }
  static TypeRef F32() { return Prim(TypeKind::kF32); }
  static TypeRef F64() { return Prim(TypeKind::kF64); }
  static TypeRef Char() { return Prim(TypeKind::kChar); }
  static TypeRef String() { return Prim(TypeKind::kString); }
  static TypeRef List(TypeRef elem);
  static TypeRef FixedList(TypeRef elem, uint32_t length);  // length > 0
  // 🗺️ map<key, value>. A distinct type (not equal to list<tuple<k, v>>),
  // but its node has `elem` = tuple<key, value> and length 0, so the
  // canonical ABI (size, alignment, flattening, lifting, lowering) treats it
  // exactly as the list<tuple<k, v>> it despecialises to. A map value is a
  // Val of kind kList whose items are 2-element tuples (key, value).
  // key must satisfy IsMapKey.
  static TypeRef Map(TypeRef key, TypeRef value);
  const TypeRef& map_key() const { return elem->fields[0].type; }    // kMap only
  const TypeRef& map_value() const { return elem->fields[1].type; }  // kMap only
  static TypeRef Record(std::vector<Field> fields);
  static TypeRef Tuple(std::vector<TypeRef> elems);
  static TypeRef Variant(std::vector<Case> cases);
  static TypeRef Enum(std::vector<std::string> labels);
  static TypeRef Option(TypeRef elem);
  static TypeRef Result(TypeRef ok, TypeRef err);  // either may be null
  static TypeRef Flags(std::vector<std::string> labels);
  static TypeRef Own(ResourceRef r);
  static TypeRef Borrow(ResourceRef r);
};

// Structural equality (resources by identity).
bool TypeEquals(const ValueType& a, const ValueType& b);
// WIT-like spelling: "list<tuple<u8, string>>", "list<u8, 4>", "record { a: u32 }",
// "variant { none, some(u32) }", "own<input-stream>".
std::string TypeToString(const ValueType& t);

// The string encoding of canonical options (`string-encoding=`).
enum class StringEncoding : uint8_t { kUtf8, kUtf16, kLatin1Utf16 };
const char* StringEncodingName(StringEncoding e);  // "utf8", "utf16", "latin1+utf16"

// A component function type: named parameters and at most one result.
struct FuncType {
  std::vector<Field> params;     // names are kebab-case, unique
  TypeRef result;                // null: no result
  std::string ToString() const;  // "func(a: u32, b: string) -> list<u8>"
};
bool FuncTypeEquals(const FuncType& a, const FuncType& b);
// True if an own/borrow occurs anywhere in `t` / in `f`'s parameters or result.
bool HasHandles(const ValueType& t);
bool HasHandles(const FuncType& f);

}  // namespace arcella::component
