// The section loop and the component-level sections that define items
// directly (core modules, nested components, core instances, instances,
// types, start, custom). Imports and exports: decode_names.cc; aliases:
// decode_alias.cc; canon: decode_canon.cc.
#include "component/decoder.h"

#include <cstring>
#include <functional>

#include "component/decoder_internal.h"
#include "engine/loader.h"
#include "engine/preflight.h"

namespace arcella::component {

namespace {
constexpr uint8_t kPreamble[8] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};
}  // namespace

const char* SortName(Sort s) {
  switch (s) {
    case Sort::kCoreFunc: return "core func";
    case Sort::kCoreTable: return "core table";
    case Sort::kCoreMemory: return "core memory";
    case Sort::kCoreGlobal: return "core global";
    case Sort::kCoreTag: return "core tag";
    case Sort::kCoreType: return "core type";
    case Sort::kCoreModule: return "module";
    case Sort::kCoreInstance: return "core instance";
    case Sort::kFunc: return "func";
    case Sort::kValue: return "value";
    case Sort::kType: return "type";
    case Sort::kComponent: return "component";
    case Sort::kInstance: return "instance";
  }
  return "?";
}

const engine::ExportDesc* CoreInstanceType::Find(std::string_view name) const {
  for (const auto& e : exports) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const ExternDecl* InstanceType::Find(std::string_view name) const {
  for (const auto& e : exports) {
    if (e.name.text == name) return &e;
  }
  return nullptr;
}

bool IsComponentBinary(std::span<const uint8_t> bytes) {
  return bytes.size() >= sizeof kPreamble && std::memcmp(bytes.data(), kPreamble, 8) == 0;
}

Result<std::shared_ptr<const Component>> DecodeComponent(std::span<const uint8_t> bytes) {
  auto owned = std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end());
  auto c = std::make_shared<Component>();
  decoding::Decoder d(owned);
  ARCELLA_RETURN_IF_ERROR(d.DecodeComponentAt(0, owned->size(), c.get()));
  return std::shared_ptr<const Component>(std::move(c));
}

namespace decoding {

const ExternDecl* Decoder::FindExport(const std::shared_ptr<const InstanceType>& t,
                                      const std::string& name) {
  auto [it, fresh] = export_index_.try_emplace(t.get());
  if (fresh) {
    it->second.keep = t;
    for (size_t i = 0; i < t->exports.size(); ++i)
      it->second.pos.emplace(t->exports[i].name.text, i);
  }
  auto p = it->second.pos.find(name);
  return p == it->second.pos.end() ? nullptr : &t->exports[p->second];
}

const engine::ExportDesc* Decoder::FindCoreExport(const std::shared_ptr<const CoreInstanceType>& t,
                                                  const std::string& name) {
  auto [it, fresh] = export_index_.try_emplace(t.get());
  if (fresh) {
    it->second.keep = t;
    for (size_t i = 0; i < t->exports.size(); ++i) it->second.pos.emplace(t->exports[i].name, i);
  }
  auto p = it->second.pos.find(name);
  return p == it->second.pos.end() ? nullptr : &t->exports[p->second];
}

Status Decoder::DecodeComponentAt(size_t begin, size_t end, Component* out) {
  Reader r(all(), begin, end);
  // The preamble: magic, version, layer.
  for (size_t i = 0; i < 4; ++i) {
    uint8_t b;
    if (!r.Byte(&b).ok() || b != kPreamble[i]) {
      return OffsetError(begin + i, "magic header not detected: bad magic number");
    }
  }
  uint8_t v[4];
  for (auto& b : v) {
    if (!r.Byte(&b).ok()) return OffsetError(r.pos(), "unexpected end-of-file in the preamble");
  }
  if (v[2] != 0x01 || v[3] != 0x00) {
    if (v[2] == 0 && v[3] == 0) {
      return OffsetError(begin + 6, "this is a core module, not a component (layer 0)");
    }
    return OffsetError(begin + 6, "unknown binary layer (expected 0x01 0x00)");
  }
  if (v[0] != 0x0d || v[1] != 0x00) {
    return OffsetError(begin + 4, "unknown component version (expected 0x0d 0x00)");
  }
  if (nesting_ >= kMaxNesting) {
    return OffsetError(begin,
                       "components nested too deeply (limit " + std::to_string(kMaxNesting) + ")");
  }
  ++nesting_;
  out->bytes = bytes_;
  out->begin = begin;
  out->end = end;
  Scope scope;
  scopes_.push_back(&scope);
  Status st;
  while (st.ok() && !r.done()) {
    size_t off = r.pos();
    uint8_t id;
    uint32_t size;
    st = r.Byte(&id);
    if (st.ok()) st = r.U32(&size);
    if (!st.ok()) break;
    if (id > 12) {
      st = OffsetError(off, "malformed section id: " + std::to_string(id));
      break;
    }
    if (size > r.remaining()) {
      st = OffsetError(off, "section too large: " + std::to_string(size) +
                                " bytes, past the end (unexpected end-of-file)");
      break;
    }
    Reader sr(all(), r.pos(), r.pos() + size);
    size_t skip;
    (void)r.Bytes(size, &skip);
    if (id == 1) {
      st = CoreModuleSection(sr, size, out);
    } else if (id == 4) {
      st = NestedComponentSection(sr, size, out);
    } else {
      st = Section(id, sr, out);
    }
    if (st.ok() && !sr.done()) {
      st = OffsetError(sr.pos(),
                       "section size mismatch: unexpected data at the end of the section");
    }
  }
  scopes_.pop_back();
  --nesting_;
  ARCELLA_RETURN_IF_ERROR(st);
  out->spaces = std::move(scope.spaces);
  out->type.imports = std::move(scope.imports);
  out->type.exports = std::move(scope.exports);
  // As a type, the component's exported resources that it does not import
  // are abstract: each instantiation makes fresh ones.
  std::set<const ResourceType*> imported;
  std::function<void(const ExternType&)> collect = [&](const ExternType& t) {
    if (t.sort == Sort::kType && t.type->kind == TypeDef::Kind::kResource) {
      imported.insert(t.type->resource.get());
    } else if (t.sort == Sort::kInstance) {
      for (const auto& e : t.instance->exports) collect(e.type);
    }
  };
  for (const auto& im : out->type.imports) collect(im.type);
  for (auto& ex : out->type.exports) {
    if (ex.type.sort == Sort::kType && ex.type.type->kind == TypeDef::Kind::kResource &&
        imported.count(ex.type.type->resource.get()) == 0) {
      ex.type.sub_resource = true;
    }
  }
  return Status::Ok();
}

Status Decoder::Section(uint8_t id, Reader& r, Component* c) {
  switch (id) {
    case 0: return CustomSectionRead(r, c);
    case 2: return CoreInstanceSection(r, c);
    case 3: return CoreTypeSection(r, c);
    case 5: return InstanceSection(r, c);
    case 6: return AliasSection(r, c);
    case 7: return TypeSection(r, c);
    case 8: {
      uint32_t n;
      ARCELLA_RETURN_IF_ERROR(r.Count(&n));
      for (uint32_t i = 0; i < n; ++i) {
        size_t off = r.pos();
        Canon canon;
        ARCELLA_RETURN_IF_ERROR(ReadCanon(r, static_cast<uint32_t>(c->canons.size()), &canon));
        c->defs.push_back({DefKind::kCanon, static_cast<uint32_t>(c->canons.size()), off});
        c->canons.push_back(std::move(canon));
      }
      return Status::Ok();
    }
    case 9: return StartSection(r, c);
    case 10: return ImportSection(r, c);
    case 11: return ExportSection(r, c);
    case 12: return OffsetUnsupported(r.pos(), "value definitions (section 12)");
    default: return OffsetError(r.pos() - 1, "malformed section id: " + std::to_string(id));
  }
}

Status Decoder::CustomSectionRead(Reader& r, Component* c) {
  CustomSection s;
  s.offset = r.pos();
  ARCELLA_RETURN_IF_ERROR(r.Name(&s.name));
  size_t begin;
  size_t n = r.remaining();
  ARCELLA_RETURN_IF_ERROR(r.Bytes(n, &begin));
  s.payload = all().subspan(begin, n);
  c->customs.push_back(std::move(s));
  return Status::Ok();
}

Status Decoder::CoreModuleSection(Reader& r, size_t size, Component* c) {
  size_t begin;
  ARCELLA_RETURN_IF_ERROR(r.Bytes(size, &begin));
  auto span = all().subspan(begin, size);
  if (IsComponentBinary(span)) {
    return OffsetError(begin, "a component is not valid as a core module");
  }
  auto decoded = engine::Decode(span);
  if (!decoded.ok()) {
    if (decoded.status().code() == StatusCode::kUnsupported) {
      return Status::Unsupported("offset " + HexByte(begin) + ": the core module " +
                                 decoded.status().message() + " (offsets within the module)");
    }
    // A module using a post-2.0 proposal the loader cannot read (e.g. the
    // new exception-handling instructions beside a tag section) is not
    // known to be invalid: say which proposal it uses.
    auto pf = engine::PreflightModule(span);
    if (pf.ok() && !pf->features.empty()) {
      return Status::Unsupported("offset " + HexByte(begin) + ": the core module " +
                                 engine::DescribeFeatureUse(pf->features[0], "by this engine") +
                                 "; the loader says: " + decoded.status().message() +
                                 " (offsets within the module)");
    }
    return OffsetError(begin, "invalid core module (offsets within the module): " +
                                  decoded.status().message());
  }
  auto type = std::make_shared<ModuleType>();
  type->imports = std::move(decoded->imports);
  // Components name core imports by (module, name): they must be unique.
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& im : type->imports) {
    if (!seen.emplace(im.module, im.name).second) {
      return OffsetError(begin, "duplicate import name `" + im.module + ":" + im.name +
                                    "` in core module");
    }
  }
  type->exports = std::move(decoded->exports);
  uint32_t def = static_cast<uint32_t>(c->core_modules.size());
  c->core_modules.push_back({span, begin, type});
  c->defs.push_back({DefKind::kCoreModule, def, begin});
  Item it;
  it.origin = DefKind::kCoreModule;
  it.def = def;
  it.type.sort = Sort::kCoreModule;
  it.type.module = std::move(type);
  scope().space(Sort::kCoreModule).push_back(std::move(it));
  return Status::Ok();
}

Status Decoder::NestedComponentSection(Reader& r, size_t size, Component* c) {
  size_t begin;
  ARCELLA_RETURN_IF_ERROR(r.Bytes(size, &begin));
  auto nested = std::make_shared<Component>();
  ARCELLA_RETURN_IF_ERROR(DecodeComponentAt(begin, begin + size, nested.get()));
  uint32_t def = static_cast<uint32_t>(c->components.size());
  auto type = std::make_shared<ComponentType>(nested->type);
  c->components.push_back(std::move(nested));
  c->defs.push_back({DefKind::kComponent, def, begin});
  Item it;
  it.origin = DefKind::kComponent;
  it.def = def;
  it.type.sort = Sort::kComponent;
  it.type.component = std::move(type);
  scope().space(Sort::kComponent).push_back(std::move(it));
  return Status::Ok();
}

Status Decoder::CoreTypeSection(Reader& r, Component* c) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n));
  for (uint32_t i = 0; i < n; ++i) {
    size_t off = r.pos();
    std::shared_ptr<const CoreType> t;
    ARCELLA_RETURN_IF_ERROR(ReadCoreType(r, &t));
    uint32_t def = static_cast<uint32_t>(c->core_types.size());
    c->core_types.push_back(t);
    c->defs.push_back({DefKind::kCoreType, def, off});
    Item it;
    it.origin = DefKind::kCoreType;
    it.def = def;
    it.core_type = std::move(t);
    scope().space(Sort::kCoreType).push_back(std::move(it));
  }
  return Status::Ok();
}

Status Decoder::TypeSection(Reader& r, Component* c) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n));
  for (uint32_t i = 0; i < n; ++i) {
    size_t off = r.pos();
    TypeDefRef t;
    ARCELLA_RETURN_IF_ERROR(ReadDefType(r, &t));
    uint32_t def = static_cast<uint32_t>(c->types.size());
    c->types.push_back(t);
    c->defs.push_back({DefKind::kType, def, off});
    AddType(std::move(t), DefKind::kType, def, 0);
  }
  return Status::Ok();
}

Status Decoder::CoreInstanceSection(Reader& r, Component* c) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n));
  for (uint32_t i = 0; i < n; ++i) {
    size_t off = r.pos();
    uint8_t kind;
    ARCELLA_RETURN_IF_ERROR(r.Byte(&kind));
    CoreInstanceDef d;
    auto type = std::make_shared<CoreInstanceType>();
    if (kind == 0x00) {
      size_t midx_off = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.U32(&d.module));
      uint32_t nargs;
      ARCELLA_RETURN_IF_ERROR(r.Count(&nargs, 3));
      std::set<std::string> seen;
      for (uint32_t k = 0; k < nargs; ++k) {
        CoreInstanceDef::Arg a;
        size_t aoff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.Name(&a.name));
        uint8_t sort;
        ARCELLA_RETURN_IF_ERROR(r.Byte(&sort));
        if (sort != 0x12) {
          return OffsetError(aoff, "core instantiation arguments must be instances (sort 0x12)");
        }
        ARCELLA_RETURN_IF_ERROR(r.U32(&a.instance));
        ARCELLA_RETURN_IF_ERROR(CheckIndex(aoff, Sort::kCoreInstance, a.instance));
        if (!seen.insert(a.name).second) {
          return OffsetError(aoff,
                             "duplicate module instantiation argument named `" + a.name + "`");
        }
        d.args.push_back(std::move(a));
      }
      ARCELLA_RETURN_IF_ERROR(CheckIndex(midx_off, Sort::kCoreModule, d.module));
      const ModuleType& m = *scope().space(Sort::kCoreModule)[d.module].type.module;
      ARCELLA_RETURN_IF_ERROR(CheckCoreInstantiate(off, m, d.args));
      type->exports = m.exports;
    } else if (kind == 0x01) {
      d.instantiate = false;
      uint32_t nexp;
      ARCELLA_RETURN_IF_ERROR(r.Count(&nexp, 3));
      std::set<std::string> inline_names;
      for (uint32_t k = 0; k < nexp; ++k) {
        CoreInstanceDef::InlineExport e;
        size_t eoff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.Name(&e.name));
        ARCELLA_RETURN_IF_ERROR(ReadCoreSort(r, &e.sort));
        ARCELLA_RETURN_IF_ERROR(r.U32(&e.index));
        if (e.sort > Sort::kCoreTag) {
          return OffsetError(eoff, std::string("a ") + SortName(e.sort) +
                                       " cannot be exported from a core instance");
        }
        ARCELLA_RETURN_IF_ERROR(CheckIndex(eoff, e.sort, e.index));
        if (!inline_names.insert(e.name).second) {
          return OffsetError(eoff, "export name `" + e.name + "` already defined");
        }
        type->exports.push_back({e.name, scope().space(e.sort)[e.index].core});
        d.exports.push_back(std::move(e));
      }
    } else {
      return OffsetError(off, "invalid leading byte (" + HexByte(kind) + ") for core instance");
    }
    uint32_t def = static_cast<uint32_t>(c->core_instances.size());
    c->core_instances.push_back(std::move(d));
    c->defs.push_back({DefKind::kCoreInstance, def, off});
    Item it;
    it.origin = DefKind::kCoreInstance;
    it.def = def;
    it.core_instance = std::move(type);
    scope().space(Sort::kCoreInstance).push_back(std::move(it));
  }
  return Status::Ok();
}

Status Decoder::InstanceSection(Reader& r, Component* c) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n));
  for (uint32_t i = 0; i < n; ++i) {
    size_t off = r.pos();
    uint8_t kind;
    ARCELLA_RETURN_IF_ERROR(r.Byte(&kind));
    InstanceDef d;
    std::shared_ptr<const InstanceType> type;
    if (kind == 0x00) {
      size_t coff = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.U32(&d.component));
      ARCELLA_RETURN_IF_ERROR(CheckIndex(coff, Sort::kComponent, d.component));
      uint32_t nargs;
      ARCELLA_RETURN_IF_ERROR(r.Count(&nargs, 3));
      std::set<std::string> arg_names;
      for (uint32_t k = 0; k < nargs; ++k) {
        InstanceDef::Arg a;
        size_t aoff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.Name(&a.name));
        ARCELLA_RETURN_IF_ERROR(ReadSortIdx(r, &a.sort, &a.index));
        ARCELLA_RETURN_IF_ERROR(CheckIndex(aoff, a.sort, a.index));
        if (!arg_names.insert(a.name).second) {
          return OffsetError(aoff, "instantiation argument `" + a.name +
                                       "` conflicts with previous argument `" + a.name + "`");
        }
        d.args.push_back(std::move(a));
      }
      ARCELLA_RETURN_IF_ERROR(Instantiate(off, d, &type));
    } else if (kind == 0x01) {
      d.instantiate = false;
      uint32_t nexp;
      ARCELLA_RETURN_IF_ERROR(r.Count(&nexp, 3));
      auto t = std::make_shared<InstanceType>();
      std::map<std::string, std::string> keys;
      std::map<std::string, ResourceRef> bag_resources;
      for (uint32_t k = 0; k < nexp; ++k) {
        InstanceDef::InlineExport e;
        size_t eoff = r.pos();
        bool attrs = false;
        ARCELLA_RETURN_IF_ERROR(ReadNameAttrs(r, &e.name, &attrs));
        ARCELLA_RETURN_IF_ERROR(ReadSortIdx(r, &e.sort, &e.index));
        ARCELLA_RETURN_IF_ERROR(CheckIndex(eoff, e.sort, e.index));
        if (e.sort < Sort::kFunc && e.sort != Sort::kCoreModule) {
          return OffsetError(eoff, std::string(SortName(e.sort)) +
                                       " cannot be exported from a component instance");
        }
        std::string key = StrongUniqueKey(e.name);
        auto [pos, fresh] = keys.emplace(key, e.name.text);
        if (!fresh) {
          return OffsetError(eoff, "export name `" + e.name.text +
                                       "` conflicts with previous name `" + pos->second + "`");
        }
        ExternType et = ItemExternType(e.sort, scope().space(e.sort)[e.index]);
        if (!e.name.implements.empty() && et.sort != Sort::kInstance) {
          return OffsetError(eoff, "`implements` is only valid on instance exports");
        }
        ARCELLA_RETURN_IF_ERROR(CheckBagExport(eoff, e.name, et, &bag_resources));
        t->exports.push_back({e.name, et});
        d.exports.push_back(std::move(e));
      }
      type = std::move(t);
    } else {
      return OffsetError(off, "invalid leading byte for instance");
    }
    uint32_t def = static_cast<uint32_t>(c->instances.size());
    c->instances.push_back(std::move(d));
    c->defs.push_back({DefKind::kInstance, def, off});
    Item it;
    it.origin = DefKind::kInstance;
    it.def = def;
    it.type.sort = Sort::kInstance;
    it.type.instance = std::move(type);
    scope().space(Sort::kInstance).push_back(std::move(it));
  }
  return Status::Ok();
}

Status Decoder::StartSection(Reader& r, Component* c) {
  size_t off = r.pos();
  Start s;
  ARCELLA_RETURN_IF_ERROR(r.U32(&s.func));
  ARCELLA_RETURN_IF_ERROR(CheckIndex(off, Sort::kFunc, s.func));
  uint32_t nargs;
  ARCELLA_RETURN_IF_ERROR(r.Count(&nargs));
  for (uint32_t i = 0; i < nargs; ++i) {
    uint32_t v;
    size_t aoff = r.pos();
    ARCELLA_RETURN_IF_ERROR(r.U32(&v));
    ARCELLA_RETURN_IF_ERROR(CheckIndex(aoff, Sort::kValue, v));
    s.args.push_back(v);
  }
  ARCELLA_RETURN_IF_ERROR(r.U32(&s.results));
  const FuncType& ft = *scope().space(Sort::kFunc)[s.func].type.func;
  if (ft.params.size() != s.args.size()) {
    return OffsetError(off, "start function requires " + std::to_string(ft.params.size()) +
                                " arguments, given " + std::to_string(s.args.size()));
  }
  for (size_t i = 0; i < s.args.size(); ++i) {
    const TypeRef& v = scope().space(Sort::kValue)[s.args[i]].type.value;
    ResourceMap m;
    m.metrics = &type_metrics_;
    m.work = &work_;
    if (!ValueTypeMatches(*v, *ft.params[i].type, &m)) {
      return OffsetError(off,
                         "start function argument " + std::to_string(i) + " has the wrong type");
    }
  }
  if (s.results != (ft.result ? 1u : 0u)) {
    return OffsetError(off, "start function results size mismatch");
  }
  uint32_t def = static_cast<uint32_t>(c->starts.size());
  c->defs.push_back({DefKind::kStart, def, off});
  if (ft.result) {
    Item it;
    it.origin = DefKind::kStart;
    it.def = def;
    it.type.sort = Sort::kValue;
    it.type.value = ft.result;
    scope().space(Sort::kValue).push_back(std::move(it));
  }
  c->starts.push_back(std::move(s));
  return Status::Ok();
}

}  // namespace decoding
}  // namespace arcella::component
