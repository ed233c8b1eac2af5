#include "component/types.h"

#include <array>

namespace arcella::component {

const char* TypeKindName(TypeKind k) {
  switch (k) {
    case TypeKind::kBool: return "bool";
    case TypeKind::kS8: return "s8";
    case TypeKind::kU8: return "u8";
    case TypeKind::kS16: return "s16";
    case TypeKind::kU16: return "u16";
    case TypeKind::kS32: return "s32";
    case TypeKind::kU32: return "u32";
    case TypeKind::kS64: return "s64";
    case TypeKind::kU64: return "u64";
    case TypeKind::kF32: return "f32";
    case TypeKind::kF64: return "f64";
    case TypeKind::kChar: return "char";
    case TypeKind::kString: return "string";
    case TypeKind::kList: return "list";
    case TypeKind::kRecord: return "record";
    case TypeKind::kTuple: return "tuple";
    case TypeKind::kVariant: return "variant";
    case TypeKind::kEnum: return "enum";
    case TypeKind::kOption: return "option";
    case TypeKind::kResult: return "result";
    case TypeKind::kFlags: return "flags";
    case TypeKind::kOwn: return "own";
    case TypeKind::kBorrow: return "borrow";
    case TypeKind::kMap: return "map";
  }
  return "?";
}

bool IsPrimitive(TypeKind k) { return k <= TypeKind::kString; }

bool IsMapKey(TypeKind k) { return IsPrimitive(k) && k != TypeKind::kF32 && k != TypeKind::kF64; }

TypeRef ValueType::Prim(TypeKind k) {
  static const auto kNodes = [] {
    std::array<TypeRef, static_cast<size_t>(TypeKind::kString) + 1> a;
    for (size_t i = 0; i < a.size(); ++i) {
      auto t = std::make_shared<ValueType>();
      t->kind = static_cast<TypeKind>(i);
      a[i] = std::move(t);
    }
    return a;
  }();
  if (!IsPrimitive(k)) return nullptr;
  return kNodes[static_cast<size_t>(k)];
}

namespace {
std::shared_ptr<ValueType> Node(TypeKind k) {
  auto t = std::make_shared<ValueType>();
  t->kind = k;
  return t;
}
}  // namespace

TypeRef ValueType::List(TypeRef elem) {
  auto t = Node(TypeKind::kList);
  t->elem = std::move(elem);
  return t;
}
TypeRef ValueType::FixedList(TypeRef elem, uint32_t length) {
  auto t = Node(TypeKind::kList);
  t->elem = std::move(elem);
  t->length = length;
  return t;
}
TypeRef ValueType::Map(TypeRef key, TypeRef value) {
  auto t = Node(TypeKind::kMap);
  t->elem = Tuple({std::move(key), std::move(value)});
  return t;
}
TypeRef ValueType::Record(std::vector<Field> fields) {
  auto t = Node(TypeKind::kRecord);
  t->fields = std::move(fields);
  return t;
}
TypeRef ValueType::Tuple(std::vector<TypeRef> elems) {
  auto t = Node(TypeKind::kTuple);
  for (auto& e : elems) t->fields.push_back({"", std::move(e)});
  return t;
}
TypeRef ValueType::Variant(std::vector<Case> cases) {
  auto t = Node(TypeKind::kVariant);
  t->cases = std::move(cases);
  return t;
}
TypeRef ValueType::Enum(std::vector<std::string> labels) {
  auto t = Node(TypeKind::kEnum);
  t->labels = std::move(labels);
  return t;
}
TypeRef ValueType::Option(TypeRef elem) {
  auto t = Node(TypeKind::kOption);
  t->elem = std::move(elem);
  return t;
}
TypeRef ValueType::Result(TypeRef ok, TypeRef err) {
  auto t = Node(TypeKind::kResult);
  t->ok = std::move(ok);
  t->err = std::move(err);
  return t;
}
TypeRef ValueType::Flags(std::vector<std::string> labels) {
  auto t = Node(TypeKind::kFlags);
  t->labels = std::move(labels);
  return t;
}
TypeRef ValueType::Own(ResourceRef r) {
  auto t = Node(TypeKind::kOwn);
  t->resource = std::move(r);
  return t;
}
TypeRef ValueType::Borrow(ResourceRef r) {
  auto t = Node(TypeKind::kBorrow);
  t->resource = std::move(r);
  return t;
}

namespace {
bool RefEquals(const TypeRef& a, const TypeRef& b) {
  if (!a || !b) return !a && !b;
  return a == b || TypeEquals(*a, *b);
}
}  // namespace

bool TypeEquals(const ValueType& a, const ValueType& b) {
  if (&a == &b) return true;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case TypeKind::kList: return a.length == b.length && RefEquals(a.elem, b.elem);
    case TypeKind::kOption:
    case TypeKind::kMap: return RefEquals(a.elem, b.elem);
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      if (a.fields.size() != b.fields.size()) return false;
      for (size_t i = 0; i < a.fields.size(); ++i)
        if (a.fields[i].name != b.fields[i].name || !RefEquals(a.fields[i].type, b.fields[i].type))
          return false;
      return true;
    case TypeKind::kVariant:
      if (a.cases.size() != b.cases.size()) return false;
      for (size_t i = 0; i < a.cases.size(); ++i)
        if (a.cases[i].name != b.cases[i].name || !RefEquals(a.cases[i].type, b.cases[i].type))
          return false;
      return true;
    case TypeKind::kEnum:
    case TypeKind::kFlags: return a.labels == b.labels;
    case TypeKind::kResult: return RefEquals(a.ok, b.ok) && RefEquals(a.err, b.err);
    case TypeKind::kOwn:
    case TypeKind::kBorrow: return a.resource == b.resource;
    default: return true;  // primitives
  }
}

namespace {
std::string RefToString(const TypeRef& t) { return t ? TypeToString(*t) : "_"; }
std::string ResourceName(const ResourceRef& r) { return r ? r->name : "resource"; }
}  // namespace

std::string TypeToString(const ValueType& t) {
  std::string s;
  switch (t.kind) {
    case TypeKind::kList:
      if (t.length) return "list<" + RefToString(t.elem) + ", " + std::to_string(t.length) + ">";
      return "list<" + RefToString(t.elem) + ">";
    case TypeKind::kOption: return "option<" + RefToString(t.elem) + ">";
    case TypeKind::kMap:
      return "map<" + RefToString(t.map_key()) + ", " + RefToString(t.map_value()) + ">";
    case TypeKind::kTuple:
      s = "tuple<";
      for (size_t i = 0; i < t.fields.size(); ++i)
        s += (i ? ", " : "") + RefToString(t.fields[i].type);
      return s + ">";
    case TypeKind::kRecord:
      s = "record {";
      for (size_t i = 0; i < t.fields.size(); ++i)
        s += (i ? ", " : " ") + t.fields[i].name + ": " + RefToString(t.fields[i].type);
      return s + " }";
    case TypeKind::kVariant:
      s = "variant {";
      for (size_t i = 0; i < t.cases.size(); ++i) {
        s += (i ? ", " : " ") + t.cases[i].name;
        if (t.cases[i].type) s += "(" + TypeToString(*t.cases[i].type) + ")";
      }
      return s + " }";
    case TypeKind::kEnum:
    case TypeKind::kFlags:
      s = std::string(TypeKindName(t.kind)) + " {";
      for (size_t i = 0; i < t.labels.size(); ++i) s += (i ? ", " : " ") + t.labels[i];
      return s + " }";
    case TypeKind::kResult:
      if (!t.ok && !t.err) return "result";
      if (!t.err) return "result<" + RefToString(t.ok) + ">";
      return "result<" + RefToString(t.ok) + ", " + RefToString(t.err) + ">";
    case TypeKind::kOwn: return "own<" + ResourceName(t.resource) + ">";
    case TypeKind::kBorrow: return "borrow<" + ResourceName(t.resource) + ">";
    default: return TypeKindName(t.kind);
  }
}

std::string FuncType::ToString() const {
  std::string s = "func(";
  for (size_t i = 0; i < params.size(); ++i)
    s += (i ? ", " : "") + params[i].name + ": " + RefToString(params[i].type);
  s += ")";
  if (result) s += " -> " + TypeToString(*result);
  return s;
}

bool FuncTypeEquals(const FuncType& a, const FuncType& b) {
  if (a.params.size() != b.params.size()) return false;
  for (size_t i = 0; i < a.params.size(); ++i)
    if (a.params[i].name != b.params[i].name || !RefEquals(a.params[i].type, b.params[i].type))
      return false;
  return RefEquals(a.result, b.result);
}

bool HasHandles(const ValueType& t) {
  if (t.kind == TypeKind::kOwn || t.kind == TypeKind::kBorrow) return true;
  for (const auto* k : {&t.elem, &t.ok, &t.err})
    if (*k && HasHandles(**k)) return true;
  for (const auto& f : t.fields)
    if (f.type && HasHandles(*f.type)) return true;
  for (const auto& c : t.cases)
    if (c.type && HasHandles(*c.type)) return true;
  return false;
}

bool HasHandles(const FuncType& f) {
  for (const auto& p : f.params)
    if (p.type && HasHandles(*p.type)) return true;
  return f.result && HasHandles(*f.result);
}

}  // namespace arcella::component
