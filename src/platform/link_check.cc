#include "platform/link_check.h"

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

bool HasResource(const comp::ValueType& t) {
  if (t.kind == comp::TypeKind::kOwn || t.kind == comp::TypeKind::kBorrow) return true;
  if (t.elem && HasResource(*t.elem)) return true;
  if (t.ok && HasResource(*t.ok)) return true;
  if (t.err && HasResource(*t.err)) return true;
  for (const auto& f : t.fields)
    if (f.type && HasResource(*f.type)) return true;
  for (const auto& c : t.cases)
    if (c.type && HasResource(*c.type)) return true;
  return false;
}

// "" if equal, else where they first differ.
std::string Differ(const comp::ValueType& want, const comp::ValueType& got) {
  auto mismatch = [&] {
    return "expected " + comp::TypeToString(want) + ", found " + comp::TypeToString(got);
  };
  if (want.kind != got.kind || want.length != got.length) return mismatch();
  auto sub = [&](const comp::TypeRef& a, const comp::TypeRef& b,
                 const std::string& where) -> std::string {
    if (!a && !b) return "";
    if (!a || !b) return mismatch();
    std::string d = Differ(*a, *b);
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
      return name(want.resource) == name(got.resource) ? "" : mismatch();
    }
    default: return "";
  }
}

std::string FuncDiffer(const comp::FuncType& want, const comp::FuncType& got) {
  if (want.params.size() != got.params.size())
    return "expected " + want.ToString() + ", found " + got.ToString();
  for (size_t i = 0; i < want.params.size(); ++i) {
    const auto& w = want.params[i];
    const auto& g = got.params[i];
    if (w.name != g.name)
      return "parameter " + std::to_string(i + 1) + ": expected " + w.name + ", found " + g.name;
    if (std::string d = Differ(*w.type, *g.type); !d.empty())
      return "parameter " + w.name + ": " + d;
  }
  if (!want.result != !got.result)
    return "result: expected " + (want.result ? comp::TypeToString(*want.result) : "none") +
           ", found " + (got.result ? comp::TypeToString(*got.result) : "none");
  if (want.result)
    if (std::string d = Differ(*want.result, *got.result); !d.empty()) return "result: " + d;
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
  for (const auto& f : imp->type.instance->exports) {
    if (f.type.sort != comp::Sort::kFunc || !f.type.func) continue;
    const comp::ExternDecl* g = exp->type.instance->Find(f.name.text);
    if (!g || g->type.sort != comp::Sort::kFunc || !g->type.func)
      return Status::FailedPrecondition(provider_id + "'s " + m.export_name + " has no function " +
                                        f.name.text);
    if (std::string d = FuncDiffer(*f.type.func, *g->type.func); !d.empty())
      return Status::FailedPrecondition("function " + f.name.text + ": " + d);
    for (const auto& p : f.type.func->params)
      if (HasResource(*p.type))
        return Status::Unsupported("function " + f.name.text +
                                   " passes a resource handle: resources across links are not "
                                   "supported yet");
    if (f.type.func->result && HasResource(*f.type.func->result))
      return Status::Unsupported("function " + f.name.text +
                                 " returns a resource handle: resources across links are not "
                                 "supported yet");
    m.functions.push_back(f.name.text);
  }
  return m;
}

std::string LinkedImport(const comp::Component& importer, std::string_view import) {
  const comp::ExternDecl* imp = FindImport(importer, import);
  return imp ? imp->name.text : std::string();
}

}  // namespace arcella::platform
