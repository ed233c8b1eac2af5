#include "alme/val_msgpack.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "alme/utf8.h"

namespace arcella::alme {

using component::TypeKind;
using component::Val;
using component::ValueType;

namespace {

// What a JSON/MessagePack value is, for messages: "string", "map", ...
std::string KindOf(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "nil";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "float";
    case Json::value_t::string: return "string";
    case Json::value_t::binary: return "bin";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "map";
    default: return "unknown";
  }
}

Status Error(const std::string& path, const std::string& what) {
  return Status::InvalidArgument(path + ": " + what);
}

Status Expected(const std::string& path, const std::string& what, const Json& got) {
  return Error(path, "expected " + what + ", got " + KindOf(got));
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// UTF-8 of one code point (a valid scalar value).
std::string Utf8(char32_t c) {
  std::string s;
  auto u = static_cast<uint32_t>(c);
  if (u < 0x80) {
    s += static_cast<char>(u);
  } else if (u < 0x800) {
    s += static_cast<char>(0xc0 | (u >> 6));
    s += static_cast<char>(0x80 | (u & 0x3f));
  } else if (u < 0x10000) {
    s += static_cast<char>(0xe0 | (u >> 12));
    s += static_cast<char>(0x80 | ((u >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (u & 0x3f));
  } else {
    s += static_cast<char>(0xf0 | (u >> 18));
    s += static_cast<char>(0x80 | ((u >> 12) & 0x3f));
    s += static_cast<char>(0x80 | ((u >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (u & 0x3f));
  }
  return s;
}

// The single code point of a valid UTF-8 string, or false.
bool SingleCodePoint(const std::string& s, char32_t* out) {
  if (s.empty() || s.size() > 4 || !IsValidUtf8(s)) return false;
  auto b0 = static_cast<unsigned char>(s[0]);
  size_t len = b0 < 0x80 ? 1 : b0 < 0xe0 ? 2 : b0 < 0xf0 ? 3 : 4;
  if (len != s.size()) return false;
  uint32_t cp = len == 1 ? b0 : b0 & (0x7fu >> len);
  for (size_t i = 1; i < len; ++i) cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3fu);
  *out = static_cast<char32_t>(cp);
  return true;
}

bool IsU8List(const ValueType& t) {
  return t.kind == TypeKind::kList && t.length == 0 && t.elem->kind == TypeKind::kU8;
}

// ---- Encoding ----------------------------------------------------------------

Json Encode(const Val& v, const ValueType& t) {
  switch (t.kind) {
    case TypeKind::kBool: return v.b;
    case TypeKind::kS8:
    case TypeKind::kS16:
    case TypeKind::kS32:
    case TypeKind::kS64: return v.s;
    case TypeKind::kU8:
    case TypeKind::kU16:
    case TypeKind::kU32:
    case TypeKind::kU64: return v.u;
    case TypeKind::kF32: return static_cast<double>(v.f32);
    case TypeKind::kF64: return v.f64;
    case TypeKind::kChar: return Utf8(v.c);
    case TypeKind::kString: return v.str;
    case TypeKind::kMap:  // an array of [key, value] arrays (list<tuple<k, v>>)
    case TypeKind::kList: {
      if (IsU8List(t)) {
        std::vector<uint8_t> bytes;
        bytes.reserve(v.items.size());
        for (const Val& b : v.items) bytes.push_back(static_cast<uint8_t>(b.u));
        return Json::binary(std::move(bytes));
      }
      Json a = Json::array();
      for (const Val& e : v.items) a.push_back(Encode(e, *t.elem));
      return a;
    }
    case TypeKind::kTuple: {
      Json a = Json::array();
      for (size_t i = 0; i < v.items.size(); ++i)
        a.push_back(Encode(v.items[i], *t.fields[i].type));
      return a;
    }
    case TypeKind::kRecord: {
      Json m = Json::object();
      for (size_t i = 0; i < v.items.size(); ++i) {
        m[t.fields[i].name] = Encode(v.items[i], *t.fields[i].type);
      }
      return m;
    }
    case TypeKind::kVariant: {
      const component::Case& c = t.cases[v.index];
      if (!c.type) return c.name;
      return Json{{c.name, Encode(v.payload(), *c.type)}};
    }
    case TypeKind::kEnum: return t.labels[v.index];
    case TypeKind::kOption: {
      if (v.index == 0) return nullptr;
      Json inner = Encode(v.payload(), *t.elem);
      if (t.elem->kind == TypeKind::kOption) return Json{{"some", std::move(inner)}};
      return inner;
    }
    case TypeKind::kResult: {
      bool ok = v.index == 0;
      const component::TypeRef& side = ok ? t.ok : t.err;
      return Json{{ok ? "ok" : "err", side ? Encode(v.payload(), *side) : Json(nullptr)}};
    }
    case TypeKind::kFlags: {
      Json a = Json::array();
      for (size_t i = 0; i < t.labels.size(); ++i) {
        if ((v.u >> i) & 1) a.push_back(t.labels[i]);
      }
      return a;
    }
    case TypeKind::kOwn:
    case TypeKind::kBorrow:
      return Json{{"resource", t.resource ? t.resource->name : std::string()}, {"handle", v.u}};
  }
  return nullptr;
}

// Depth of a value tree (bounded by the caller's limit + 1).
int Depth(const Val& v, int limit) {
  if (limit < 0) return 1;
  int d = 0;
  for (const Val& c : v.items) d = std::max(d, Depth(c, limit - 1));
  return d + 1;
}

// ---- Decoding ----------------------------------------------------------------

class Decoder {
 public:
  explicit Decoder(const DecodeValOptions& o) : options_(o) {}

  Result<Val> Decode(const Json& j, const ValueType& t, const std::string& path, int depth) {
    if (depth > kMaxValDepth) {
      return Error(path, "nested deeper than " + std::to_string(kMaxValDepth) + " levels");
    }
    switch (t.kind) {
      case TypeKind::kBool:
        if (!j.is_boolean()) return Expected(path, "bool", j);
        return Val::Bool(j.get<bool>());
      case TypeKind::kS8: return Signed(j, path, "s8", INT8_MIN, INT8_MAX, TypeKind::kS8);
      case TypeKind::kS16: return Signed(j, path, "s16", INT16_MIN, INT16_MAX, TypeKind::kS16);
      case TypeKind::kS32: return Signed(j, path, "s32", INT32_MIN, INT32_MAX, TypeKind::kS32);
      case TypeKind::kS64: return Signed(j, path, "s64", INT64_MIN, INT64_MAX, TypeKind::kS64);
      case TypeKind::kU8: return Unsigned(j, path, "u8", UINT8_MAX, TypeKind::kU8);
      case TypeKind::kU16: return Unsigned(j, path, "u16", UINT16_MAX, TypeKind::kU16);
      case TypeKind::kU32: return Unsigned(j, path, "u32", UINT32_MAX, TypeKind::kU32);
      case TypeKind::kU64: return Unsigned(j, path, "u64", UINT64_MAX, TypeKind::kU64);
      case TypeKind::kF32:
      case TypeKind::kF64: {
        double d;
        if (j.is_number_float()) {
          d = j.get<double>();
        } else if (j.is_number_unsigned()) {
          d = static_cast<double>(j.get<uint64_t>());
        } else if (j.is_number_integer()) {
          d = static_cast<double>(j.get<int64_t>());
        } else {
          return Expected(path, TypeKindName(t.kind), j);
        }
        if (t.kind == TypeKind::kF64) return Val::F64(d);
        if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
          return Error(path, "f32 out of range");
        }
        return Val::F32(static_cast<float>(d));
      }
      case TypeKind::kChar: {
        if (!j.is_string()) return Expected(path, "char (a one-character string)", j);
        char32_t c;
        if (!SingleCodePoint(j.get_ref<const std::string&>(), &c)) {
          return Error(path, "expected char, got a string that is not one Unicode character");
        }
        return Val::Char(c);
      }
      case TypeKind::kString: {
        if (!j.is_string()) return Expected(path, "string", j);
        const auto& s = j.get_ref<const std::string&>();
        size_t bad = 0;
        if (!IsValidUtf8(s, &bad)) {
          return Error(path, "not valid UTF-8 (byte " + std::to_string(bad) + " of " +
                                 std::to_string(s.size()) + ")");
        }
        return Val::String(s);
      }
      case TypeKind::kMap:  // an array of [key, value] arrays (list<tuple<k, v>>)
      case TypeKind::kList: return List(j, t, path, depth);
      case TypeKind::kTuple: {
        if (!j.is_array()) return Expected(path, "tuple (an array)", j);
        if (j.size() != t.fields.size()) {
          return Error(path, "expected a tuple of " + std::to_string(t.fields.size()) +
                                 " elements, got " + std::to_string(j.size()));
        }
        std::vector<Val> items;
        for (size_t i = 0; i < j.size(); ++i) {
          ARCELLA_ASSIGN_OR_RETURN(Val e, Decode(j[i], *t.fields[i].type,
                                                 path + "[" + std::to_string(i) + "]", depth + 1));
          items.push_back(std::move(e));
        }
        return Val::Tuple(std::move(items));
      }
      case TypeKind::kRecord: {
        if (!j.is_object()) return Expected(path, "record (a map of fields)", j);
        for (auto it = j.begin(); it != j.end(); ++it) {
          const std::string& key = it.key();
          bool known = std::any_of(t.fields.begin(), t.fields.end(),
                                   [&](const component::Field& f) { return f.name == key; });
          if (!known) return Error(path, "unknown field " + Quote(key));
        }
        std::vector<Val> fields;
        for (const auto& f : t.fields) {
          auto it = j.find(f.name);
          if (it == j.end()) return Error(path, "missing field " + Quote(f.name));
          ARCELLA_ASSIGN_OR_RETURN(Val e, Decode(*it, *f.type, path + ".field " + Quote(f.name),
                                                 depth + 1));
          fields.push_back(std::move(e));
        }
        return Val::Record(std::move(fields));
      }
      case TypeKind::kVariant: return Variant(j, t, path, depth);
      case TypeKind::kEnum: {
        if (!j.is_string()) return Expected(path, "enum case (a string)", j);
        const auto& s = j.get_ref<const std::string&>();
        for (size_t i = 0; i < t.labels.size(); ++i) {
          if (t.labels[i] == s) return Val::Enum(static_cast<uint32_t>(i));
        }
        return Error(path, "unknown enum case " + Quote(s));
      }
      case TypeKind::kOption: {
        if (j.is_null()) return Val::None();
        if (t.elem->kind == TypeKind::kOption) {
          // option<option<T>>: some(x) is {"some": x}, so that some(none) is not nil.
          if (!j.is_object() || j.size() != 1 || !j.contains("some")) {
            return Expected(path, "nil or {\"some\": value} (an option of an option)", j);
          }
          ARCELLA_ASSIGN_OR_RETURN(Val e, Decode(j.at("some"), *t.elem, path + ".some", depth + 1));
          return Val::Some(std::move(e));
        }
        ARCELLA_ASSIGN_OR_RETURN(Val e, Decode(j, *t.elem, path + ".some", depth + 1));
        return Val::Some(std::move(e));
      }
      case TypeKind::kResult: {
        if (!j.is_object() || j.size() != 1 || (!j.contains("ok") && !j.contains("err"))) {
          return Expected(path, "result ({\"ok\": value} or {\"err\": value})", j);
        }
        bool ok = j.contains("ok");
        const Json& p = j.at(ok ? "ok" : "err");
        const component::TypeRef& side = ok ? t.ok : t.err;
        std::vector<Val> payload;
        if (side) {
          ARCELLA_ASSIGN_OR_RETURN(Val e,
                                   Decode(p, *side, path + (ok ? ".ok" : ".err"), depth + 1));
          payload.push_back(std::move(e));
        } else if (!p.is_null()) {
          return Error(path + (ok ? ".ok" : ".err"),
                       std::string("expected nil (the result has no ") + (ok ? "ok" : "err") +
                           " type), got " + KindOf(p));
        }
        return ok ? Val::ResultOk(std::move(payload)) : Val::ResultErr(std::move(payload));
      }
      case TypeKind::kFlags: {
        if (!j.is_array()) return Expected(path, "flags (an array of labels)", j);
        uint64_t bits = 0;
        for (size_t i = 0; i < j.size(); ++i) {
          std::string at = path + "[" + std::to_string(i) + "]";
          if (!j[i].is_string()) return Expected(at, "flag label (a string)", j[i]);
          const auto& s = j[i].get_ref<const std::string&>();
          size_t k = 0;
          while (k < t.labels.size() && t.labels[k] != s) ++k;
          if (k == t.labels.size()) return Error(at, "unknown flag " + Quote(s));
          if ((bits >> k) & 1) return Error(at, "flag " + Quote(s) + " given twice");
          bits |= uint64_t{1} << k;
        }
        return Val::Flags(bits);
      }
      case TypeKind::kOwn:
      case TypeKind::kBorrow: {
        const char* kind = t.kind == TypeKind::kOwn ? "own" : "borrow";
        if (!options_.accept_handles) {
          return Error(path, std::string("a resource handle (") + kind +
                                 ") cannot be passed in: handles only come out of calls");
        }
        if (!j.is_object() || !j.contains("handle") || !j.at("handle").is_number_integer() ||
            (!j.at("handle").is_number_unsigned() && j.at("handle").get<int64_t>() < 0)) {
          return Expected(path, "{\"resource\": name, \"handle\": n}", j);
        }
        if (j.contains("resource") && t.resource &&
            (!j.at("resource").is_string() ||
             j.at("resource").get<std::string>() != t.resource->name)) {
          return Error(path,
                       "handle of another resource (expected " + Quote(t.resource->name) + ")");
        }
        uint64_t h = j.at("handle").get<uint64_t>();
        return t.kind == TypeKind::kOwn ? Val::Own(t.resource, h) : Val::Borrow(t.resource, h);
      }
    }
    return Error(path, "unknown type");
  }

 private:
  static Result<Val> Signed(const Json& j, const std::string& path, const char* name, int64_t lo,
                            int64_t hi, TypeKind k) {
    int64_t v;
    if (j.is_number_integer() && !j.is_number_unsigned()) {
      v = j.get<int64_t>();
    } else if (j.is_number_unsigned()) {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(hi)) return Error(path, std::string(name) + " out of range");
      v = static_cast<int64_t>(u);
    } else {
      return Expected(path, name, j);
    }
    if (v < lo || v > hi) return Error(path, std::string(name) + " out of range");
    Val out;
    out.kind = k;
    out.s = v;
    return out;
  }

  static Result<Val> Unsigned(const Json& j, const std::string& path, const char* name, uint64_t hi,
                              TypeKind k) {
    uint64_t v;
    if (j.is_number_unsigned()) {
      v = j.get<uint64_t>();
    } else if (j.is_number_integer()) {
      int64_t s = j.get<int64_t>();
      if (s < 0) return Error(path, std::string(name) + " out of range");
      v = static_cast<uint64_t>(s);
    } else {
      return Expected(path, name, j);
    }
    if (v > hi) return Error(path, std::string(name) + " out of range");
    Val out;
    out.kind = k;
    out.u = v;
    return out;
  }

  Result<Val> List(const Json& j, const ValueType& t, const std::string& path, int depth) {
    std::vector<Val> items;
    if (j.is_binary() && t.elem->kind == TypeKind::kU8) {
      const auto& b = j.get_binary();
      if (t.length != 0 && b.size() != t.length) {
        return Error(path, "expected " + std::to_string(t.length) + " bytes, got " +
                               std::to_string(b.size()));
      }
      items.reserve(b.size());
      for (uint8_t x : b) items.push_back(Val::U8(x));
      return Val::List(std::move(items));
    }
    if (!j.is_array()) {
      return Expected(path,
                      t.elem->kind == TypeKind::kU8 ? "list (an array or bin)" : "list (an array)",
                      j);
    }
    if (t.length != 0 && j.size() != t.length) {
      return Error(path, "expected " + std::to_string(t.length) + " elements, got " +
                             std::to_string(j.size()));
    }
    items.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
      ARCELLA_ASSIGN_OR_RETURN(Val e, Decode(j[i], *t.elem, path + "[" + std::to_string(i) + "]",
                                             depth + 1));
      items.push_back(std::move(e));
    }
    return Val::List(std::move(items));
  }

  Result<Val> Variant(const Json& j, const ValueType& t, const std::string& path, int depth) {
    std::string name;
    const Json* payload = nullptr;
    if (j.is_string()) {
      name = j.get<std::string>();
    } else if (j.is_object() && j.size() == 1) {
      name = j.begin().key();
      payload = &j.begin().value();
    } else {
      return Expected(path, "variant (a case name or {case: payload})", j);
    }
    for (size_t i = 0; i < t.cases.size(); ++i) {
      const component::Case& c = t.cases[i];
      if (c.name != name) continue;
      auto index = static_cast<uint32_t>(i);
      if (!c.type) {
        if (payload != nullptr && !payload->is_null()) {
          return Error(path + ".case " + Quote(name),
                       "case has no payload, got " + KindOf(*payload));
        }
        return Val::Variant(index);
      }
      if (payload == nullptr) return Error(path, "case " + Quote(name) + " needs a payload");
      ARCELLA_ASSIGN_OR_RETURN(Val e,
                               Decode(*payload, *c.type, path + ".case " + Quote(name), depth + 1));
      return Val::Variant(index, {std::move(e)});
    }
    return Error(path, "unknown variant case " + Quote(name));
  }

  DecodeValOptions options_;
};

}  // namespace

Result<Json> EncodeVal(const Val& v, const ValueType& t, const std::string& path) {
  if (Depth(v, kMaxValDepth) > kMaxValDepth) {
    return Error(path, "nested deeper than " + std::to_string(kMaxValDepth) + " levels");
  }
  std::string why;
  if (!component::ValMatches(v, t, &why)) return Error(path, why);
  return Encode(v, t);
}

Result<Val> DecodeVal(const Json& j, const ValueType& t, const std::string& path,
                      const DecodeValOptions& options) {
  Decoder d(options);
  return d.Decode(j, t, path, 0);
}

component::TypeRef CoreValueType(engine::ValType t) {
  switch (t) {
    case engine::ValType::kI32: return ValueType::S32();
    case engine::ValType::kI64: return ValueType::S64();
    case engine::ValType::kF32: return ValueType::F32();
    case engine::ValType::kF64: return ValueType::F64();
    default: return nullptr;
  }
}

}  // namespace arcella::alme
