// The WIT printer: walks the imports and exports of a decoded component and
// names types by their decoded nodes (see wit_print.h).
#include "component/wit_print.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "component/ast.h"

namespace arcella::component {

namespace {

// WIT keywords: identifiers spelled like them are written `%name`.
bool IsKeyword(std::string_view s) {
  static const std::set<std::string_view> kKeywords = {
      "_",           "as",      "async",         "bool",   "borrow", "char",
      "constructor", "enum",    "error-context", "export", "f32",    "f64",
      "flags",       "float32", "float64",       "from",   "func",   "future",
      "import",      "include", "interface",     "list",   "own",    "option",
      "package",     "record",  "resource",      "result", "s16",    "s32",
      "s64",         "s8",      "static",        "stream", "string", "tuple",
      "type",        "u16",     "u32",           "u64",    "u8",     "use",
      "variant",     "with",    "world",         "map"};
  return kKeywords.count(s) != 0;
}

std::string Id(std::string_view s) {
  std::string out = IsKeyword(s) ? "%" : "";
  out += s;
  return out;
}

std::string Indent(int n) { return std::string(static_cast<size_t>(n) * 2, ' '); }

// `@external-id("...")` on the line before an item; ASCII letters, digits and
// '-' as they are, anything else as \u{hex}.
std::string Attributes(const ExternName& n, int indent) {
  if (!n.has_external_id) return "";
  std::string out = Indent(indent) + "@external-id(\"";
  const std::string& s = n.external_id;
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-') {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence (the decoder validated the name).
    int len = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    uint32_t cp = len == 1 ? b : b & (0x7f >> len);
    for (int k = 1; k < len && i + static_cast<size_t>(k) < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3f);
    }
    i += static_cast<size_t>(len);
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u{%x}", cp);
    out += buf;
  }
  return out + "\")\n";
}

// Where a type node or resource was first named: the scope's path
// ("ns:pkg/iface@v" for an interface with a qualified name, the plain name of
// an inline interface, "" for the world) and the name there.
struct Origin {
  std::string path;
  std::string name;
};

// The names visible in one scope (an interface or the world).
struct ScopeNames {
  std::unordered_map<const ValueType*, std::string> values;
  std::unordered_map<const ResourceType*, std::string> resources;
};

// A scope's text in parts: its `use`s and types (blocks separated by blank
// lines, as jco prints them) and its functions (world: imported and
// exported apart).
struct BodyText {
  std::string types;
  std::string funcs;         // an interface's, or the world's imports
  std::string export_funcs;  // the world's exports
  std::string Interface() const {
    if (types.empty()) return funcs;
    return funcs.empty() ? types : types + "\n" + funcs;
  }
};

// One printable item of a scope: a type or a function declaration.
struct Decl {
  const ExternName* name;
  const ExternType* type;
  const char* prefix;  // world functions: "import " / "export "; else ""
};

class Printer {
 public:
  explicit Printer(const WitPrintOptions& options) : options_(options) {}

  Result<std::string> Run(const Component& c);

 private:
  // The body of a scope at `indent`: uses, types (resources with their
  // functions), then functions. Registers the scope's type names first.
  Result<BodyText> Body(const std::string& path, const std::vector<Decl>& decls, int indent);
  std::string Ref(const TypeRef& t, const ScopeNames& names, const ValueType* self,
                  Status* err) const;
  std::string ResourceName(const ResourceType* r, const ScopeNames& names) const;
  std::string Func(const FuncType& f, bool method, const ScopeNames& names, Status* err) const;
  std::string Definition(const std::string& name, const TypeRef& t, const ScopeNames& names,
                         int indent, Status* err) const;
  static std::string UsePath(const std::string& from, const std::string& path);

  WitPrintOptions options_;
  std::unordered_map<const ValueType*, Origin> value_origin_;
  std::unordered_map<const ResourceType*, Origin> resource_origin_;
};

std::string Printer::UsePath(const std::string& from, const std::string& path) {
  // Within one package, `use iface.{...}`; across packages the full name.
  ExternName a, b;
  if (ParseInterfaceName(from, &a).empty() && ParseInterfaceName(path, &b).empty() &&
      a.ns == b.ns && a.package == b.package && a.version == b.version) {
    return Id(b.interface);
  }
  return path;
}

std::string Printer::ResourceName(const ResourceType* r, const ScopeNames& names) const {
  auto local = names.resources.find(r);
  if (local != names.resources.end()) return Id(local->second);
  auto o = resource_origin_.find(r);
  if (o != resource_origin_.end()) return Id(o->second.name);
  return Id(r->name);
}

std::string Printer::Ref(const TypeRef& t, const ScopeNames& names, const ValueType* self,
                         Status* err) const {
  if (t.get() != self) {
    auto local = names.values.find(t.get());
    if (local != names.values.end()) return Id(local->second);
  }
  if (IsPrimitive(t->kind)) return TypeKindName(t->kind);
  switch (t->kind) {
    case TypeKind::kList:
      if (t->length != 0) {
        return "list<" + Ref(t->elem, names, nullptr, err) + ", " + std::to_string(t->length) + ">";
      }
      return "list<" + Ref(t->elem, names, nullptr, err) + ">";
    case TypeKind::kOption: return "option<" + Ref(t->elem, names, nullptr, err) + ">";
    case TypeKind::kMap:
      return "map<" + Ref(t->map_key(), names, nullptr, err) + ", " +
             Ref(t->map_value(), names, nullptr, err) + ">";
    case TypeKind::kResult: {
      if (!t->ok && !t->err) return "result";
      std::string ok = t->ok ? Ref(t->ok, names, nullptr, err) : "_";
      if (!t->err) return "result<" + ok + ">";
      return "result<" + ok + ", " + Ref(t->err, names, nullptr, err) + ">";
    }
    case TypeKind::kTuple: {
      std::string s = "tuple<";
      for (size_t i = 0; i < t->fields.size(); ++i) {
        if (i > 0) s += ", ";
        s += Ref(t->fields[i].type, names, nullptr, err);
      }
      return s + ">";
    }
    case TypeKind::kOwn: return ResourceName(t->resource.get(), names);
    case TypeKind::kBorrow: return "borrow<" + ResourceName(t->resource.get(), names) + ">";
    default: {
      // record, variant, enum, flags: WIT only has them named.
      auto o = value_origin_.find(t.get());
      if (o != value_origin_.end()) return Id(o->second.name);
      if (err->ok()) {
        *err = Status::InvalidArgument(std::string("an anonymous ") + TypeKindName(t->kind) +
                                       " type has no WIT form (WIT names every " +
                                       TypeKindName(t->kind) + ")");
      }
      return TypeKindName(t->kind);
    }
  }
}

std::string Printer::Func(const FuncType& f, bool method, const ScopeNames& names,
                          Status* err) const {
  std::string s = "(";
  bool first = true;
  for (size_t i = method ? 1 : 0; i < f.params.size(); ++i) {
    if (!first) s += ", ";
    first = false;
    s += Id(f.params[i].name) + ": " + Ref(f.params[i].type, names, nullptr, err);
  }
  s += ")";
  if (f.result) s += " -> " + Ref(f.result, names, nullptr, err);
  return s;
}

std::string Printer::Definition(const std::string& name, const TypeRef& t, const ScopeNames& names,
                                int indent, Status* err) const {
  std::string in = Indent(indent), in2 = Indent(indent + 1);
  auto block = [&](const char* kw, const std::vector<std::string>& items) {
    std::string s = in + kw + " " + Id(name) + " {\n";
    for (const auto& i : items) s += in2 + i + ",\n";
    return s + in + "}\n";
  };
  std::vector<std::string> items;
  switch (t->kind) {
    case TypeKind::kRecord:
      for (const auto& f : t->fields) {
        items.push_back(Id(f.name) + ": " + Ref(f.type, names, nullptr, err));
      }
      return block("record", items);
    case TypeKind::kVariant:
      for (const auto& c : t->cases) {
        items.push_back(c.type ? Id(c.name) + "(" + Ref(c.type, names, nullptr, err) + ")"
                               : Id(c.name));
      }
      return block("variant", items);
    case TypeKind::kEnum:
    case TypeKind::kFlags:
      for (const auto& l : t->labels) items.push_back(Id(l));
      return block(t->kind == TypeKind::kEnum ? "enum" : "flags", items);
    default: return in + "type " + Id(name) + " = " + Ref(t, names, t.get(), err) + ";\n";
  }
}

Result<BodyText> Printer::Body(const std::string& path, const std::vector<Decl>& decls,
                               int indent) {
  ScopeNames names;
  Status err;
  auto fail = [&](const Decl& d, const std::string& why) {
    if (err.ok()) err = Status::InvalidArgument(d.prefix + ("`" + d.name->text + "`: ") + why);
  };
  // Pass 1: type names. Uses are grouped by the scope they come from.
  std::vector<std::pair<std::string, std::vector<std::string>>> uses;
  auto add_use = [&](const Origin& o, const std::string& name) {
    std::string item = Id(o.name) + (o.name == name ? "" : " as " + Id(name));
    std::string from = UsePath(path, o.path);
    for (auto& u : uses) {
      if (u.first == from) {
        u.second.push_back(item);
        return;
      }
    }
    uses.push_back({from, {item}});
  };
  struct TypeItem {
    std::string name;
    const ResourceType* resource = nullptr;  // a resource defined here
    TypeRef value;                           // a value type defined here
    std::string alias;                       // `type name = alias;` (same scope)
    std::vector<std::string> funcs;          // a resource's functions
    std::string attributes;                  // `@external-id(...)` line(s)
  };
  std::vector<TypeItem> types;
  const Decl* current = nullptr;
  auto add_type = [&](const std::string& name, const ResourceType* r, TypeRef v,
                      std::string alias) {
    TypeItem t;
    t.attributes = Attributes(*current->name, indent);
    t.name = name;
    t.resource = r;
    t.value = std::move(v);
    t.alias = std::move(alias);
    types.push_back(std::move(t));
  };
  for (const Decl& d : decls) {
    if (d.type->sort != Sort::kType) continue;
    current = &d;
    const std::string& name = d.name->text;
    const TypeDef& td = *d.type->type;
    if (td.kind == TypeDef::Kind::kResource) {
      const ResourceType* r = td.resource.get();
      auto [o, fresh] = resource_origin_.emplace(r, Origin{path, name});
      names.resources.emplace(r, name);
      if (fresh) {
        add_type(name, r, nullptr, "");
      } else if (o->second.path != path) {
        add_use(o->second, name);
      } else {
        add_type(name, nullptr, nullptr, o->second.name);
      }
    } else if (td.kind == TypeDef::Kind::kValue) {
      const ValueType* v = td.value.get();
      auto [o, fresh] = value_origin_.emplace(v, Origin{path, name});
      names.values.emplace(v, name);
      // A record/variant/enum/flags named again has a node of its own
      // (ast.h, TypeDef::named_from); other types keep their node.
      Origin from = o->second;
      if (fresh && td.named_from) {
        auto f = value_origin_.find(td.named_from.get());
        if (f != value_origin_.end()) {
          from = f->second;
          fresh = false;
        }
      }
      if (fresh) {
        add_type(name, nullptr, td.value, "");
      } else if (from.path != path) {
        add_use(from, name);
      } else {
        add_type(name, nullptr, nullptr, from.name);
      }
    } else {
      fail(d, "a function, component or instance type has no WIT form");
    }
  }
  // Pass 2: functions; a resource's go inside it.
  std::string funcs, export_funcs;
  for (const Decl& d : decls) {
    const ExternName& n = *d.name;
    switch (d.type->sort) {
      case Sort::kType: continue;
      case Sort::kFunc: break;
      case Sort::kInstance: fail(d, "an instance inside an interface has no WIT form"); continue;
      default: fail(d, std::string("a ") + SortName(d.type->sort) + " has no WIT form"); continue;
    }
    const FuncType& f = *d.type->func;
    if (n.kind == ExternName::Kind::kLabel || n.kind == ExternName::Kind::kInterface) {
      (std::string_view(d.prefix) == "export "
           ? export_funcs
           : funcs) += Attributes(n, indent) + Indent(indent) + d.prefix +
                       Id(n.kind == ExternName::Kind::kLabel ? n.label : n.text) + ": func" +
                       Func(f, false, names, &err) + ";\n";
      continue;
    }
    auto owner = std::find_if(types.begin(), types.end(), [&](const TypeItem& t) {
      return t.resource != nullptr && t.name == n.resource;
    });
    if (owner == types.end()) {
      fail(d, "no resource `" + n.resource + "` is defined beside it");
      continue;
    }
    switch (n.kind) {
      case ExternName::Kind::kConstructor: {
        // `-> r` is implied; another result (`result<r, e>`) is printed.
        FuncType ctor = f;
        if (ctor.result && ctor.result->kind == TypeKind::kOwn &&
            ctor.result->resource.get() == owner->resource) {
          ctor.result = nullptr;
        }
        owner->funcs.push_back("constructor" + Func(ctor, false, names, &err) + ";");
        break;
      }
      case ExternName::Kind::kMethod:
        owner->funcs.push_back(Id(n.label) + ": func" + Func(f, true, names, &err) + ";");
        break;
      default:
        owner->funcs.push_back(Id(n.label) + ": static func" + Func(f, false, names, &err) + ";");
        break;
    }
  }
  BodyText out;
  std::string in = Indent(indent);
  auto block = [&](const std::string& text) {
    if (!out.types.empty()) out.types += "\n";
    out.types += text;
  };
  std::string use_lines;
  for (const auto& [from, items] : uses) {
    use_lines += in + "use " + from + ".{";
    for (size_t i = 0; i < items.size(); ++i) use_lines += (i > 0 ? ", " : "") + items[i];
    use_lines += "};\n";
  }
  if (!use_lines.empty()) block(use_lines);
  for (const TypeItem& t : types) {
    std::string text = t.attributes;
    if (t.resource != nullptr) {
      if (t.funcs.empty()) {
        text += in + "resource " + Id(t.name) + ";\n";
      } else {
        text += in + "resource " + Id(t.name) + " {\n";
        for (const auto& f : t.funcs) text += Indent(indent + 1) + f + "\n";
        text += in + "}\n";
      }
    } else if (t.value) {
      text += Definition(t.name, t.value, names, indent, &err);
    } else {
      text += in + "type " + Id(t.name) + " = " + Id(t.alias) + ";\n";
    }
    block(text);
  }
  out.funcs = std::move(funcs);
  out.export_funcs = std::move(export_funcs);
  if (!err.ok()) return err;
  return out;
}

Result<std::string> Printer::Run(const Component& c) {
  std::string imports, exports;
  // Interfaces named `ns:pkg/iface@v`: their bodies for foreign_packages.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> packages;
  auto instance_decls = [](const InstanceType& t) {
    std::vector<Decl> decls;
    for (const auto& e : t.exports) decls.push_back({&e.name, &e.type, ""});
    return decls;
  };
  auto instance = [&](const ExternName& n, const ExternType& t, const char* kw,
                      std::string* out) -> Status {
    // An instance that `implements` an interface prints as that interface.
    const std::string& iface = n.is_interface() ? n.text : n.implements;
    auto body = Body(iface.empty() ? n.text : iface, instance_decls(*t.instance), 2);
    *out += Attributes(n, 1);
    if (!iface.empty()) {
      *out += Indent(1) + kw + (n.is_interface() ? "" : Id(n.label) + ": ") + iface + ";\n";
      if (options_.foreign_packages) {
        if (!body.ok()) return body.status().WithContext(std::string(kw) + "`" + n.text + "`");
        ExternName in;
        if (!ParseInterfaceName(iface, &in).empty()) return Status::Ok();
        std::string pkg = in.ns + ":" + in.package + (in.version.empty() ? "" : "@" + in.version);
        auto& list = packages[pkg];
        if (std::none_of(list.begin(), list.end(),
                         [&](const auto& p) { return p.first == in.interface; })) {
          list.push_back({in.interface, body->Interface()});
        }
      }
      return Status::Ok();
    }
    if (!body.ok()) return body.status().WithContext(std::string(kw) + "`" + n.text + "`");
    *out += Indent(1) + kw + Id(n.label) + ": interface {\n" + body->Interface() + Indent(1) +
            "}\n";
    return Status::Ok();
  };
  auto no_form = [](const char* kw, const ExternName& n, Sort s) {
    return Status::InvalidArgument(std::string(kw) + "`" + n.text + "`: a " + SortName(s) + " " +
                                   (kw[0] == 'i' ? "import" : "export") + " has no WIT form");
  };
  // Imports: interfaces first, then the world's types and functions.
  std::vector<Decl> world;
  for (const Import& im : c.imports) {
    switch (im.type.sort) {
      case Sort::kInstance:
        ARCELLA_RETURN_IF_ERROR(instance(im.name, im.type, "import ", &imports));
        break;
      case Sort::kType:
      case Sort::kFunc: world.push_back({&im.name, &im.type, "import "}); break;
      case Sort::kCoreModule: break;  // not part of a WIT world (as jco)
      default: return no_form("import ", im.name, im.type.sort);
    }
  }
  for (const Export& ex : c.exports) {
    switch (ex.type.sort) {
      case Sort::kInstance:
        ARCELLA_RETURN_IF_ERROR(instance(ex.name, ex.type, "export ", &exports));
        break;
      case Sort::kFunc: world.push_back({&ex.name, &ex.type, "export "}); break;
      case Sort::kCoreModule: break;
      default: return no_form("export ", ex.name, ex.type.sort);
    }
  }
  auto world_body = Body("", world, 1);
  if (!world_body.ok()) return world_body.status();
  // As jco: the imports, a blank line, the exports.
  std::string import_part = imports + world_body->types + world_body->funcs;
  std::string export_part = exports + world_body->export_funcs;
  std::string out = "package root:component;\n\nworld root {\n" + import_part;
  if (!import_part.empty() && !export_part.empty()) out += "\n";
  out += export_part + "}\n";
  for (const auto& [pkg, ifaces] : packages) {
    out += "\npackage " + pkg + " {\n";
    for (size_t i = 0; i < ifaces.size(); ++i) {
      if (i > 0) out += "\n";
      out += Indent(1) + "interface " + Id(ifaces[i].first) + " {\n" + ifaces[i].second +
             Indent(1) + "}\n";
    }
    out += "}\n";
  }
  return out;
}

}  // namespace

Result<std::string> PrintComponentWit(const Component& c, const WitPrintOptions& options) {
  Printer p(options);
  return p.Run(c);
}

}  // namespace arcella::component
