// WIT names to types: resolves the syntax trees of all sources together
// (wit_parser.h).
#include <map>
#include <set>

#include "component/wit_ast.h"
#include "component/wit_parser.h"

namespace arcella::component {

std::string WitInterface::QualifiedName() const {
  size_t at = package.find('@');
  if (at == std::string::npos) return package + "/" + name;
  return package.substr(0, at) + "/" + name + package.substr(at);
}

const WitTypeDef* WitInterface::FindType(std::string_view n) const {
  for (const auto& t : types) {
    if (t.name == n) return &t;
  }
  return nullptr;
}

const WitFunction* WitInterface::FindFunction(std::string_view n) const {
  for (const auto& f : functions) {
    if (f.name == n) return &f;
  }
  return nullptr;
}

std::string WitPackage::Id() const {
  return ns + ":" + name + (version.empty() ? "" : "@" + version);
}

const WitInterface* WitPackage::FindInterface(std::string_view n) const {
  for (const auto& i : interfaces) {
    if (i->name == n) return i.get();
  }
  return nullptr;
}

const WitWorld* WitPackage::FindWorld(std::string_view n) const {
  for (const auto& w : worlds) {
    if (w.name == n) return &w;
  }
  return nullptr;
}

namespace {

using wit::ErrorAt;
using wit::Pos;

// The names visible inside one interface or world.
struct Scope {
  size_t pkg = 0;
  const std::vector<wit::TypeDef>* defs = nullptr;
  std::map<std::string, WitTypeDef> names;  // resolved
  std::map<std::string, size_t> def_index;  // local definitions
  std::map<std::string, bool> in_progress;
  std::vector<WitTypeDef>* out = nullptr;  // resolved names in order
};

enum State : uint8_t { kTodo, kBusy, kDone };

class Resolver {
 public:
  explicit Resolver(std::vector<wit::Package> pkgs) : ast_(std::move(pkgs)) {
    ifaces_.resize(ast_.size());
    iface_state_.resize(ast_.size());
    worlds_.resize(ast_.size());
    world_state_.resize(ast_.size());
    for (size_t p = 0; p < ast_.size(); ++p) {
      ifaces_[p].resize(ast_[p].interfaces.size());
      iface_state_[p].resize(ast_[p].interfaces.size(), kTodo);
      worlds_[p].resize(ast_[p].worlds.size());
      world_state_[p].resize(ast_[p].worlds.size(), kTodo);
    }
  }

  Result<std::vector<WitPackage>> Run() {
    std::vector<WitPackage> out;
    std::set<std::string> ids;
    for (size_t p = 0; p < ast_.size(); ++p) {
      const wit::Package& a = ast_[p];
      if (!ids.insert(Id(p)).second) {
        return ErrorAt(a.pos, "package " + Id(p) + " is declared twice");
      }
      WitPackage pkg;
      pkg.ns = a.ns;
      pkg.name = a.name;
      pkg.version = a.version;
      std::set<std::string> iface_names;
      for (size_t i = 0; i < a.interfaces.size(); ++i) {
        if (!iface_names.insert(a.interfaces[i].name).second) {
          return ErrorAt(a.interfaces[i].pos,
                         "interface `" + a.interfaces[i].name + "` is defined twice");
        }
        ARCELLA_ASSIGN_OR_RETURN(auto iface, Iface(p, i, 0));
        pkg.interfaces.push_back(std::move(iface));
      }
      for (size_t w = 0; w < a.worlds.size(); ++w) {
        ARCELLA_ASSIGN_OR_RETURN(const WitWorld* world, World(p, w, 0));
        pkg.worlds.push_back(*world);
      }
      out.push_back(std::move(pkg));
    }
    return out;
  }

 private:
  std::string Id(size_t p) const {
    const auto& a = ast_[p];
    return a.ns + ":" + a.name + (a.version.empty() ? "" : "@" + a.version);
  }

  Status Deep(const Pos& pos, int depth) {
    if (depth > kWitMaxDepth) {
      return ErrorAt(pos, "definitions nested or chained deeper than " +
                              std::to_string(kWitMaxDepth) + " levels");
    }
    return Status::Ok();
  }

  // The package named by `path` (ns:pkg[@version]).
  Result<size_t> FindPackage(const wit::UsePath& path) {
    size_t found = ast_.size();
    for (size_t p = 0; p < ast_.size(); ++p) {
      const auto& a = ast_[p];
      if (a.ns != path.ns || a.name != path.pkg) continue;
      if (!path.version.empty() && a.version != path.version) continue;
      if (found != ast_.size()) {
        return ErrorAt(path.pos, "package " + path.ns + ":" + path.pkg +
                                     " is ambiguous (several versions given): add @version");
      }
      found = p;
    }
    if (found == ast_.size()) {
      return ErrorAt(path.pos, "unknown package " + path.ns + ":" + path.pkg +
                                   (path.version.empty() ? "" : "@" + path.version) +
                                   " (not among the WIT sources given)");
    }
    return found;
  }

  // The interface `path` names from package `from`: (package, index).
  Result<std::pair<size_t, size_t>> FindIface(size_t from, const wit::UsePath& path,
                                              bool follow_alias = true) {
    size_t p = from;
    if (path.ns.empty()) {
      const auto& a = ast_[from];
      for (size_t i = 0; i < a.interfaces.size(); ++i) {
        if (a.interfaces[i].name == path.iface) return std::make_pair(from, i);
      }
      if (follow_alias) {
        for (const auto& u : a.uses) {
          if (u.as == path.iface) return FindIface(from, u.path, false);
        }
      }
      return ErrorAt(path.pos, "unknown interface `" + path.iface + "` in package " + Id(from));
    }
    ARCELLA_ASSIGN_OR_RETURN(p, FindPackage(path));
    const auto& a = ast_[p];
    for (size_t i = 0; i < a.interfaces.size(); ++i) {
      if (a.interfaces[i].name == path.iface) return std::make_pair(p, i);
    }
    return ErrorAt(path.pos, "package " + Id(p) + " has no interface `" + path.iface + "`");
  }

  Result<WitInterfaceRef> Iface(size_t p, size_t i, int depth) {
    const wit::Interface& a = ast_[p].interfaces[i];
    ARCELLA_RETURN_IF_ERROR(Deep(a.pos, depth));
    if (iface_state_[p][i] == kDone) return ifaces_[p][i];
    if (iface_state_[p][i] == kBusy) {
      return ErrorAt(a.pos, "interface `" + a.name + "` uses itself (a cycle of `use`)");
    }
    iface_state_[p][i] = kBusy;
    auto out = std::make_shared<WitInterface>();
    out->name = a.name;
    out->package = Id(p);
    ARCELLA_RETURN_IF_ERROR(FillInterface(p, a, out.get(), depth));
    iface_state_[p][i] = kDone;
    ifaces_[p][i] = out;
    return WitInterfaceRef(out);
  }

  Status FillInterface(size_t p, const wit::Interface& a, WitInterface* out, int depth) {
    Scope s;
    ARCELLA_RETURN_IF_ERROR(OpenScope(p, a.uses, a.types, &out->types, &s, &out->deps, depth));
    std::set<std::string> names;
    for (const auto& t : out->types) names.insert(t.name);
    auto add = [&](WitFunction fn, const Pos& pos) {
      if (!names.insert(fn.name).second) return ErrorAt(pos, "`" + fn.name + "` is defined twice");
      out->functions.push_back(std::move(fn));
      return Status::Ok();
    };
    for (const auto& d : a.types) {
      for (const auto& f : d.funcs) {
        ARCELLA_ASSIGN_OR_RETURN(WitFunction fn, Function(s, f, &d, depth));
        ARCELLA_RETURN_IF_ERROR(add(std::move(fn), f.pos));
      }
    }
    for (const auto& f : a.funcs) {
      ARCELLA_ASSIGN_OR_RETURN(WitFunction fn, Function(s, f, nullptr, depth));
      ARCELLA_RETURN_IF_ERROR(add(std::move(fn), f.pos));
    }
    return Status::Ok();
  }

  // Brings `uses` into scope, then resolves every local definition.
  Status OpenScope(size_t p, const std::vector<wit::Use>& uses,
                   const std::vector<wit::TypeDef>& defs, std::vector<WitTypeDef>* out, Scope* s,
                   std::vector<WitInterfaceRef>* deps, int depth) {
    s->pkg = p;
    s->defs = &defs;
    s->out = out;
    for (const auto& u : uses) {
      ARCELLA_ASSIGN_OR_RETURN(auto where, FindIface(p, u.path));
      ARCELLA_ASSIGN_OR_RETURN(WitInterfaceRef target, Iface(where.first, where.second, depth + 1));
      bool known = false;
      for (const auto& d : *deps) known |= d == target;
      if (!known) deps->push_back(target);
      for (const auto& [name, as] : u.names) {
        const WitTypeDef* t = target->FindType(name);
        if (t == nullptr) {
          return ErrorAt(u.pos, "interface " + u.path.ToString() + " has no type `" + name + "`");
        }
        if (s->names.count(as)) return ErrorAt(u.pos, "`" + as + "` is defined twice");
        WitTypeDef d = *t;
        d.name = as;
        s->names[as] = d;
        out->push_back(std::move(d));
      }
    }
    for (size_t k = 0; k < defs.size(); ++k) {
      if (s->names.count(defs[k].name) || s->def_index.count(defs[k].name)) {
        return ErrorAt(defs[k].pos, "`" + defs[k].name + "` is defined twice");
      }
      s->def_index[defs[k].name] = k;
    }
    for (const auto& d : defs) {
      ARCELLA_ASSIGN_OR_RETURN(WitTypeDef t, Named(*s, d.name, d.pos, depth));
      (void)t;
    }
    return Status::Ok();
  }

  Result<WitTypeDef> Named(Scope& s, const std::string& name, const Pos& pos, int depth) {
    ARCELLA_RETURN_IF_ERROR(Deep(pos, depth));
    auto it = s.names.find(name);
    if (it != s.names.end()) return it->second;
    auto di = s.def_index.find(name);
    if (di == s.def_index.end()) return ErrorAt(pos, "unknown type `" + name + "`");
    const wit::TypeDef& d = (*s.defs)[di->second];
    if (s.in_progress[name]) return ErrorAt(d.pos, "type `" + name + "` refers to itself");
    s.in_progress[name] = true;
    WitTypeDef out;
    out.name = name;
    switch (d.kind) {
      case wit::TypeDef::kResource:
        out.resource = std::make_shared<ResourceType>(ResourceType{name});
        break;
      case wit::TypeDef::kAlias: {
        if (d.alias.kind == wit::Type::kNamed) {
          ARCELLA_ASSIGN_OR_RETURN(WitTypeDef target,
                                   Named(s, d.alias.name, d.alias.pos, depth + 1));
          if (target.resource) {
            out.resource = target.resource;
            break;
          }
        }
        ARCELLA_ASSIGN_OR_RETURN(TypeRef t, Resolve(s, d.alias, depth + 1));
        out.type = std::make_shared<ValueType>(*t);  // a node of its own, for its name
        break;
      }
      case wit::TypeDef::kRecord: {
        std::vector<Field> fields;
        std::set<std::string> seen;
        for (const auto& m : d.members) {
          if (!seen.insert(m.name).second) {
            return ErrorAt(m.pos, "duplicate field `" + m.name + "`");
          }
          ARCELLA_ASSIGN_OR_RETURN(TypeRef t, Resolve(s, m.type, depth + 1));
          fields.push_back({m.name, std::move(t)});
        }
        out.type = ValueType::Record(std::move(fields));
        break;
      }
      case wit::TypeDef::kVariant: {
        std::vector<Case> cases;
        std::set<std::string> seen;
        for (const auto& m : d.members) {
          if (!seen.insert(m.name).second) {
            return ErrorAt(m.pos, "duplicate case `" + m.name + "`");
          }
          TypeRef t;
          if (m.has_type) {
            ARCELLA_ASSIGN_OR_RETURN(t, Resolve(s, m.type, depth + 1));
          }
          cases.push_back({m.name, std::move(t)});
        }
        out.type = ValueType::Variant(std::move(cases));
        break;
      }
      case wit::TypeDef::kEnum:
      case wit::TypeDef::kFlags: {
        std::set<std::string> seen;
        for (const auto& l : d.labels) {
          if (!seen.insert(l).second) {
            return ErrorAt(d.pos, "duplicate label `" + l + "` in `" + name + "`");
          }
        }
        if (d.kind == wit::TypeDef::kFlags && d.labels.size() > 32) {
          return ErrorAt(d.pos, "flags `" + name + "` has more than 32 labels");
        }
        out.type = d.kind == wit::TypeDef::kEnum ? ValueType::Enum(d.labels)
                                                 : ValueType::Flags(d.labels);
        break;
      }
    }
    s.in_progress[name] = false;
    s.names[name] = out;
    s.out->push_back(out);
    return out;
  }

  Result<ResourceRef> ResourceNamed(Scope& s, const wit::Type& t, int depth) {
    ARCELLA_ASSIGN_OR_RETURN(WitTypeDef d, Named(s, t.name, t.pos, depth + 1));
    if (!d.resource) return ErrorAt(t.pos, "`" + t.name + "` is not a resource");
    return d.resource;
  }

  Result<TypeRef> Resolve(Scope& s, const wit::Type& t, int depth) {
    ARCELLA_RETURN_IF_ERROR(Deep(t.pos, depth));
    switch (t.kind) {
      case wit::Type::kPrim: return ValueType::Prim(t.prim);
      case wit::Type::kNamed: {
        ARCELLA_ASSIGN_OR_RETURN(WitTypeDef d, Named(s, t.name, t.pos, depth + 1));
        if (d.resource) return ValueType::Own(d.resource);
        return d.type;
      }
      case wit::Type::kOwn: {
        ARCELLA_ASSIGN_OR_RETURN(ResourceRef r, ResourceNamed(s, t, depth));
        return ValueType::Own(std::move(r));
      }
      case wit::Type::kBorrow: {
        ARCELLA_ASSIGN_OR_RETURN(ResourceRef r, ResourceNamed(s, t, depth));
        return ValueType::Borrow(std::move(r));
      }
      case wit::Type::kList: {
        ARCELLA_ASSIGN_OR_RETURN(TypeRef e, Resolve(s, t.args[0], depth + 1));
        if (t.length != 0) return ValueType::FixedList(std::move(e), t.length);
        return ValueType::List(std::move(e));
      }
      case wit::Type::kMap: {  // the key was checked by the parser
        ARCELLA_ASSIGN_OR_RETURN(TypeRef k, Resolve(s, t.args[0], depth + 1));
        ARCELLA_ASSIGN_OR_RETURN(TypeRef v, Resolve(s, t.args[1], depth + 1));
        return ValueType::Map(std::move(k), std::move(v));
      }
      case wit::Type::kOption: {
        ARCELLA_ASSIGN_OR_RETURN(TypeRef e, Resolve(s, t.args[0], depth + 1));
        return ValueType::Option(std::move(e));
      }
      case wit::Type::kTuple: {
        std::vector<TypeRef> elems;
        for (const auto& a : t.args) {
          ARCELLA_ASSIGN_OR_RETURN(TypeRef e, Resolve(s, a, depth + 1));
          elems.push_back(std::move(e));
        }
        return ValueType::Tuple(std::move(elems));
      }
      case wit::Type::kResult: {
        TypeRef ok, err;
        if (!t.args.empty() && t.args[0].kind != wit::Type::kNone) {
          ARCELLA_ASSIGN_OR_RETURN(ok, Resolve(s, t.args[0], depth + 1));
        }
        if (t.args.size() > 1) {
          ARCELLA_ASSIGN_OR_RETURN(err, Resolve(s, t.args[1], depth + 1));
        }
        return ValueType::Result(std::move(ok), std::move(err));
      }
      case wit::Type::kNone: break;
    }
    return ErrorAt(t.pos, "`_` is only allowed as the ok type of a result");
  }

  Result<WitFunction> Function(Scope& s, const wit::Func& f, const wit::TypeDef* res, int depth) {
    WitFunction out;
    ResourceRef r;
    if (res != nullptr) {
      ARCELLA_ASSIGN_OR_RETURN(WitTypeDef d, Named(s, res->name, res->pos, depth));
      r = d.resource;
      out.resource = res->name;
    }
    switch (f.kind) {
      case wit::Func::kPlain: out.name = f.name; break;
      case wit::Func::kMethod:
        out.kind = WitFuncKind::kMethod;
        out.name = "[method]" + res->name + "." + f.name;
        out.type.params.push_back({"self", ValueType::Borrow(r)});
        break;
      case wit::Func::kStatic:
        out.kind = WitFuncKind::kStatic;
        out.name = "[static]" + res->name + "." + f.name;
        break;
      case wit::Func::kConstructor:
        out.kind = WitFuncKind::kConstructor;
        out.name = "[constructor]" + res->name;
        out.type.result = ValueType::Own(r);
        break;
    }
    std::set<std::string> seen;
    for (const auto& q : out.type.params) seen.insert(q.name);
    for (const auto& p : f.params) {
      if (!seen.insert(p.name).second) {
        return ErrorAt(p.pos, "duplicate parameter `" + p.name + "`");
      }
      ARCELLA_ASSIGN_OR_RETURN(TypeRef t, Resolve(s, p.type, depth + 1));
      out.type.params.push_back({p.name, std::move(t)});
    }
    if (f.has_result) {
      ARCELLA_ASSIGN_OR_RETURN(out.type.result, Resolve(s, f.result, depth + 1));
    }
    return out;
  }

  // ------------------------------------------------------------ worlds
  Result<const WitWorld*> World(size_t p, size_t w, int depth) {
    const wit::World& a = ast_[p].worlds[w];
    ARCELLA_RETURN_IF_ERROR(Deep(a.pos, depth));
    if (world_state_[p][w] == kDone) return &worlds_[p][w];
    if (world_state_[p][w] == kBusy) {
      return ErrorAt(a.pos, "world `" + a.name + "` includes itself");
    }
    world_state_[p][w] = kBusy;
    WitWorld out;
    out.name = a.name;
    Scope s;
    std::vector<WitInterfaceRef> world_deps;
    ARCELLA_RETURN_IF_ERROR(OpenScope(p, a.uses, a.types, &out.types, &s, &world_deps, depth));
    for (const auto& d : world_deps) AddImport(d, &out);
    // Names already in the lists (kept in step as the lists grow).
    std::map<std::string, size_t> import_index, export_index;
    size_t import_synced = 0, export_synced = 0;
    auto sync = [](const std::vector<WitWorldItem>& list, std::map<std::string, size_t>* index,
                   size_t* synced) {
      for (; *synced < list.size(); ++*synced) index->emplace(list[*synced].name, *synced);
    };
    for (const auto& item : a.items) {
      if (item.kind == wit::WorldItem::kInclude) {
        ARCELLA_RETURN_IF_ERROR(Include(p, item, &out, depth));
        continue;
      }
      WitWorldItem wi;
      switch (item.kind) {
        case wit::WorldItem::kFunc: {
          wi.name = item.name;
          wi.is_function = true;
          ARCELLA_ASSIGN_OR_RETURN(wi.function, Function(s, item.func, nullptr, depth));
          break;
        }
        case wit::WorldItem::kInlineInterface: {
          wi.name = item.name;
          auto iface = std::make_shared<WitInterface>();
          iface->package = Id(p);
          ARCELLA_RETURN_IF_ERROR(FillInterface(p, item.inline_iface, iface.get(), depth + 1));
          wi.iface = iface;
          break;
        }
        default: {
          ARCELLA_ASSIGN_OR_RETURN(auto where, FindIface(p, item.path));
          ARCELLA_ASSIGN_OR_RETURN(wi.iface, Iface(where.first, where.second, depth + 1));
          wi.name = item.name.empty() ? wi.iface->QualifiedName() : item.name;
          break;
        }
      }
      if (wi.iface) {
        for (const auto& d : wi.iface->deps) AddImport(d, &out);
      }
      auto& list = item.is_import ? out.imports : out.exports;
      sync(out.imports, &import_index, &import_synced);
      sync(out.exports, &export_index, &export_synced);
      auto& index = item.is_import ? import_index : export_index;
      auto it = index.find(wi.name);
      if (it == index.end()) {
        list.push_back(std::move(wi));
      } else if (!wi.iface || list[it->second].iface != wi.iface) {
        return ErrorAt(item.pos, std::string(item.is_import ? "import" : "export") + " `" +
                                     wi.name + "` is given twice");
      }  // else: already imported as a dependency of an earlier item
    }
    worlds_[p][w] = std::move(out);
    world_state_[p][w] = kDone;
    return &worlds_[p][w];
  }

  // Imports `iface` (after its own dependencies) unless the world already
  // imports or exports it.
  static void AddImport(const WitInterfaceRef& iface, WitWorld* w, int depth = 0) {
    std::string name = iface->QualifiedName();
    for (const auto* list : {&w->imports, &w->exports}) {
      for (const auto& item : *list) {
        if (item.name == name) return;
      }
    }
    if (depth > kWitMaxDepth) return;
    for (const auto& d : iface->deps) AddImport(d, w, depth + 1);
    WitWorldItem item;
    item.name = std::move(name);
    item.iface = iface;
    w->imports.push_back(std::move(item));
  }

  Status Include(size_t p, const wit::WorldItem& item, WitWorld* out, int depth) {
    size_t tp = p;
    if (!item.path.ns.empty()) {
      ARCELLA_ASSIGN_OR_RETURN(tp, FindPackage(item.path));
    }
    const auto& a = ast_[tp];
    size_t w = 0;
    while (w < a.worlds.size() && a.worlds[w].name != item.path.iface) ++w;
    if (w == a.worlds.size()) {
      return ErrorAt(item.path.pos,
                     "package " + Id(tp) + " has no world `" + item.path.iface + "`");
    }
    ARCELLA_ASSIGN_OR_RETURN(const WitWorld* inc, World(tp, w, depth + 1));
    WitWorld copy = *inc;  // `out` may alias storage of worlds_ being resized? no: copied first
    auto merge = [&](std::vector<WitWorldItem>& from, std::vector<WitWorldItem>* to) {
      for (auto& wi : from) {
        for (const auto& [old_name, new_name] : item.renames) {
          if (wi.name == old_name) wi.name = new_name;
        }
        bool dup = false;
        for (const auto& o : *to) dup |= o.name == wi.name;
        if (!dup) to->push_back(std::move(wi));
      }
    };
    merge(copy.imports, &out->imports);
    merge(copy.exports, &out->exports);
    return Status::Ok();
  }

  std::vector<wit::Package> ast_;
  std::vector<std::vector<WitInterfaceRef>> ifaces_;
  std::vector<std::vector<State>> iface_state_;
  std::vector<std::vector<WitWorld>> worlds_;
  std::vector<std::vector<State>> world_state_;
};

}  // namespace

Result<std::vector<WitPackage>> ParseWit(std::span<const WitSource> sources) {
  std::vector<wit::Package> all;
  for (const auto& src : sources) {
    ARCELLA_ASSIGN_OR_RETURN(auto pkgs, wit::ParseFile(src.filename, src.text));
    for (auto& p : pkgs) all.push_back(std::move(p));
  }
  return Resolver(std::move(all)).Run();
}

}  // namespace arcella::component
