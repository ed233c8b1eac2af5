// Import and export names and definitions: name attributes, strong
// uniqueness, [constructor]/[method]/[static] rules, `implements`, external
// visibility of types, and the import and export sections.
#include <functional>

#include "component/decoder.h"
#include "component/decoder_internal.h"

namespace arcella::component::decoding {

namespace {

bool IsNominal(TypeKind k) {
  return k == TypeKind::kRecord || k == TypeKind::kVariant || k == TypeKind::kEnum ||
         k == TypeKind::kFlags || k == TypeKind::kOwn || k == TypeKind::kBorrow;
}

using NamedFn = std::function<bool(const ValueType*)>;

// Walks `t`: every record/variant/enum/flags/own/borrow node below must be
// named; the root itself is checked when `check_root`.
bool AllNamed(const ValueType& t, bool check_root, const NamedFn& named) {
  if (IsNominal(t.kind) && check_root) return named(&t);
  if (t.kind == TypeKind::kOwn || t.kind == TypeKind::kBorrow) return true;
  auto sub = [&](const TypeRef& c) { return !c || AllNamed(*c, true, named); };
  if (!sub(t.elem) || !sub(t.ok) || !sub(t.err)) return false;
  for (const auto& f : t.fields) {
    if (!sub(f.type)) return false;
  }
  for (const auto& c : t.cases) {
    if (!sub(c.type)) return false;
  }
  return true;
}

// The nodes and resources a list of declarations names by importing or
// exporting them as types.
struct DeclNames {
  std::set<const ValueType*> values;
  std::set<const ResourceType*> resources;
  bool Has(const ValueType* v) const {
    if (values.count(v) != 0) return true;
    return (v->kind == TypeKind::kOwn || v->kind == TypeKind::kBorrow) &&
           resources.count(v->resource.get()) != 0;
  }
};

void CollectNames(const std::vector<ExternDecl>& decls, DeclNames* out, int depth) {
  if (depth > static_cast<int>(kMaxNesting)) return;
  for (const auto& e : decls) {
    if (e.type.sort == Sort::kType && e.type.type->kind == TypeDef::Kind::kValue) {
      out->values.insert(e.type.type->value.get());
    } else if (e.type.sort == Sort::kType && e.type.type->kind == TypeDef::Kind::kResource) {
      out->resources.insert(e.type.type->resource.get());
    } else if (e.type.sort == Sort::kInstance) {
      CollectNames(e.type.instance->exports, out, depth + 1);
    }
  }
}

// "" if every type `t` uses is named, else the sort name for the message.
std::string Visible(const ExternType& t, const NamedFn& named, int depth) {
  switch (t.sort) {
    case Sort::kFunc:
      for (const auto& p : t.func->params) {
        if (!AllNamed(*p.type, true, named)) return "func";
      }
      if (t.func->result && !AllNamed(*t.func->result, true, named)) return "func";
      return "";
    case Sort::kValue: return AllNamed(*t.value, true, named) ? "" : "value";
    case Sort::kType: {
      const TypeDef& d = *t.type;
      ExternType inner;
      inner.sort = d.kind == TypeDef::Kind::kFunc        ? Sort::kFunc
                   : d.kind == TypeDef::Kind::kInstance  ? Sort::kInstance
                   : d.kind == TypeDef::Kind::kComponent ? Sort::kComponent
                                                         : Sort::kType;
      if (d.kind == TypeDef::Kind::kValue) {
        return AllNamed(*d.value, false, named) ? "" : "type";
      }
      if (inner.sort == Sort::kType) return "";
      inner.func = d.func;
      inner.instance = d.instance;
      inner.component = d.component;
      return Visible(inner, named, depth).empty() ? "" : "type";
    }
    case Sort::kInstance:
    case Sort::kComponent: {
      if (depth > static_cast<int>(kMaxNesting)) return "";
      DeclNames own;
      std::vector<const std::vector<ExternDecl>*> lists;
      if (t.sort == Sort::kInstance) {
        lists = {&t.instance->exports};
      } else {
        lists = {&t.component->imports, &t.component->exports};
      }
      for (const auto* l : lists) CollectNames(*l, &own, 0);
      NamedFn inner = [&](const ValueType* v) { return own.Has(v) || named(v); };
      for (const auto* l : lists) {
        for (const auto& e : *l) {
          if (!Visible(e.type, inner, depth + 1).empty()) return SortName(t.sort);
        }
      }
      return "";
    }
    default: return "";
  }
}

void MarkValue(const TypeRef& t, std::set<const ValueType*>* named) {
  if (!t) return;
  if (!named->insert(t.get()).second) return;
  MarkValue(t->elem, named);
  MarkValue(t->ok, named);
  MarkValue(t->err, named);
  for (const auto& f : t->fields) MarkValue(f.type, named);
  for (const auto& c : t->cases) MarkValue(c.type, named);
}

}  // namespace

Status Decoder::ReadNameAttrs(Reader& r, ExternName* out, bool* has_attributes) {
  size_t off = r.pos();
  uint8_t k;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&k));
  if (k > 0x02) return OffsetError(off, "invalid leading byte for an import or export name");
  size_t noff = r.pos();
  std::string text;
  ARCELLA_RETURN_IF_ERROR(r.Name(&text));
  std::string why = ParseExternName(text, out);
  if (!why.empty()) {
    return OffsetError(noff, "`" + text + "` is not a valid extern name: " + why);
  }
  *has_attributes = k == 0x02;
  if (k != 0x02) return Status::Ok();
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n, 2));
  bool seen[3] = {false, false, false};
  for (uint32_t i = 0; i < n; ++i) {
    size_t aoff = r.pos();
    uint8_t a;
    ARCELLA_RETURN_IF_ERROR(r.Byte(&a));
    if (a > 0x02) return OffsetError(aoff, "invalid leading byte for a name attribute");
    if (seen[a]) {
      static const char* const kNames[] = {"implements", "versionsuffix", "external-id"};
      return OffsetError(aoff, std::string("duplicate `") + kNames[a] + "` attribute");
    }
    seen[a] = true;
    std::string v;
    size_t voff = r.pos();
    ARCELLA_RETURN_IF_ERROR(r.Name(&v));
    if (a == 0x00) {
      ExternName iface;
      std::string w = ParseInterfaceName(v, &iface);
      if (!w.empty()) return OffsetError(voff, "`" + v + "` is not a valid interface name: " + w);
      if (out->kind != ExternName::Kind::kLabel) {
        return OffsetError(aoff, "`implements` is only valid on a plain name");
      }
      out->implements = v;
    } else if (a == 0x01) {
      if (!out->is_interface() || !IsCanonVersion(out->version)) {
        return OffsetError(aoff,
                           "`versionsuffix` requires an interface name with a canonical version");
      }
      std::string w = CheckSemver(out->version + v);
      if (!w.empty()) {
        return OffsetError(voff, "version `" + out->version + v + "` is not a valid semver: " + w);
      }
      out->version_suffix = v;
    } else {
      out->external_id = v;
      out->has_external_id = true;
    }
  }
  return Status::Ok();
}

std::string Decoder::CheckVisible(const ExternType& t, bool import) {
  const Scope& s = *scopes_.back();
  // Components and component types must name the types of their imports
  // and exports; instance types are checked where they are used.
  if (s.kind == Scope::Kind::kInstanceType) return "";
  NamedFn named = [&](const ValueType* v) {
    return s.named_import.count(v) != 0 || (!import && s.named_export.count(v) != 0);
  };
  if (t.sort == Sort::kInstance && s.visible.count({t.instance.get(), import}) != 0) return "";
  std::string bad = Visible(t, named, 0);
  if (bad.empty() && t.sort == Sort::kInstance) {
    scopes_.back()->visible.emplace(t.instance.get(), import);
  }
  return bad;
}

void Decoder::MarkNamed(const ExternType& t, bool import, int depth) {
  Scope& s = scope();
  auto* named = import ? &s.named_import : &s.named_export;
  if (depth > static_cast<int>(kMaxNesting)) return;
  switch (t.sort) {
    case Sort::kFunc:
      for (const auto& p : t.func->params) MarkValue(p.type, named);
      MarkValue(t.func->result, named);
      break;
    case Sort::kValue: MarkValue(t.value, named); break;
    case Sort::kType:
      if (t.type->kind == TypeDef::Kind::kValue) MarkValue(t.type->value, named);
      break;
    case Sort::kInstance:
      if (!s.marked.emplace(t.instance.get(), import).second) break;
      for (const auto& e : t.instance->exports) MarkNamed(e.type, import, depth + 1);
      break;
    default: break;
  }
}

Status Decoder::CheckAnnotatedFunc(size_t off, const ExternName& n, const ExternType& t,
                                   const std::map<std::string, ResourceRef>& resources) {
  using K = ExternName::Kind;
  if (n.kind != K::kConstructor && n.kind != K::kMethod && n.kind != K::kStatic) {
    return Status::Ok();
  }
  if (t.sort != Sort::kFunc) return OffsetError(off, "item `" + n.text + "` is not a func");
  auto it = resources.find(n.resource);
  if (it == resources.end()) {
    if (n.kind == K::kStatic) {
      return OffsetError(off, "static resource name is not known in this context");
    }
    return OffsetError(off, "function does not match expected resource name `" + n.resource +
                                "` (no preceding resource of that name)");
  }
  const ResourceType* res = it->second.get();
  const FuncType& f = *t.func;
  if (n.kind == K::kConstructor) {
    const ValueType* r = f.result.get();
    if (r != nullptr && r->kind == TypeKind::kResult && r->ok) r = r->ok.get();
    if (r == nullptr || r->kind != TypeKind::kOwn) {
      return OffsetError(off, "function should return `(own $T)` or `(result (own $T))`");
    }
    if (r->resource.get() != res) {
      return OffsetError(off,
                         "function does not match expected resource name `" + n.resource + "`");
    }
  } else if (n.kind == K::kMethod) {
    if (f.params.empty()) return OffsetError(off, "function should have at least one argument");
    if (f.params[0].name != "self") {
      return OffsetError(off, "function should have a first argument called `self`");
    }
    const ValueType& p = *f.params[0].type;
    if (p.kind != TypeKind::kBorrow) {
      return OffsetError(off, "function should take a first argument of `(borrow $T)`");
    }
    if (p.resource.get() != res) {
      return OffsetError(off,
                         "function does not match expected resource name `" + n.resource + "`");
    }
  }
  return Status::Ok();
}

Status Decoder::CheckImport(size_t off, const ExternName& n, const ExternType& t) {
  Scope& s = scope();
  std::string key = StrongUniqueKey(n);
  auto [pos, fresh] = s.import_keys.emplace(key, n.text);
  if (!fresh) {
    return OffsetError(off, "import name `" + n.text + "` conflicts with previous name `" +
                                pos->second + "`");
  }
  if (!n.implements.empty() && t.sort != Sort::kInstance) {
    return OffsetError(off, "`implements` is only valid on instance imports");
  }
  ARCELLA_RETURN_IF_ERROR(CheckAnnotatedFunc(off, n, t, s.imported_resources));
  std::string bad = CheckVisible(t, true);
  if (!bad.empty()) {
    return OffsetError(off, bad + " not valid to be used as import (a type it uses has no name "
                                  "imported before it)");
  }
  s.import_texts.insert(n.text);
  if (t.sort == Sort::kType && t.type->kind == TypeDef::Kind::kResource &&
      n.kind == ExternName::Kind::kLabel) {
    s.imported_resources[n.label] = t.type->resource;
  }
  return Status::Ok();
}

Status Decoder::CheckExport(size_t off, const ExternName& n, const ExternType& t) {
  Scope& s = scope();
  std::string key = StrongUniqueKey(n);
  auto [pos, fresh] = s.export_keys.emplace(key, n.text);
  if (!fresh) {
    return OffsetError(off, "export name `" + n.text + "` conflicts with previous name `" +
                                pos->second + "`");
  }
  if (!n.implements.empty() && t.sort != Sort::kInstance) {
    return OffsetError(off, "`implements` is only valid on instance exports");
  }
  ARCELLA_RETURN_IF_ERROR(CheckAnnotatedFunc(off, n, t, s.exported_resources));
  std::string bad = CheckVisible(t, false);
  if (!bad.empty()) {
    return OffsetError(off, bad + " not valid to be used as export (a type it uses has no "
                                  "externally visible name)");
  }
  if (t.sort == Sort::kType && t.type->kind == TypeDef::Kind::kResource &&
      n.kind == ExternName::Kind::kLabel) {
    s.exported_resources[n.label] = t.type->resource;
  }
  return Status::Ok();
}

Status Decoder::CheckBagExport(size_t off, const ExternName& n, const ExternType& t,
                               std::map<std::string, ResourceRef>* resources) {
  if (t.sort == Sort::kType && t.type->kind == TypeDef::Kind::kResource &&
      n.kind == ExternName::Kind::kLabel) {
    (*resources)[n.label] = t.type->resource;
  }
  if (n.kind == ExternName::Kind::kLabel || n.kind == ExternName::Kind::kInterface) {
    return Status::Ok();
  }
  ARCELLA_RETURN_IF_ERROR(CheckAnnotatedFunc(off, n, t, *resources));
  // The function was defined outside the bag: the resources it uses must
  // have names where it was defined.
  const Scope& s = scope();
  NamedFn named = [&](const ValueType* v) {
    return s.named_import.count(v) != 0 || s.named_export.count(v) != 0;
  };
  std::function<bool(const ValueType&)> handles_named = [&](const ValueType& v) {
    if ((v.kind == TypeKind::kOwn || v.kind == TypeKind::kBorrow) && !named(&v)) return false;
    auto sub = [&](const TypeRef& c) { return !c || handles_named(*c); };
    if (!sub(v.elem) || !sub(v.ok) || !sub(v.err)) return false;
    for (const auto& f : v.fields) {
      if (!sub(f.type)) return false;
    }
    for (const auto& c : v.cases) {
      if (!sub(c.type)) return false;
    }
    return true;
  };
  for (const auto& p : t.func->params) {
    if (!handles_named(*p.type)) {
      return OffsetError(off, "resource used in function does not have a name in this context");
    }
  }
  if (t.func->result && !handles_named(*t.func->result)) {
    return OffsetError(off, "resource used in function does not have a name in this context");
  }
  return Status::Ok();
}

void Decoder::AddExternItem(ExternType* t, DefKind origin, uint32_t def, bool import) {
  Scope& s = scope();
  if (t->sort == Sort::kType) {
    if (t->type->kind == TypeDef::Kind::kValue && IsNominal(t->type->value->kind)) {
      // A new name for the type: a node of its own, so that uses through
      // this index can be told apart from uses of the unnamed definition.
      auto copy = std::make_shared<TypeDef>(*t->type);
      auto node = std::make_shared<ValueType>(*t->type->value);
      auto m = type_metrics_.find(t->type->value.get());
      if (m != type_metrics_.end()) type_metrics_[node.get()] = m->second;
      copy->named_from = t->type->value;
      copy->value = std::move(node);
      t->type = std::move(copy);
    }
    MarkNamed(*t, import, 0);
    AddType(t->type, origin, def, import ? 1 : 2);
    return;
  }
  MarkNamed(*t, import, 0);
  if (t->sort == Sort::kInstance) {
    auto& set = import ? s.imported_instances : s.exported_instances;
    set.insert(static_cast<uint32_t>(s.space(Sort::kInstance).size()));
  }
  Item it;
  it.origin = origin;
  it.def = def;
  it.type = *t;
  s.space(t->sort).push_back(std::move(it));
}

Status Decoder::ImportSection(Reader& r, Component* c) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n, 3));
  for (uint32_t i = 0; i < n; ++i) {
    size_t off = r.pos();
    Import im;
    bool attrs = false;
    ARCELLA_RETURN_IF_ERROR(ReadNameAttrs(r, &im.name, &attrs));
    ARCELLA_RETURN_IF_ERROR(
        ReadExternType(r, im.name.label.empty() ? im.name.text : im.name.label, &im.type));
    ARCELLA_RETURN_IF_ERROR(CheckWork(off));
    ARCELLA_RETURN_IF_ERROR(CheckImport(off, im.name, im.type));
    FreshenInstanceDecl(&im.type);
    uint32_t def = static_cast<uint32_t>(c->imports.size());
    AddExternItem(&im.type, DefKind::kImport, def, true);
    c->defs.push_back({DefKind::kImport, def, off});
    scope().imports.push_back({im.name, im.type});
    c->imports.push_back(std::move(im));
  }
  return Status::Ok();
}

Status Decoder::ExportSection(Reader& r, Component* c) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n, 4));
  for (uint32_t i = 0; i < n; ++i) {
    size_t off = r.pos();
    Export ex;
    bool attrs = false;
    ARCELLA_RETURN_IF_ERROR(ReadNameAttrs(r, &ex.name, &attrs));
    size_t soff = r.pos();
    ARCELLA_RETURN_IF_ERROR(ReadSortIdx(r, &ex.sort, &ex.index));
    ARCELLA_RETURN_IF_ERROR(CheckIndex(soff, ex.sort, ex.index));
    if (ex.sort < Sort::kFunc && ex.sort != Sort::kCoreModule) {
      return OffsetError(soff, std::string("a ") + SortName(ex.sort) +
                                   " cannot be exported from a component");
    }
    ex.type = ItemExternType(ex.sort, scope().space(ex.sort)[ex.index]);
    uint8_t has;
    size_t hoff = r.pos();
    ARCELLA_RETURN_IF_ERROR(r.Byte(&has));
    if (has == 0x01) {
      ExternType asc;
      size_t aoff = r.pos();
      ARCELLA_RETURN_IF_ERROR(
          ReadExternType(r, ex.name.label.empty() ? ex.name.text : ex.name.label, &asc));
      if (asc.sort != ex.sort) {
        return OffsetError(aoff, std::string("type mismatch in export `") + ex.name.text +
                                     "`: expected " + SortName(asc.sort) + ", found " +
                                     SortName(ex.sort));
      }
      ResourceMap m;
      m.metrics = &type_metrics_;
      m.work = &work_;
      std::string why = ExternSubtype(ex.type, asc, &m);
      if (!why.empty()) {
        return OffsetError(aoff, "type mismatch in export `" + ex.name.text + "`: " + why);
      }
      if (asc.sort == Sort::kType && asc.sub_resource) {
        // Ascribing (sub resource) hides the definition: the export is a new
        // abstract resource type (represented at run time by the exported one).
        asc.sub_resource = false;
      }
      ex.type = std::move(asc);
      ex.ascribed = true;
    } else if (has != 0x00) {
      return OffsetError(hoff, "invalid optional export type flag");
    }
    ARCELLA_RETURN_IF_ERROR(CheckWork(off));
    ARCELLA_RETURN_IF_ERROR(CheckExport(off, ex.name, ex.type));
    uint32_t def = static_cast<uint32_t>(c->exports.size());
    AddExternItem(&ex.type, DefKind::kExport, def, false);
    c->defs.push_back({DefKind::kExport, def, off});
    scope().exports.push_back({ex.name, ex.type});
    c->exports.push_back(std::move(ex));
  }
  return Status::Ok();
}

// An imported or exported instance type gets fresh resources for the
// (sub resource) types it exports: each such declaration is a new type.
void Decoder::FreshenInstanceDecl(ExternType* t) {
  if (t->sort != Sort::kInstance) return;
  ResourceMap m;
  m.metrics = &type_metrics_;
  m.work = &work_;
  FreshenExports(*t, &m);
  *t = SubstExtern(*t, m);
}

}  // namespace arcella::component::decoding
