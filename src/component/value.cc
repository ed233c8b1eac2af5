#include "component/value.h"

#include <bit>
#include <cstring>

namespace arcella::component {

namespace {
Val Make(TypeKind k) {
  Val v;
  v.kind = k;
  return v;
}
}  // namespace

Val Val::Bool(bool x) {
  Val v = Make(TypeKind::kBool);
  v.b = x;
  return v;
}
#define ARCELLA_SIGNED(Name, T, K)                                                               \
  Val Val::Name(T x) {                                                                           \
    Val v = Make(TypeKind::K);                                                                   \
    v.s = static_cast<int64_t>(x); /* NOLINT(bugprone-signed-char-misuse): int8_t is a number */ \
    return v;                                                                                    \
  }
#define ARCELLA_UNSIGNED(Name, T, K) \
  Val Val::Name(T x) {               \
    Val v = Make(TypeKind::K);       \
    v.u = x;                         \
    return v;                        \
  }
ARCELLA_SIGNED(S8, int8_t, kS8)
ARCELLA_SIGNED(S16, int16_t, kS16)
ARCELLA_SIGNED(S32, int32_t, kS32)
ARCELLA_SIGNED(S64, int64_t, kS64)
ARCELLA_UNSIGNED(U8, uint8_t, kU8)
ARCELLA_UNSIGNED(U16, uint16_t, kU16)
ARCELLA_UNSIGNED(U32, uint32_t, kU32)
ARCELLA_UNSIGNED(U64, uint64_t, kU64)
#undef ARCELLA_SIGNED
#undef ARCELLA_UNSIGNED

Val Val::F32(float x) {
  Val v = Make(TypeKind::kF32);
  v.f32 = x;
  return v;
}
Val Val::F64(double x) {
  Val v = Make(TypeKind::kF64);
  v.f64 = x;
  return v;
}
Val Val::Char(char32_t x) {
  Val v = Make(TypeKind::kChar);
  v.c = x;
  return v;
}
Val Val::String(std::string x) {
  Val v = Make(TypeKind::kString);
  v.str = std::move(x);
  return v;
}
Val Val::List(std::vector<Val> items) {
  Val v = Make(TypeKind::kList);
  v.items = std::move(items);
  return v;
}
Val Val::Record(std::vector<Val> fields) {
  Val v = Make(TypeKind::kRecord);
  v.items = std::move(fields);
  return v;
}
Val Val::Tuple(std::vector<Val> items) {
  Val v = Make(TypeKind::kTuple);
  v.items = std::move(items);
  return v;
}
Val Val::Variant(uint32_t case_index, std::vector<Val> payload) {
  Val v = Make(TypeKind::kVariant);
  v.index = case_index;
  v.items = std::move(payload);
  return v;
}
Val Val::Enum(uint32_t case_index) {
  Val v = Make(TypeKind::kEnum);
  v.index = case_index;
  return v;
}
Val Val::None() { return Make(TypeKind::kOption); }
Val Val::Some(Val x) {
  Val v = Make(TypeKind::kOption);
  v.index = 1;
  v.items.push_back(std::move(x));
  return v;
}
Val Val::ResultOk(std::vector<Val> payload) {
  Val v = Make(TypeKind::kResult);
  v.items = std::move(payload);
  return v;
}
Val Val::ResultErr(std::vector<Val> payload) {
  Val v = Make(TypeKind::kResult);
  v.index = 1;
  v.items = std::move(payload);
  return v;
}
Val Val::Flags(uint64_t bits) {
  Val v = Make(TypeKind::kFlags);
  v.u = bits;
  return v;
}
Val Val::Own(ResourceRef r, uint64_t handle) {
  Val v = Make(TypeKind::kOwn);
  v.resource = std::move(r);
  v.u = handle;
  return v;
}
Val Val::Borrow(ResourceRef r, uint64_t handle) {
  Val v = Make(TypeKind::kBorrow);
  v.resource = std::move(r);
  v.u = handle;
  return v;
}

bool ValEquals(const Val& a, const Val& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case TypeKind::kBool: return a.b == b.b;
    case TypeKind::kS8:
    case TypeKind::kS16:
    case TypeKind::kS32:
    case TypeKind::kS64: return a.s == b.s;
    case TypeKind::kU8:
    case TypeKind::kU16:
    case TypeKind::kU32:
    case TypeKind::kU64:
    case TypeKind::kFlags: return a.u == b.u;
    case TypeKind::kF32: return std::bit_cast<uint32_t>(a.f32) == std::bit_cast<uint32_t>(b.f32);
    case TypeKind::kF64: return std::bit_cast<uint64_t>(a.f64) == std::bit_cast<uint64_t>(b.f64);
    case TypeKind::kChar: return a.c == b.c;
    case TypeKind::kString: return a.str == b.str;
    case TypeKind::kOwn:
    case TypeKind::kBorrow: return a.resource == b.resource && a.u == b.u;
    default: break;
  }
  if (a.index != b.index || a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); ++i)
    if (!ValEquals(a.items[i], b.items[i])) return false;
  return true;
}

namespace {

bool Fail(std::string* why, const std::string& msg) {
  if (why) *why = msg;
  return false;
}

// `where()` names the part in a message; called only on a mismatch, so a
// long list that matches builds no strings.
template <typename Where>
bool Nested(const Val& v, const TypeRef& t, const Where& where, std::string* why) {
  if (!t) return Fail(why, where() + ": no type");
  std::string inner;
  if (ValMatches(v, *t, why ? &inner : nullptr)) return true;
  return Fail(why, where() + ": " + inner);
}

bool Payload(const Val& v, const TypeRef& t, const std::string& where, std::string* why) {
  if (!t) {
    if (v.items.empty()) return true;
    return Fail(why, where + " has no payload, got one");
  }
  if (v.items.size() != 1) return Fail(why, where + " needs a payload");
  return Nested(
      v.items[0], t, [&where] { return where; }, why);
}

}  // namespace

bool ValMatches(const Val& v, const ValueType& t, std::string* why) {
  if (v.kind != ValKindOf(t))  // a map value is a list of (key, value) tuples
    return Fail(why, std::string("expected ") +
                         (t.kind == TypeKind::kMap ? "list (map)" : TypeKindName(t.kind)) +
                         ", got " + TypeKindName(v.kind));
  switch (t.kind) {
    case TypeKind::kS8: return (v.s >= INT8_MIN && v.s <= INT8_MAX) || Fail(why, "s8 out of range");
    case TypeKind::kS16:
      return (v.s >= INT16_MIN && v.s <= INT16_MAX) || Fail(why, "s16 out of range");
    case TypeKind::kS32:
      return (v.s >= INT32_MIN && v.s <= INT32_MAX) || Fail(why, "s32 out of range");
    case TypeKind::kU8: return v.u <= UINT8_MAX || Fail(why, "u8 out of range");
    case TypeKind::kU16: return v.u <= UINT16_MAX || Fail(why, "u16 out of range");
    case TypeKind::kU32: return v.u <= UINT32_MAX || Fail(why, "u32 out of range");
    case TypeKind::kChar:
      return (v.c < 0xD800 || (v.c > 0xDFFF && v.c <= 0x10FFFF)) ||
             Fail(why, "char is not a Unicode scalar value");
    case TypeKind::kMap:  // elem is tuple<k, v>; length 0
    case TypeKind::kList:
      if (t.length && v.items.size() != t.length)
        return Fail(why, "expected " + std::to_string(t.length) + " elements, got " +
                             std::to_string(v.items.size()));
      for (size_t i = 0; i < v.items.size(); ++i) {
        auto where = [&t, i] {
          return (t.kind == TypeKind::kMap ? "entry " : "element ") + std::to_string(i);
        };
        if (!Nested(v.items[i], t.elem, where, why)) return false;
      }
      return true;
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      if (v.items.size() != t.fields.size())
        return Fail(why, "expected " + std::to_string(t.fields.size()) + " fields, got " +
                             std::to_string(v.items.size()));
      for (size_t i = 0; i < v.items.size(); ++i) {
        auto where = [&t, i] {
          return t.kind == TypeKind::kRecord ? "field '" + t.fields[i].name + "'"
                                             : "element " + std::to_string(i);
        };
        if (!Nested(v.items[i], t.fields[i].type, where, why)) return false;
      }
      return true;
    case TypeKind::kVariant:
      if (v.index >= t.cases.size()) return Fail(why, "case index out of range");
      return Payload(v, t.cases[v.index].type, "case '" + t.cases[v.index].name + "'", why);
    case TypeKind::kEnum:
      return v.index < t.labels.size() || Fail(why, "enum case index out of range");
    case TypeKind::kOption:
      if (v.index > 1) return Fail(why, "option index out of range");
      return v.index == 0 ? Payload(v, nullptr, "none", why) : Payload(v, t.elem, "some", why);
    case TypeKind::kResult:
      if (v.index > 1) return Fail(why, "result index out of range");
      return v.index == 0 ? Payload(v, t.ok, "ok", why) : Payload(v, t.err, "err", why);
    case TypeKind::kFlags:
      return t.labels.size() >= 64 || (v.u >> t.labels.size()) == 0 ||
             Fail(why, "flags value sets a bit past the last label");
    case TypeKind::kOwn:
    case TypeKind::kBorrow:
      return !t.resource || !v.resource || v.resource == t.resource ||
             Fail(why, "handle of resource '" + v.resource->name + "', expected '" +
                           t.resource->name + "'");
    default: return true;
  }
}

Status ForEachHandle(Val& v, const ValueType& type,
                     const std::function<Status(Val&, const ValueType&)>& fn) {
  auto payload = [&](const TypeRef& t) -> Status {
    if (!t || v.items.empty()) return Status::Ok();
    return ForEachHandle(v.items[0], *t, fn);
  };
  switch (type.kind) {
    case TypeKind::kOwn:
    case TypeKind::kBorrow: return fn(v, type);
    case TypeKind::kList:
    case TypeKind::kMap:
      if (!type.elem) return Status::Ok();
      for (Val& item : v.items) ARCELLA_RETURN_IF_ERROR(ForEachHandle(item, *type.elem, fn));
      return Status::Ok();
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      for (size_t i = 0; i < v.items.size() && i < type.fields.size(); ++i)
        if (type.fields[i].type)
          ARCELLA_RETURN_IF_ERROR(ForEachHandle(v.items[i], *type.fields[i].type, fn));
      return Status::Ok();
    case TypeKind::kVariant:
      return v.index < type.cases.size() ? payload(type.cases[v.index].type) : Status::Ok();
    case TypeKind::kOption: return v.index == 1 ? payload(type.elem) : Status::Ok();
    case TypeKind::kResult: return payload(v.index == 0 ? type.ok : type.err);
    default: return Status::Ok();
  }
}

}  // namespace arcella::component
