// Core types in components (function and module types), core extern types,
// and the type-checking of core module instantiation.
#include "component/decoder.h"
#include "component/decoder_internal.h"

namespace arcella::component::decoding {

using engine::ExternKind;
using engine::ValType;

Status Decoder::ReadCoreValType(Reader& r, ValType* out) {
  size_t off = r.pos();
  uint8_t b;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&b));
  switch (b) {
    case 0x7f: *out = ValType::kI32; return Status::Ok();
    case 0x7e: *out = ValType::kI64; return Status::Ok();
    case 0x7d: *out = ValType::kF32; return Status::Ok();
    case 0x7c: *out = ValType::kF64; return Status::Ok();
    case 0x7b: *out = ValType::kV128; return Status::Ok();
    case 0x70: *out = ValType::kFuncRef; return Status::Ok();
    case 0x6f: *out = ValType::kExternRef; return Status::Ok();
    case 0x63:
    case 0x64: return OffsetUnsupported(off, "typed references (GC proposal) are");
    default: return OffsetError(off, "invalid core value type (" + HexByte(b) + ")");
  }
}

Status Decoder::ReadCoreFuncType(Reader& r, engine::FuncType* out) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n));
  for (uint32_t i = 0; i < n; ++i) {
    ValType t;
    ARCELLA_RETURN_IF_ERROR(ReadCoreValType(r, &t));
    out->params.push_back(t);
  }
  ARCELLA_RETURN_IF_ERROR(r.Count(&n));
  for (uint32_t i = 0; i < n; ++i) {
    ValType t;
    ARCELLA_RETURN_IF_ERROR(ReadCoreValType(r, &t));
    out->results.push_back(t);
  }
  return Status::Ok();
}

Status Decoder::ReadLimits(Reader& r, engine::Limits* out, bool memory) {
  size_t off = r.pos();
  uint8_t flags;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&flags));
  if (flags == 0x02 || flags == 0x03) {
    return OffsetUnsupported(off, "shared memories (threads proposal) are");
  }
  if (flags >= 0x04 && flags <= 0x07) {
    return OffsetUnsupported(off, "64-bit memories and tables (memory64) are");
  }
  if (flags > 0x01) return OffsetError(off, "invalid limits flags (" + HexByte(flags) + ")");
  uint32_t v;
  ARCELLA_RETURN_IF_ERROR(r.U32(&v));
  out->min = v;
  if (flags == 0x01) {
    ARCELLA_RETURN_IF_ERROR(r.U32(&v));
    out->has_max = true;
    out->max = v;
    if (out->max < out->min)
      return OffsetError(off, "size minimum must not be greater than maximum");
  }
  if (memory && (out->min > 65536 || (out->has_max && out->max > 65536))) {
    return OffsetError(off, "memory size must be at most 65536 pages (4GiB)");
  }
  return Status::Ok();
}

Status Decoder::ReadCoreExternType(Reader& r, engine::ExternDesc* out) {
  size_t off = r.pos();
  uint8_t k;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&k));
  switch (k) {
    case 0x00:
    case 0x04: {
      if (k == 0x04) {
        uint8_t attr;
        ARCELLA_RETURN_IF_ERROR(r.Byte(&attr));
        if (attr != 0) return OffsetError(off + 1, "invalid tag attribute");
      }
      size_t ioff = r.pos();
      uint32_t idx;
      ARCELLA_RETURN_IF_ERROR(r.U32(&idx));
      // Resolved by the caller against the module type's own type space.
      out->kind = k == 0x00 ? ExternKind::kFunc : ExternKind::kTag;
      out->limits.min = idx;
      out->limits.max = ioff;
      return Status::Ok();
    }
    case 0x01: {
      out->kind = ExternKind::kTable;
      ARCELLA_RETURN_IF_ERROR(ReadCoreValType(r, &out->value_type));
      if (out->value_type != ValType::kFuncRef && out->value_type != ValType::kExternRef) {
        return OffsetError(off + 1, "table element type must be a reference type");
      }
      return ReadLimits(r, &out->limits, false);
    }
    case 0x02: out->kind = ExternKind::kMemory; return ReadLimits(r, &out->limits, true);
    case 0x03: {
      out->kind = ExternKind::kGlobal;
      ARCELLA_RETURN_IF_ERROR(ReadCoreValType(r, &out->value_type));
      uint8_t m;
      size_t moff = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.Byte(&m));
      if (m > 1) return OffsetError(moff, "malformed mutability");
      out->mut = m == 1;
      return Status::Ok();
    }
    default:
      return OffsetError(off, "invalid leading byte (" + HexByte(k) + ") for core extern type");
  }
}

Status Decoder::ReadCoreType(Reader& r, std::shared_ptr<const CoreType>* out) {
  size_t off = r.pos();
  uint8_t op;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&op));
  auto ct = std::make_shared<CoreType>();
  if (op == 0x60) {
    ARCELLA_RETURN_IF_ERROR(ReadCoreFuncType(r, &ct->func));
    *out = std::move(ct);
    return Status::Ok();
  }
  if (op == 0x00 || op == 0x4e || op == 0x4f || op == 0x5e || op == 0x5f) {
    return OffsetUnsupported(off, "core GC types (WebAssembly 3.0) are");
  }
  if (op != 0x50)
    return OffsetError(off, "invalid leading byte (" + HexByte(op) + ") for core type");
  ct->is_module = true;
  auto mt = std::make_shared<ModuleType>();
  std::vector<engine::FuncType> types;  // the module type's own core type space
  std::set<std::pair<std::string, std::string>> import_names;
  std::set<std::string> export_names;
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n));
  auto resolve = [&](engine::ExternDesc* d) -> Status {
    if (d->kind != ExternKind::kFunc && d->kind != ExternKind::kTag) return Status::Ok();
    auto idx = static_cast<uint32_t>(d->limits.min);
    size_t ioff = d->limits.max;
    d->limits = {};
    if (idx >= types.size()) return OffsetError(ioff, "type index out of bounds");
    d->func = types[idx];
    return Status::Ok();
  };
  for (uint32_t i = 0; i < n; ++i) {
    size_t doff = r.pos();
    uint8_t k;
    ARCELLA_RETURN_IF_ERROR(r.Byte(&k));
    switch (k) {
      case 0x00: {
        engine::ImportDesc im;
        ARCELLA_RETURN_IF_ERROR(r.Name(&im.module));
        ARCELLA_RETURN_IF_ERROR(r.Name(&im.name));
        ARCELLA_RETURN_IF_ERROR(ReadCoreExternType(r, &im.desc));
        ARCELLA_RETURN_IF_ERROR(resolve(&im.desc));
        if (!import_names.emplace(im.module, im.name).second) {
          return OffsetError(doff, "duplicate import name `" + im.module + ":" + im.name + "`");
        }
        mt->imports.push_back(std::move(im));
        break;
      }
      case 0x01: {
        size_t toff = r.pos();
        uint8_t t;
        ARCELLA_RETURN_IF_ERROR(r.Byte(&t));
        if (t == 0x50) return OffsetError(toff, "module types cannot be nested in module types");
        if (t != 0x60) {
          return OffsetError(toff, "invalid leading byte (" + HexByte(t) + ") for core type");
        }
        engine::FuncType f;
        ARCELLA_RETURN_IF_ERROR(ReadCoreFuncType(r, &f));
        types.push_back(std::move(f));
        break;
      }
      case 0x02: {
        uint8_t s1, s2;
        ARCELLA_RETURN_IF_ERROR(r.Byte(&s1));
        ARCELLA_RETURN_IF_ERROR(r.Byte(&s2));
        if (s1 != 0x10 || s2 != 0x01) {
          return OffsetError(doff, "module type aliases may only be outer aliases of core types");
        }
        uint32_t ct_count, idx;
        ARCELLA_RETURN_IF_ERROR(r.U32(&ct_count));
        ARCELLA_RETURN_IF_ERROR(r.U32(&idx));
        if (ct_count == 0) {
          if (idx >= types.size()) return OffsetError(doff, "type index out of bounds");
          types.push_back(types[idx]);
          break;
        }
        if (ct_count > scopes_.size()) {
          return OffsetError(doff, "invalid outer alias count of " + std::to_string(ct_count));
        }
        Scope& ts = *scopes_[scopes_.size() - ct_count];
        if (idx >= ts.space(Sort::kCoreType).size()) {
          return OffsetError(doff, "type index out of bounds");
        }
        const CoreType& src = *ts.space(Sort::kCoreType)[idx].core_type;
        if (src.is_module)
          return OffsetError(doff, "module types cannot be aliased into module types");
        types.push_back(src.func);
        break;
      }
      case 0x03: {
        engine::ExportDesc ex;
        ARCELLA_RETURN_IF_ERROR(r.Name(&ex.name));
        ARCELLA_RETURN_IF_ERROR(ReadCoreExternType(r, &ex.desc));
        ARCELLA_RETURN_IF_ERROR(resolve(&ex.desc));
        if (!export_names.insert(ex.name).second) {
          return OffsetError(doff, "export name `" + ex.name + "` already defined");
        }
        mt->exports.push_back(std::move(ex));
        break;
      }
      default:
        return OffsetError(doff,
                           "invalid leading byte (" + HexByte(k) + ") for module type declaration");
    }
  }
  ct->module = std::move(mt);
  *out = std::move(ct);
  return Status::Ok();
}

Status Decoder::CheckCoreInstantiate(size_t off, const ModuleType& m,
                                     const std::vector<CoreInstanceDef::Arg>& args) {
  std::unordered_map<std::string, const CoreInstanceDef::Arg*> by_name;
  for (const auto& a : args) by_name.emplace(a.name, &a);
  for (const auto& im : m.imports) {
    auto found = by_name.find(im.module);
    const CoreInstanceDef::Arg* arg = found == by_name.end() ? nullptr : found->second;
    if (arg == nullptr) {
      return OffsetError(off, "missing module instantiation argument named `" + im.module + "`");
    }
    const engine::ExportDesc* e =
        FindCoreExport(scope().space(Sort::kCoreInstance)[arg->instance].core_instance, im.name);
    if (e == nullptr) {
      return OffsetError(off, "module instantiation argument `" + im.module +
                                  "` does not export an item named `" + im.name + "`");
    }
    std::string why = CoreExternSubtype(e->desc, im.desc);
    if (!why.empty()) {
      return OffsetError(off, "type mismatch for export `" + im.name +
                                  "` of module instantiation argument `" + im.module + "`: " + why);
    }
  }
  return Status::Ok();
}

}  // namespace arcella::component::decoding
