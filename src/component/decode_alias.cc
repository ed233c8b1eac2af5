// Sorts, index checks and alias definitions (instance export, core
// instance export, outer), in components and in component/instance types.
#include "component/decoder.h"
#include "component/decoder_internal.h"

namespace arcella::component::decoding {

Status Decoder::ReadCoreSort(Reader& r, Sort* s) {
  size_t off = r.pos();
  uint8_t b;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&b));
  switch (b) {
    case 0x00: *s = Sort::kCoreFunc; return Status::Ok();
    case 0x01: *s = Sort::kCoreTable; return Status::Ok();
    case 0x02: *s = Sort::kCoreMemory; return Status::Ok();
    case 0x03: *s = Sort::kCoreGlobal; return Status::Ok();
    case 0x04: *s = Sort::kCoreTag; return Status::Ok();
    case 0x10: *s = Sort::kCoreType; return Status::Ok();
    case 0x11: *s = Sort::kCoreModule; return Status::Ok();
    case 0x12: *s = Sort::kCoreInstance; return Status::Ok();
    default: return OffsetError(off, "invalid leading byte (" + HexByte(b) + ") for core sort");
  }
}

Status Decoder::ReadSort(Reader& r, Sort* s) {
  size_t off = r.pos();
  uint8_t b;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&b));
  switch (b) {
    case 0x00: return ReadCoreSort(r, s);
    case 0x01: *s = Sort::kFunc; return Status::Ok();
    case 0x02: *s = Sort::kValue; return Status::Ok();
    case 0x03: *s = Sort::kType; return Status::Ok();
    case 0x04: *s = Sort::kComponent; return Status::Ok();
    case 0x05: *s = Sort::kInstance; return Status::Ok();
    default: return OffsetError(off, "invalid leading byte (" + HexByte(b) + ") for sort");
  }
}

Status Decoder::ReadSortIdx(Reader& r, Sort* s, uint32_t* idx) {
  ARCELLA_RETURN_IF_ERROR(ReadSort(r, s));
  return r.U32(idx);
}

Status Decoder::CheckIndex(size_t off, Sort s, uint32_t idx) {
  if (idx < scope().space(s).size()) return Status::Ok();
  const char* what = s == Sort::kFunc       ? "function"
                     : s == Sort::kCoreFunc ? "core function"
                                            : SortName(s);
  return OffsetError(off, std::string(what) + " index out of bounds (index " + std::to_string(idx) +
                              ", " + std::to_string(scope().space(s).size()) + " defined)");
}

ExternType Decoder::ItemExternType(Sort s, const Item& it) {
  ExternType t = it.type;
  t.sort = s;
  return t;
}

Status Decoder::ReadAlias(Reader& r, Alias* a) {
  ARCELLA_RETURN_IF_ERROR(ReadSort(r, &a->sort));
  size_t off = r.pos();
  uint8_t k;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&k));
  switch (k) {
    case 0x00:
      a->kind = Alias::Kind::kInstanceExport;
      ARCELLA_RETURN_IF_ERROR(r.U32(&a->instance));
      return r.Name(&a->name);
    case 0x01:
      a->kind = Alias::Kind::kCoreInstanceExport;
      ARCELLA_RETURN_IF_ERROR(r.U32(&a->instance));
      return r.Name(&a->name);
    case 0x02:
      a->kind = Alias::Kind::kOuter;
      ARCELLA_RETURN_IF_ERROR(r.U32(&a->outer_count));
      return r.U32(&a->outer_index);
    default: return OffsetError(off, "invalid leading byte (" + HexByte(k) + ") for alias");
  }
}

Status Decoder::ApplyAlias(size_t off, const Alias& a, uint32_t def, bool in_type_scope) {
  Scope& s = scope();
  Item it;
  it.origin = DefKind::kAlias;
  it.def = def;
  switch (a.kind) {
    case Alias::Kind::kInstanceExport: {
      if (a.sort < Sort::kFunc && a.sort != Sort::kCoreModule) {
        return OffsetError(off, std::string("a ") + SortName(a.sort) +
                                    " cannot be aliased from a component instance");
      }
      ARCELLA_RETURN_IF_ERROR(CheckIndex(off, Sort::kInstance, a.instance));
      const ExternDecl* e = FindExport(s.space(Sort::kInstance)[a.instance].type.instance, a.name);
      if (e == nullptr) {
        return OffsetError(off, "instance " + std::to_string(a.instance) +
                                    " has no export named `" + a.name + "`");
      }
      if (e->type.sort != a.sort) {
        return OffsetError(off, "export `" + a.name + "` of instance " +
                                    std::to_string(a.instance) + " is a " + SortName(e->type.sort) +
                                    ", not a " + SortName(a.sort));
      }
      if (in_type_scope && a.sort != Sort::kType && a.sort != Sort::kInstance) {
        return OffsetError(off, "export aliases in types may only refer to types or instances");
      }
      // Types reached through an imported (exported) instance are named by
      // the import (export).
      bool imp = s.imported_instances.count(a.instance) != 0;
      bool exp = s.exported_instances.count(a.instance) != 0;
      if (imp) MarkNamed(e->type, true, 0);
      if (exp) MarkNamed(e->type, false, 0);
      if (a.sort == Sort::kType) {
        AddType(e->type.type, DefKind::kAlias, def, (imp ? 1 : 0) | (exp ? 2 : 0));
        return Status::Ok();
      }
      if (a.sort == Sort::kInstance) {
        auto idx = static_cast<uint32_t>(s.space(Sort::kInstance).size());
        if (imp) s.imported_instances.insert(idx);
        if (exp) s.exported_instances.insert(idx);
      }
      it.type = e->type;
      break;
    }
    case Alias::Kind::kCoreInstanceExport: {
      if (a.sort > Sort::kCoreTag) {
        return OffsetError(off, std::string("a ") + SortName(a.sort) +
                                    " cannot be aliased from a core instance");
      }
      if (in_type_scope) return OffsetError(off, "core export aliases are not allowed in types");
      ARCELLA_RETURN_IF_ERROR(CheckIndex(off, Sort::kCoreInstance, a.instance));
      const engine::ExportDesc* e =
          FindCoreExport(s.space(Sort::kCoreInstance)[a.instance].core_instance, a.name);
      if (e == nullptr) {
        return OffsetError(off, "core instance " + std::to_string(a.instance) +
                                    " has no export named `" + a.name + "`");
      }
      if (static_cast<uint8_t>(e->desc.kind) != static_cast<uint8_t>(a.sort)) {
        return OffsetError(off, "export `" + a.name + "` of core instance " +
                                    std::to_string(a.instance) + " is a " +
                                    engine::ExternKindName(e->desc.kind) + ", not a " +
                                    SortName(a.sort));
      }
      it.core = e->desc;
      break;
    }
    case Alias::Kind::kOuter: {
      bool allowed = a.sort == Sort::kType || a.sort == Sort::kCoreType ||
                     (!in_type_scope &&
                      (a.sort == Sort::kCoreModule || a.sort == Sort::kComponent));
      if (!allowed) {
        return OffsetError(off, std::string("outer item `") + SortName(a.sort) +
                                    "` is not a module, type, or component");
      }
      if (a.outer_count >= scopes_.size()) {
        return OffsetError(off, "invalid outer alias count of " + std::to_string(a.outer_count));
      }
      size_t target = scopes_.size() - 1 - a.outer_count;
      Scope& ts = *scopes_[target];
      if (a.outer_index >= ts.space(a.sort).size()) {
        return OffsetError(off, std::string(SortName(a.sort)) +
                                    " index out of bounds (outer index " +
                                    std::to_string(a.outer_index) + ")");
      }
      const Item& src = ts.space(a.sort)[a.outer_index];
      if (a.sort == Sort::kType) {
        bool crosses = false;
        for (size_t k = target + 1; k < scopes_.size(); ++k) {
          if (scopes_[k]->kind == Scope::Kind::kComponent) crosses = true;
        }
        ExternType et = src.type;
        et.sort = Sort::kType;
        if (crosses && MentionsResource(et)) {
          return OffsetError(off, "the outer type alias transitively refers to resources not "
                                  "defined in the current component");
        }
        // Within one component, an outer alias keeps the name it aliases.
        if (crosses) {
          AddType(src.type.type, DefKind::kAlias, def, 0);
        } else {
          Scope* owner = ts.type_owner[a.outer_index];
          AddType(src.type.type, DefKind::kAlias, def, ts.type_named[a.outer_index],
                  owner != nullptr ? owner : &ts);
        }
        return Status::Ok();
      }
      it.type = src.type;
      it.core_type = src.core_type;
      break;
    }
  }
  s.space(a.sort).push_back(std::move(it));
  return Status::Ok();
}

Status Decoder::AliasSection(Reader& r, Component* c) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n, 3));
  for (uint32_t i = 0; i < n; ++i) {
    size_t off = r.pos();
    Alias a;
    ARCELLA_RETURN_IF_ERROR(ReadAlias(r, &a));
    uint32_t def = static_cast<uint32_t>(c->aliases.size());
    ARCELLA_RETURN_IF_ERROR(ApplyAlias(off, a, def, false));
    c->defs.push_back({DefKind::kAlias, def, off});
    c->aliases.push_back(std::move(a));
  }
  return Status::Ok();
}

}  // namespace arcella::component::decoding
