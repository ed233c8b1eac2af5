// The type section: value types (defvaltype), function types, component and
// instance types with their declarators, resource types, extern types.
#include <algorithm>

#include "component/decoder.h"
#include "component/decoder_internal.h"

namespace arcella::component::decoding {

namespace {

// Primitive value type opcodes 0x7f (bool) .. 0x73 (string).
bool PrimOf(uint8_t op, TypeRef* out) {
  static constexpr TypeKind kKinds[] = {TypeKind::kBool,  TypeKind::kS8,  TypeKind::kU8,
                                        TypeKind::kS16,   TypeKind::kU16, TypeKind::kS32,
                                        TypeKind::kU32,   TypeKind::kS64, TypeKind::kU64,
                                        TypeKind::kF32,   TypeKind::kF64, TypeKind::kChar,
                                        TypeKind::kString};
  if (op > 0x7f || op < 0x73) return false;
  *out = ValueType::Prim(kKinds[0x7f - op]);
  return true;
}

Status AsyncType(size_t off, uint8_t op) {
  switch (op) {
    case 0x66: return OffsetUnsupported(off, "the `stream` type (async, WASI 0.3) is");
    case 0x65: return OffsetUnsupported(off, "the `future` type (async, WASI 0.3) is");
    case 0x64: return OffsetUnsupported(off, "the `error-context` type (async, WASI 0.3) is");
    default: return Status::Ok();
  }
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

void Decoder::AddType(TypeDefRef t, DefKind origin, uint32_t def, uint8_t named, Scope* owner) {
  Item it;
  it.origin = origin;
  it.def = def;
  it.type.sort = Sort::kType;
  it.type.type = std::move(t);
  scope().space(Sort::kType).push_back(std::move(it));
  scope().type_named.push_back(named);
  scope().type_owner.push_back(owner);
}

Status Decoder::ResourceOf(size_t off, uint32_t idx, ResourceRef* out) {
  ARCELLA_RETURN_IF_ERROR(CheckIndex(off, Sort::kType, idx));
  const TypeDef& t = *scope().space(Sort::kType)[idx].type.type;
  if (t.kind != TypeDef::Kind::kResource) {
    return OffsetError(off, "type index " + std::to_string(idx) + " is not a resource type");
  }
  *out = t.resource;
  return Status::Ok();
}

Status Decoder::ReadLabel(Reader& r, const char* what, std::string* out,
                          std::map<std::string, std::string>* seen) {
  size_t off = r.pos();
  ARCELLA_RETURN_IF_ERROR(r.Name(out));
  if (out->empty()) return OffsetError(off, std::string(what) + " name cannot be empty");
  if (!IsKebabLabel(*out)) {
    return OffsetError(off, std::string(what) + " name `" + *out + "` is not in kebab case");
  }
  auto [pos, fresh] = seen->emplace(Lower(*out), *out);
  if (!fresh) {
    return OffsetError(off, std::string(what) + " name `" + *out + "` conflicts with previous " +
                                what + " name `" + pos->second + "`");
  }
  return Status::Ok();
}

Status Decoder::CheckTypeLimits(size_t off, const TypeRef& t) {
  uint64_t depth = 0, size = 1;
  auto child = [&](const TypeRef& c) {
    if (!c) return;
    auto it = type_metrics_.find(c.get());
    uint32_t d = 1, s = 1;
    if (it != type_metrics_.end()) std::tie(d, s) = it->second;
    depth = std::max<uint64_t>(depth, d);
    size += s;
  };
  if (t->kind == TypeKind::kMap) {  // elem is a synthesised tuple<k, v>
    child(t->map_key());
    child(t->map_value());
  } else {
    child(t->elem);
  }
  child(t->ok);
  child(t->err);
  for (const auto& f : t->fields) child(f.type);
  for (const auto& c : t->cases) child(c.type);
  size += t->labels.size();
  if (depth + 1 > kMaxTypeDepth) {
    return OffsetError(off, "type nesting too deep (limit " + std::to_string(kMaxTypeDepth) + ")");
  }
  if (size > kMaxTypeSize) {
    return OffsetError(off,
                       "effective type size exceeds the limit of " + std::to_string(kMaxTypeSize));
  }
  type_metrics_[t.get()] = {static_cast<uint32_t>(depth + 1), static_cast<uint32_t>(size)};
  return Status::Ok();
}

Status Decoder::ReadValType(Reader& r, TypeRef* out) {
  size_t off = r.pos();
  int64_t v;
  ARCELLA_RETURN_IF_ERROR(r.S33(&v));
  if (v >= 0) {
    auto idx = static_cast<uint32_t>(v);
    if (v > UINT32_MAX) return OffsetError(off, "type index out of bounds");
    ARCELLA_RETURN_IF_ERROR(CheckIndex(off, Sort::kType, idx));
    const TypeDef& t = *scope().space(Sort::kType)[idx].type.type;
    if (t.kind != TypeDef::Kind::kValue) {
      return OffsetError(off, "type index " + std::to_string(idx) + " is not a defined type");
    }
    *out = t.value;
    return Status::Ok();
  }
  auto op = static_cast<uint8_t>(v & 0x7f);
  if (v < -64) return OffsetError(off, "invalid value type");
  ARCELLA_RETURN_IF_ERROR(AsyncType(off, op));
  if (!PrimOf(op, out))
    return OffsetError(off, "invalid leading byte (" + HexByte(op) + ") for value type");
  return Status::Ok();
}

Status Decoder::ReadDefValType(Reader& r, uint8_t op, size_t off, TypeRef* out) {
  if (PrimOf(op, out)) return Status::Ok();
  ARCELLA_RETURN_IF_ERROR(AsyncType(off, op));
  uint32_t n;
  switch (op) {
    case 0x72: {  // record
      ARCELLA_RETURN_IF_ERROR(r.Count(&n, 2));
      if (n == 0) return OffsetError(off, "record type must have at least one field");
      std::vector<Field> fields;
      std::map<std::string, std::string> seen;
      for (uint32_t i = 0; i < n; ++i) {
        Field f;
        ARCELLA_RETURN_IF_ERROR(ReadLabel(r, "record field", &f.name, &seen));
        ARCELLA_RETURN_IF_ERROR(ReadValType(r, &f.type));
        fields.push_back(std::move(f));
      }
      *out = ValueType::Record(std::move(fields));
      break;
    }
    case 0x71: {  // variant
      ARCELLA_RETURN_IF_ERROR(r.Count(&n, 3));
      if (n == 0) return OffsetError(off, "variant type must have at least one case");
      std::vector<Case> cases;
      std::map<std::string, std::string> seen;
      for (uint32_t i = 0; i < n; ++i) {
        Case c;
        ARCELLA_RETURN_IF_ERROR(ReadLabel(r, "variant case", &c.name, &seen));
        uint8_t has;
        size_t hoff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.Byte(&has));
        if (has == 1) {
          ARCELLA_RETURN_IF_ERROR(ReadValType(r, &c.type));
        } else if (has != 0) {
          return OffsetError(hoff, "invalid optional value type flag");
        }
        uint8_t refines;
        size_t roff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.Byte(&refines));
        if (refines != 0) return OffsetError(roff, "variant case refinement is not supported");
        cases.push_back(std::move(c));
      }
      *out = ValueType::Variant(std::move(cases));
      break;
    }
    case 0x70: {  // list
      TypeRef e;
      ARCELLA_RETURN_IF_ERROR(ReadValType(r, &e));
      *out = ValueType::List(std::move(e));
      break;
    }
    case 0x67: {  // fixed-length list
      TypeRef e;
      ARCELLA_RETURN_IF_ERROR(ReadValType(r, &e));
      size_t loff = r.pos();
      uint32_t len;
      ARCELLA_RETURN_IF_ERROR(r.U32(&len));
      if (len == 0) return OffsetError(loff, "fixed-length list must have a length above 0");
      *out = ValueType::FixedList(std::move(e), len);
      break;
    }
    case 0x6f: {  // tuple
      ARCELLA_RETURN_IF_ERROR(r.Count(&n));
      if (n == 0) return OffsetError(off, "tuple type must have at least one type");
      std::vector<TypeRef> elems;
      for (uint32_t i = 0; i < n; ++i) {
        TypeRef e;
        ARCELLA_RETURN_IF_ERROR(ReadValType(r, &e));
        elems.push_back(std::move(e));
      }
      *out = ValueType::Tuple(std::move(elems));
      break;
    }
    case 0x6e:    // flags
    case 0x6d: {  // enum
      ARCELLA_RETURN_IF_ERROR(r.Count(&n));
      if (n == 0) {
        return OffsetError(off, std::string(op == 0x6e ? "flags" : "enum") +
                                    (op == 0x6e ? " must have at least one entry"
                                                : " type must have at least one variant"));
      }
      if (op == 0x6e && n > 32) return OffsetError(off, "cannot have more than 32 flags");
      std::vector<std::string> labels;
      std::map<std::string, std::string> seen;
      for (uint32_t i = 0; i < n; ++i) {
        std::string l;
        ARCELLA_RETURN_IF_ERROR(ReadLabel(r, op == 0x6e ? "flag" : "enum tag", &l, &seen));
        labels.push_back(std::move(l));
      }
      *out = op == 0x6e ? ValueType::Flags(std::move(labels)) : ValueType::Enum(std::move(labels));
      break;
    }
    case 0x6b: {  // option
      TypeRef e;
      ARCELLA_RETURN_IF_ERROR(ReadValType(r, &e));
      *out = ValueType::Option(std::move(e));
      break;
    }
    case 0x6a: {  // result
      TypeRef ok, err;
      for (TypeRef* t : {&ok, &err}) {
        uint8_t has;
        size_t hoff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.Byte(&has));
        if (has == 1) {
          ARCELLA_RETURN_IF_ERROR(ReadValType(r, t));
        } else if (has != 0) {
          return OffsetError(hoff, "invalid optional value type flag");
        }
      }
      *out = ValueType::Result(std::move(ok), std::move(err));
      break;
    }
    case 0x69:    // own
    case 0x68: {  // borrow
      size_t ioff = r.pos();
      uint32_t idx;
      ARCELLA_RETURN_IF_ERROR(r.U32(&idx));
      ResourceRef res;
      ARCELLA_RETURN_IF_ERROR(ResourceOf(ioff, idx, &res));
      *out = op == 0x69 ? ValueType::Own(std::move(res)) : ValueType::Borrow(std::move(res));
      uint8_t named = scope().type_named[idx];
      for (Scope* s : {&scope(), scope().type_owner[idx]}) {
        if (s == nullptr) continue;
        if (named & 1) s->named_import.insert(out->get());
        if (named & 2) s->named_export.insert(out->get());
      }
      break;
    }
    case 0x63: {  // 🗺️ map: `0x63 k:<valtype> v:<valtype>` (if k is in <keytype>)
      TypeRef k, v;
      size_t koff = r.pos();
      ARCELLA_RETURN_IF_ERROR(ReadValType(r, &k));
      if (!IsMapKey(k->kind)) {
        return OffsetError(koff, "map key type must be a <keytype> (bool, an integer, char or "
                                 "string), not " +
                                     TypeToString(*k));
      }
      ARCELLA_RETURN_IF_ERROR(ReadValType(r, &v));
      *out = ValueType::Map(std::move(k), std::move(v));
      break;
    }
    default:
      return OffsetError(off,
                         "invalid leading byte (" + HexByte(op) + ") for component defined type");
  }
  return CheckTypeLimits(off, *out);
}

Status Decoder::ReadFuncType(Reader& r, bool async, std::shared_ptr<const FuncType>* out) {
  size_t off = r.pos() - 1;
  if (async) return OffsetUnsupported(off, "async function types (0x43, WASI 0.3) are");
  auto ft = std::make_shared<FuncType>();
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n, 2));
  std::map<std::string, std::string> seen;
  uint64_t size = 0;
  auto add_size = [&](const TypeRef& t) {
    auto it = type_metrics_.find(t.get());
    size += it == type_metrics_.end() ? 1 : it->second.second;
  };
  for (uint32_t i = 0; i < n; ++i) {
    Field p;
    ARCELLA_RETURN_IF_ERROR(ReadLabel(r, "function parameter", &p.name, &seen));
    ARCELLA_RETURN_IF_ERROR(ReadValType(r, &p.type));
    add_size(p.type);
    ft->params.push_back(std::move(p));
  }
  uint8_t rk;
  size_t roff = r.pos();
  ARCELLA_RETURN_IF_ERROR(r.Byte(&rk));
  if (rk == 0x00) {
    ARCELLA_RETURN_IF_ERROR(ReadValType(r, &ft->result));
    add_size(ft->result);
    if (ValueHasBorrow(*ft->result)) {
      return OffsetError(roff, "function result cannot contain a `borrow` type");
    }
  } else if (rk == 0x01) {
    uint8_t z;
    ARCELLA_RETURN_IF_ERROR(r.Byte(&z));
    if (z != 0x00) {
      return OffsetError(roff, "named function results are not supported (expected 0x01 0x00)");
    }
  } else {
    return OffsetError(roff,
                       "invalid leading byte (" + HexByte(rk) + ") for component function results");
  }
  if (size > kMaxTypeSize) {
    return OffsetError(off,
                       "effective type size exceeds the limit of " + std::to_string(kMaxTypeSize));
  }
  *out = std::move(ft);
  return Status::Ok();
}

Status Decoder::ReadDefType(Reader& r, TypeDefRef* out) {
  size_t off = r.pos();
  uint8_t op;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&op));
  auto t = std::make_shared<TypeDef>();
  switch (op) {
    case 0x40:
    case 0x43:
      t->kind = TypeDef::Kind::kFunc;
      ARCELLA_RETURN_IF_ERROR(ReadFuncType(r, op == 0x43, &t->func));
      break;
    case 0x41:
    case 0x42: return ReadComponentOrInstanceType(r, op == 0x41, out);
    case 0x3f: {
      if (scope().kind != Scope::Kind::kComponent) {
        return OffsetError(off, "resources can only be defined within a concrete component");
      }
      uint8_t rep;
      size_t repoff = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.Byte(&rep));
      if (rep != 0x7f) return OffsetError(repoff, "resources can only be represented by `i32`");
      uint8_t has;
      size_t doff = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.Byte(&has));
      if (has == 1) {
        uint32_t f;
        size_t foff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.U32(&f));
        ARCELLA_RETURN_IF_ERROR(CheckIndex(foff, Sort::kCoreFunc, f));
        const engine::FuncType& ft = scope().space(Sort::kCoreFunc)[f].core.func;
        if (ft.params != std::vector<engine::ValType>{engine::ValType::kI32} ||
            !ft.results.empty()) {
          return OffsetError(foff,
                             "wrong signature for a destructor: expected [i32] -> [], found " +
                                 ft.ToString());
        }
        t->dtor = f;
      } else if (has != 0) {
        return OffsetError(doff, "invalid optional destructor flag");
      }
      t->kind = TypeDef::Kind::kResource;
      t->local = true;
      auto res = std::make_shared<ResourceType>();
      res->name = "resource#" + std::to_string(scope().space(Sort::kType).size());
      scope().local_resources.insert(res.get());
      t->resource = std::move(res);
      break;
    }
    default:
      t->kind = TypeDef::Kind::kValue;
      ARCELLA_RETURN_IF_ERROR(ReadDefValType(r, op, off, &t->value));
      // A primitive defined as a type (`(type u64)`, WIT `type size = u64`)
      // gets its own node: the WIT printer names types by node, and the
      // shared ValueType::Prim nodes would make every u64 a `size`.
      if (IsPrimitive(t->value->kind)) t->value = std::make_shared<ValueType>(*t->value);
      break;
  }
  *out = std::move(t);
  return Status::Ok();
}

Status Decoder::ReadComponentOrInstanceType(Reader& r, bool component, TypeDefRef* out) {
  size_t off = r.pos() - 1;
  if (nesting_ >= kMaxNesting) {
    return OffsetError(off, "component and instance types nested too deeply (limit " +
                                std::to_string(kMaxNesting) + ")");
  }
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n));
  Scope s;
  s.kind = component ? Scope::Kind::kComponentType : Scope::Kind::kInstanceType;
  scopes_.push_back(&s);
  ++nesting_;
  Status st;
  for (uint32_t i = 0; i < n && st.ok(); ++i) {
    size_t doff = r.pos();
    uint8_t kind;
    st = r.Byte(&kind);
    if (!st.ok()) break;
    switch (kind) {
      case 0x00: {  // core type
        std::shared_ptr<const CoreType> ct;
        st = ReadCoreType(r, &ct);
        if (!st.ok()) break;
        Item it;
        it.origin = DefKind::kCoreType;
        it.core_type = std::move(ct);
        s.space(Sort::kCoreType).push_back(std::move(it));
        break;
      }
      case 0x01: {  // type
        TypeDefRef t;
        st = ReadDefType(r, &t);
        if (st.ok()) AddType(std::move(t), DefKind::kType, 0, 0);
        break;
      }
      case 0x02: {  // alias
        Alias a;
        st = ReadAlias(r, &a);
        if (st.ok()) st = ApplyAlias(doff, a, 0, true);
        break;
      }
      case 0x03:    // import (component types only)
      case 0x04: {  // export
        if (kind == 0x03 && !component) {
          st = OffsetError(doff, "instance types cannot contain imports");
          break;
        }
        ExternDecl d;
        bool attrs = false;
        st = ReadNameAttrs(r, &d.name, &attrs);
        if (!st.ok()) break;
        st = ReadExternType(r, d.name.label.empty() ? d.name.text : d.name.label, &d.type);
        if (!st.ok()) break;
        if (kind == 0x03) {
          st = CheckImport(doff, d.name, d.type);
          if (!st.ok()) break;
          FreshenInstanceDecl(&d.type);
          AddExternItem(&d.type, DefKind::kImport, 0, true);
          s.imports.push_back(std::move(d));
        } else {
          st = CheckExport(doff, d.name, d.type);
          if (!st.ok()) break;
          FreshenInstanceDecl(&d.type);
          AddExternItem(&d.type, DefKind::kExport, 0, false);
          s.exports.push_back(std::move(d));
        }
        break;
      }
      default:
        st = OffsetError(doff, "invalid leading byte (" + HexByte(kind) + ") for " +
                                   (component ? "component" : "instance") + " type declaration");
    }
  }
  scopes_.pop_back();
  --nesting_;
  ARCELLA_RETURN_IF_ERROR(st);
  auto t = std::make_shared<TypeDef>();
  if (component) {
    t->kind = TypeDef::Kind::kComponent;
    auto ct = std::make_shared<ComponentType>();
    ct->imports = std::move(s.imports);
    ct->exports = std::move(s.exports);
    t->component = std::move(ct);
  } else {
    t->kind = TypeDef::Kind::kInstance;
    auto it = std::make_shared<InstanceType>();
    it->exports = std::move(s.exports);
    t->instance = std::move(it);
  }
  *out = std::move(t);
  return Status::Ok();
}

Status Decoder::ReadExternType(Reader& r, const std::string& name, ExternType* out) {
  size_t off = r.pos();
  uint8_t kind;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&kind));
  size_t ioff = r.pos();
  uint32_t idx = 0;
  switch (kind) {
    case 0x00: {
      uint8_t m;
      ARCELLA_RETURN_IF_ERROR(r.Byte(&m));
      if (m != 0x11) return OffsetError(ioff, "invalid leading byte for core module extern type");
      ioff = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.U32(&idx));
      ARCELLA_RETURN_IF_ERROR(CheckIndex(ioff, Sort::kCoreType, idx));
      const CoreType& ct = *scope().space(Sort::kCoreType)[idx].core_type;
      if (!ct.is_module)
        return OffsetError(ioff,
                           "core type index " + std::to_string(idx) + " is not a module type");
      out->sort = Sort::kCoreModule;
      out->module = ct.module;
      return Status::Ok();
    }
    case 0x01:
    case 0x04:
    case 0x05: {
      ARCELLA_RETURN_IF_ERROR(r.U32(&idx));
      ARCELLA_RETURN_IF_ERROR(CheckIndex(ioff, Sort::kType, idx));
      const TypeDefRef& t = scope().space(Sort::kType)[idx].type.type;
      TypeDef::Kind want = kind == 0x01   ? TypeDef::Kind::kFunc
                           : kind == 0x04 ? TypeDef::Kind::kComponent
                                          : TypeDef::Kind::kInstance;
      const char* what = kind == 0x01 ? "function" : kind == 0x04 ? "component" : "instance";
      const char* article = kind == 0x05 ? " is not an " : " is not a ";
      if (t->kind != want) {
        return OffsetError(ioff, "type index " + std::to_string(idx) + article + what + " type");
      }
      out->sort = kind == 0x01 ? Sort::kFunc : kind == 0x04 ? Sort::kComponent : Sort::kInstance;
      out->func = t->func;
      out->component = t->component;
      out->instance = t->instance;
      return Status::Ok();
    }
    case 0x02: {
      uint8_t b;
      ARCELLA_RETURN_IF_ERROR(r.Byte(&b));
      out->sort = Sort::kValue;
      if (b == 0x00) {
        size_t voff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.U32(&idx));
        ARCELLA_RETURN_IF_ERROR(CheckIndex(voff, Sort::kValue, idx));
        out->value = scope().space(Sort::kValue)[idx].type.value;
        return Status::Ok();
      }
      if (b == 0x01) return ReadValType(r, &out->value);
      return OffsetError(ioff, "invalid leading byte for value bound");
    }
    case 0x03: {
      uint8_t b;
      ARCELLA_RETURN_IF_ERROR(r.Byte(&b));
      out->sort = Sort::kType;
      if (b == 0x00) {
        size_t toff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.U32(&idx));
        ARCELLA_RETURN_IF_ERROR(CheckIndex(toff, Sort::kType, idx));
        out->type = scope().space(Sort::kType)[idx].type.type;
        return Status::Ok();
      }
      if (b == 0x01) {
        auto t = std::make_shared<TypeDef>();
        t->kind = TypeDef::Kind::kResource;
        t->resource = std::make_shared<ResourceType>(ResourceType{name});
        out->type = std::move(t);
        out->sub_resource = true;
        return Status::Ok();
      }
      return OffsetError(ioff, "invalid leading byte for type bound");
    }
    default:
      return OffsetError(off, "invalid leading byte (" + HexByte(kind) + ") for extern type");
  }
}

}  // namespace arcella::component::decoding
