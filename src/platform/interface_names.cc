#include "platform/interface_names.h"

#include <charconv>
#include <optional>
#include <vector>

namespace arcella::platform {
namespace {

struct Parsed {
  std::string_view pkg;           // "ns:pkg", or the whole plain name
  std::string_view iface;         // empty: any (or a plain name)
  std::vector<uint64_t> version;  // empty: any
  bool plain = false;             // no ':' (a top-level function or a label)
  bool bad_version = false;
};

Parsed Parse(std::string_view s) {
  Parsed p;
  std::string_view ver;
  if (size_t at = s.find('@'); at != std::string_view::npos) {
    ver = s.substr(at + 1);
    s = s.substr(0, at);
  }
  if (s.find(':') == std::string_view::npos) p.plain = true;
  if (size_t slash = s.find('/'); slash != std::string_view::npos) {
    p.pkg = s.substr(0, slash);
    p.iface = s.substr(slash + 1);
  } else {
    p.pkg = s;
  }
  // Numbers of the version's core ("1.2.3-pre" reads as 1.2.3).
  ver = ver.substr(0, ver.find_first_of("-+"));
  while (!ver.empty()) {
    size_t dot = ver.find('.');
    std::string_view part = ver.substr(0, dot);
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (ec != std::errc() || end != part.data() + part.size() || part.empty()) {
      p.bad_version = true;
      break;
    }
    p.version.push_back(n);
    if (dot == std::string_view::npos) break;
    ver = ver.substr(dot + 1);
  }
  return p;
}

bool VersionMatches(const std::vector<uint64_t>& listed, const std::vector<uint64_t>& actual) {
  if (listed.empty()) return true;
  if (actual.empty()) return false;
  if (listed.size() < 3) {  // a prefix: every version with these leading numbers
    for (size_t i = 0; i < listed.size(); ++i)
      if (i >= actual.size() || actual[i] != listed[i]) return false;
    return true;
  }
  std::vector<uint64_t> a = actual;
  a.resize(3, 0);
  // Same track: same major (>= 1), same 0.minor (0.x), or exactly 0.0.z.
  if (listed[0] != a[0]) return false;
  if (listed[0] == 0 && listed[1] != a[1]) return false;
  if (listed[0] == 0 && listed[1] == 0) return listed[2] == a[2];
  return a >= std::vector<uint64_t>(listed.begin(), listed.begin() + 3);
}

std::string Names(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& n : v) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

std::vector<std::string> NamesOf(const std::vector<component::ExternDecl>& decls) {
  std::vector<std::string> out;
  for (const auto& d : decls) out.push_back(d.name.text);
  return out;
}

}  // namespace

bool InterfaceNameMatches(std::string_view listed, std::string_view actual) {
  if (listed == actual) return true;
  Parsed l = Parse(listed), a = Parse(actual);
  if (l.bad_version || a.bad_version || l.plain || a.plain) return false;
  if (l.pkg != a.pkg) return false;
  if (!l.iface.empty() && l.iface != a.iface) return false;
  return VersionMatches(l.version, a.version);
}

Status CheckManifestInterfaces(const ComponentManifest& m, const component::Component& c) {
  // The seed lists `wasi:http/incoming-handler` under imports: the
  // component takes HTTP requests from the platform (its ingress). In the
  // binary that is an export (the host calls `handle`), so under imports
  // this one name is also satisfied by a matching export (docs/HTTP.md).
  const std::vector<std::string> exported = NamesOf(c.type.exports);
  auto served = [&exported](const std::string& l) {
    if (!InterfaceNameMatches(l, "wasi:http/incoming-handler@0.2.12") &&
        !InterfaceNameMatches(l, "wasi:http/incoming-handler@0.2.0"))
      return false;
    for (const std::string& e : exported)
      if (InterfaceNameMatches(l, e)) return true;
    return false;
  };
  auto check = [&served](const std::vector<std::string>& listed,
                         const std::vector<component::ExternDecl>& decls,
                         const char* what) -> Status {
    std::vector<std::string> names = NamesOf(decls);
    for (const std::string& l : listed) {
      bool found = std::string_view(what) == "imports" && served(l);
      for (const std::string& n : names) found = found || InterfaceNameMatches(l, n);
      if (!found)
        return Status::InvalidArgument(std::string("the manifest's ") + what + " lists \"" + l +
                                       "\" but the component " + what + " " + Names(names));
    }
    return Status::Ok();
  };
  ARCELLA_RETURN_IF_ERROR(check(m.exports, c.type.exports, "exports"));
  return check(m.imports, c.type.imports, "imports");
}

}  // namespace arcella::platform
