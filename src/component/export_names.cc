#include "component/export_names.h"

namespace arcella::component {
namespace {

// "IFACE#f" -> ("IFACE", "f"); a top-level name -> ("", name).
std::pair<std::string_view, std::string_view> SplitExport(std::string_view name) {
  size_t hash = name.rfind('#');
  if (hash == std::string_view::npos) return {{}, name};
  return {name.substr(0, hash), name.substr(hash + 1)};
}

// "ns:pkg/iface@1.2.3" without the version; and its bare interface name.
std::string_view WithoutVersion(std::string_view iface) { return iface.substr(0, iface.find('@')); }
std::string_view BareInterface(std::string_view iface) {
  std::string_view v = WithoutVersion(iface);
  size_t slash = v.rfind('/');
  return slash == std::string_view::npos ? v : v.substr(slash + 1);
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

// Exports of an interface matching IFACE#f as written (full, unversioned or bare).
std::vector<std::string> Qualified(std::string_view want_iface, std::string_view want_fn,
                                   const std::vector<std::string>& exports) {
  std::vector<std::string> out;
  for (const std::string& e : exports) {
    auto [iface, fn] = SplitExport(e);
    if (iface.empty() || fn != want_fn) continue;
    if (iface == want_iface || WithoutVersion(iface) == want_iface ||
        BareInterface(iface) == want_iface)
      out.push_back(e);
  }
  return out;
}

}  // namespace

ExportMatch ResolveExportName(std::string_view written, const std::vector<std::string>& exports) {
  ExportMatch m;
  for (const std::string& e : exports) {
    if (e == written) {
      m.name = e;
      return m;
    }
  }
  std::vector<std::string> candidates;
  if (written.find('#') != std::string_view::npos) {
    auto [want_iface, want_fn] = SplitExport(written);
    candidates = Qualified(want_iface, want_fn, exports);
  } else {
    // IFACE.f: any '.' may be the separator ("api.[method]counter.get" has
    // two; versions have more): the first split that names exports wins.
    for (size_t dot = written.find('.'); dot != std::string_view::npos && candidates.empty();
         dot = written.find('.', dot + 1))
      candidates = Qualified(written.substr(0, dot), written.substr(dot + 1), exports);
    if (candidates.empty()) {
      for (const std::string& e : exports) {
        auto [iface, fn] = SplitExport(e);
        if (!iface.empty() && fn == written) candidates.push_back(e);
      }
    }
  }
  if (candidates.size() == 1) {
    m.name = candidates[0];
  } else if (candidates.empty()) {
    m.error = "exports no function `" + std::string(written) +
              "` (functions: " + JoinNames(exports) + ")";
  } else {
    m.error = "`" + std::string(written) + "` is ambiguous: " + JoinNames(candidates);
  }
  return m;
}

std::string FindRunExport(const std::vector<std::string>& exports) {
  constexpr std::string_view kPrefix = "wasi:cli/run@0.2.";
  for (const std::string& e : exports) {
    auto [iface, fn] = SplitExport(e);
    if (fn == "run" && iface.substr(0, kPrefix.size()) == kPrefix) return e;
  }
  return {};
}

std::vector<std::string> ExportedFuncNames(const Component& c) {
  std::vector<std::string> out;
  for (const ExternDecl& e : c.type.exports) {
    if (e.type.sort == Sort::kFunc) {
      out.push_back(e.name.text);
    } else if (e.type.sort == Sort::kInstance && e.type.instance) {
      for (const ExternDecl& f : e.type.instance->exports)
        if (f.type.sort == Sort::kFunc) out.push_back(e.name.text + "#" + f.name.text);
    }
  }
  return out;
}

const FuncType* ExportedFuncType(const Component& c, std::string_view name) {
  auto [iface, fn] = SplitExport(name);
  for (const ExternDecl& e : c.type.exports) {
    if (iface.empty()) {
      if (e.type.sort == Sort::kFunc && e.name.text == fn) return e.type.func.get();
    } else if (e.type.sort == Sort::kInstance && e.type.instance && e.name.text == iface) {
      const ExternDecl* f = e.type.instance->Find(fn);
      return f && f->type.sort == Sort::kFunc ? f->type.func.get() : nullptr;
    }
  }
  return nullptr;
}

const FuncType* ImportedFuncType(const Component& c, std::string_view import,
                                 std::string_view func) {
  for (const ExternDecl& d : c.type.imports) {
    if (d.name.text != import) continue;
    if (func.empty()) return d.type.sort == Sort::kFunc ? d.type.func.get() : nullptr;
    if (d.type.sort != Sort::kInstance || !d.type.instance) return nullptr;
    for (const auto& f : d.type.instance->exports)
      if (f.name.text == func && f.type.sort == Sort::kFunc) return f.type.func.get();
  }
  return nullptr;
}

std::vector<std::pair<std::string, ResourceRef>> ImportedResources(const Component& c,
                                                                   std::string_view import) {
  std::vector<std::pair<std::string, ResourceRef>> out;
  for (const ExternDecl& d : c.type.imports) {
    if (d.name.text != import || d.type.sort != Sort::kInstance || !d.type.instance) continue;
    for (const auto& r : d.type.instance->exports)
      if (r.type.sort == Sort::kType && r.type.sub_resource && r.type.type && r.type.type->resource)
        out.emplace_back(r.name.text, r.type.type->resource);
  }
  return out;
}

}  // namespace arcella::component
