#include "platform/link_check.h"

#include <map>
#include <set>

#include "component/export_names.h"

namespace arcella::platform {
namespace {

namespace comp = arcella::component;

std::string_view Unversioned(std::string_view n) { return n.substr(0, n.find('@')); }

// The semver track of a version: "1" for 1.x.y, "0.2" for 0.2.x, the whole
// version for 0.0.z and prereleases; "" for none.
std::string Track(std::string_view name) {
  size_t at = name.find('@');
  if (at == std::string_view::npos) return "";
  std::string_view v = name.substr(at + 1);
  if (v.find_first_of("-+") != std::string_view::npos) return std::string(v);
  size_t d1 = v.find('.');
  if (d1 == std::string_view::npos) return std::string(v);
  std::string_view major = v.substr(0, d1);
  if (major != "0") return std::string(major);
  size_t d2 = v.find('.', d1 + 1);
  std::string_view minor = v.substr(d1 + 1, d2 == std::string_view::npos ? v.npos : d2 - d1 - 1);
  if (minor != "0") return "0." + std::string(minor);
  return std::string(v);
}

bool SameInterface(std::string_view a, std::string_view b) {
  return a == b || (Unversioned(a) == Unversioned(b) && !Track(a).empty() && Track(a) == Track(b));
}

std::string Names(const std::vector<comp::ExternDecl>& decls, comp::Sort only) {
  std::string out;
  for (const auto& d : decls)
    if (d.type.sort == only) out += (out.empty() ? "" : ", ") + d.name.text;
  return out.empty() ? "none" : out;
}

// The first resource `t` passes that is not one of `own` (the linked
// interface's own resources), or null.
const comp::ResourceType* ForeignResource(const comp::ValueType& t,
                                          const std::set<const comp::ResourceType*>& own) {
  if (t.kind == comp::TypeKind::kOwn || t.kind == comp::TypeKind::kBorrow)
    return own.count(t.resource.get()) ? nullptr : t.resource.get();
  for (const auto* k : {&t.elem, &t.ok, &t.err})
    if (*k)
      if (auto r = ForeignResource(**k, own)) return r;
  for (const auto& f : t.fields)
    if (f.type)
      if (auto r = ForeignResource(*f.type, own)) return r;
  for (const auto& c : t.cases)
    if (c.type)
      if (auto r = ForeignResource(*c.type, own)) return r;
  return nullptr;
}

// The provider's names of resources (its exported interface's type items:
// its own resources carry internal names like "resource#24").
using ResourceNames = std::map<const comp::ResourceType*, std::string>;

// "" if equal, else where they first differ.
std::string Differ(const comp::ValueType& want, const comp::ValueType& got,
                   const ResourceNames* got_names) {
  auto mismatch = [&] {
    return "expected " + comp::TypeToString(want) + ", found " + comp::TypeToString(got);
  };
  if (want.kind != got.kind || want.length != got.length) return mismatch();
  auto sub = [&](const comp::TypeRef& a, const comp::TypeRef& b,
                 const std::string& where) -> std::string {
    if (!a && !b) return "";
    if (!a || !b) return mismatch();
    std::string d = Differ(*a, *b, got_names);
    return d.empty() ? "" : where + d;
  };
  switch (want.kind) {
    case comp::TypeKind::kList:
    case comp::TypeKind::kOption:
    case comp::TypeKind::kMap: return sub(want.elem, got.elem, "");
    case comp::TypeKind::kResult: {
      std::string d = sub(want.ok, got.ok, "ok: ");
      return d.empty() ? sub(want.err, got.err, "err: ") : d;
    }
    case comp::TypeKind::kRecord:
    case comp::TypeKind::kTuple: {
      if (want.fields.size() != got.fields.size()) return mismatch();
      for (size_t i = 0; i < want.fields.size(); ++i) {
        if (want.fields[i].name != got.fields[i].name) return mismatch();
        std::string where = want.kind == comp::TypeKind::kRecord
                                ? "field " + want.fields[i].name + ": "
                                : "element " + std::to_string(i) + ": ";
        if (std::string d = sub(want.fields[i].type, got.fields[i].type, where); !d.empty())
          return d;
      }
      return "";
    }
    case comp::TypeKind::kVariant: {
      if (want.cases.size() != got.cases.size()) return mismatch();
      for (size_t i = 0; i < want.cases.size(); ++i) {
        if (want.cases[i].name != got.cases[i].name) return mismatch();
        if (std::string d = sub(want.cases[i].type, got.cases[i].type,
                                "case " + want.cases[i].name + ": ");
            !d.empty())
          return d;
      }
      return "";
    }
    case comp::TypeKind::kEnum:
    case comp::TypeKind::kFlags: return want.labels == got.labels ? "" : mismatch();
    case comp::TypeKind::kOwn:
    case comp::TypeKind::kBorrow: {
      auto name = [](const comp::ResourceRef& r) {
        if (!r) return std::string();
        size_t h = r->name.rfind('#');
        return h == std::string::npos ? r->name : r->name.substr(h + 1);
      };
      std::string got_name = name(got.resource);
      if (got_names && got.resource)
        if (auto it = got_names->find(got.resource.get()); it != got_names->end())
          got_name = it->second;
      return name(want.resource) == got_name ? "" : mismatch();
    }
    default: return "";
  }
}

std::string FuncDiffer(const comp::FuncType& want, const comp::FuncType& got,
                       const ResourceNames* got_names = nullptr) {
  if (want.params.size() != got.params.size())
    return "expected " + want.ToString() + ", found " + got.ToString();
  for (size_t i = 0; i < want.params.size(); ++i) {
    const auto& w = want.params[i];
    const auto& g = got.params[i];
    if (w.name != g.name)
      return "parameter " + std::to_string(i + 1) + ": expected " + w.name + ", found " + g.name;
    if (std::string d = Differ(*w.type, *g.type, got_names); !d.empty())
      return "parameter " + w.name + ": " + d;
  }
  if (!want.result != !got.result)
    return "result: expected " + (want.result ? comp::TypeToString(*want.result) : "none") +
           ", found " + (got.result ? comp::TypeToString(*got.result) : "none");
  if (want.result)
    if (std::string d = Differ(*want.result, *got.result, got_names); !d.empty())
      return "result: " + d;
  return "";
}

const comp::ExternDecl* FindImport(const comp::Component& importer, std::string_view import) {
  for (const auto& d : importer.type.imports)
    if (d.name.text == import && d.type.sort != comp::Sort::kType) return &d;
  for (const auto& d : importer.type.imports)
    if (d.type.sort == comp::Sort::kInstance && SameInterface(d.name.text, import)) return &d;
  return nullptr;
}

}  // namespace

Result<LinkMatch> CheckLink(const comp::Component& importer, std::string_view import,
                            const comp::Component& provider, const std::string& provider_id) {
  const comp::ExternDecl* imp = FindImport(importer, import);
  if (!imp)
    return Status::FailedPrecondition(
        "the component imports no " + std::string(import) +
        " (imports: " + Names(importer.type.imports, comp::Sort::kInstance) + ")");
  LinkMatch m;
  m.import = imp->name.text;
  // A top-level function import: the provider's top-level function of that name.
  if (imp->type.sort == comp::Sort::kFunc) {
    for (const auto& e : provider.type.exports) {
      if (e.type.sort != comp::Sort::kFunc || e.name.text != imp->name.text) continue;
      if (std::string d = FuncDiffer(*imp->type.func, *e.type.func); !d.empty())
        return Status::FailedPrecondition("function " + e.name.text + ": " + d);
      for (const auto& p : imp->type.func->params)
        if (auto r = ForeignResource(*p.type, {}))
          return Status::Unsupported("function " + e.name.text + " passes a " + r->name +
                                     " handle: only resources of a linked interface cross links");
      if (imp->type.func->result)
        if (auto r = ForeignResource(*imp->type.func->result, {}))
          return Status::Unsupported("function " + e.name.text + " returns a " + r->name +
                                     " handle: only resources of a linked interface cross links");
      m.export_name = e.name.text;
      m.functions.push_back(e.name.text);
      return m;
    }
    return Status::FailedPrecondition(
        provider_id + " exports no function " + imp->name.text +
        " (functions: " + Names(provider.type.exports, comp::Sort::kFunc) + ")");
  }
  if (imp->type.sort != comp::Sort::kInstance || !imp->type.instance)
    return Status::FailedPrecondition("import " + imp->name.text +
                                      " is not an interface or a function");
  const comp::ExternDecl* exp = nullptr;
  for (const auto& e : provider.type.exports)
    if (e.type.sort == comp::Sort::kInstance && e.name.text == imp->name.text) exp = &e;
  if (!exp)
    for (const auto& e : provider.type.exports)
      if (!exp && e.type.sort == comp::Sort::kInstance && SameInterface(e.name.text, m.import))
        exp = &e;
  if (!exp || !exp->type.instance)
    return Status::FailedPrecondition(provider_id + " exports no " + m.import + " (exports: " +
                                      Names(provider.type.exports, comp::Sort::kInstance) + ")");
  m.export_name = exp->name.text;
  ResourceNames provider_names;
  for (const auto& e : exp->type.instance->exports)
    if (e.type.sort == comp::Sort::kType && e.type.type &&
        e.type.type->kind == comp::TypeDef::Kind::kResource && e.type.type->resource)
      provider_names[e.type.type->resource.get()] = e.name.text;
  // Resources the interface declares cross as handles the provider keeps;
  // the provider must export each one it passes.
  std::set<const comp::ResourceType*> own;
  for (const auto& [name, rt] : comp::ImportedResources(importer, imp->name.text)) {
    own.insert(rt.get());
    const comp::ExternDecl* r = exp->type.instance->Find(name);
    if (!r || r->type.sort != comp::Sort::kType || !r->type.type ||
        r->type.type->kind != comp::TypeDef::Kind::kResource)
      return Status::FailedPrecondition(provider_id + "'s " + m.export_name + " has no resource " +
                                        name);
  }
  for (const auto& f : imp->type.instance->exports) {
    if (f.type.sort != comp::Sort::kFunc || !f.type.func) continue;
    const comp::ExternDecl* g = exp->type.instance->Find(f.name.text);
    if (!g || g->type.sort != comp::Sort::kFunc || !g->type.func)
      return Status::FailedPrecondition(provider_id + "'s " + m.export_name + " has no function " +
                                        f.name.text);
    if (std::string d = FuncDiffer(*f.type.func, *g->type.func, &provider_names); !d.empty())
      return Status::FailedPrecondition("function " + f.name.text + ": " + d);
    for (const auto& p : f.type.func->params)
      if (auto r = ForeignResource(*p.type, own))
        return Status::Unsupported("function " + f.name.text + " passes a " + r->name +
                                   " handle of another interface: only the linked interface's "
                                   "own resources cross links");
    if (f.type.func->result)
      if (auto r = ForeignResource(*f.type.func->result, own))
        return Status::Unsupported("function " + f.name.text + " returns a " + r->name +
                                   " handle of another interface: only the linked interface's "
                                   "own resources cross links");
    m.functions.push_back(f.name.text);
  }
  return m;
}

std::string LinkedImport(const comp::Component& importer, std::string_view import) {
  const comp::ExternDecl* imp = FindImport(importer, import);
  return imp ? imp->name.text : std::string();
}

}  // namespace arcella::platform
