// Linker: host definitions by interface name and the semver-compatible
// lookup of an importer's interface name (linker.h).
#include "component/linker.h"

#include <charconv>
#include <string>

#include "component/instance.h"
#include "component/instance_internal.h"
#include "component/names.h"

namespace arcella::component {

namespace {

Status CheckIface(std::string_view iface) {
  if (iface.empty()) return Status::Ok();
  ExternName n;
  std::string why = ParseInterfaceName(iface, &n);
  if (!why.empty())
    return Status::InvalidArgument("bad interface name \"" + std::string(iface) + "\": " + why);
  return Status::Ok();
}

Status CheckItemName(std::string_view iface, std::string_view name) {
  ExternName n;
  std::string why = ParseExternName(name, &n);
  if (why.empty() && n.is_interface()) why = "an interface name is not a function or resource name";
  if (!why.empty())
    return Status::InvalidArgument("bad name \"" + std::string(name) + "\" in interface \"" +
                                   std::string(iface) + "\": " + why);
  return Status::Ok();
}

// "ns:pkg/iface@1.2.3" -> base "ns:pkg/iface", numbers {1, 2, 3}. A version
// with a prerelease or build suffix, or not numeric, is not on any track.
struct Version {
  std::string base;
  bool has = false;    // an "@version" is there
  bool track = false;  // plain MAJOR[.MINOR[.PATCH]]
  uint64_t num[3] = {0, 0, 0};
  int parts = 0;
};

Version ParseVersion(std::string_view name) {
  Version v;
  size_t at = name.rfind('@');
  if (at == std::string_view::npos) {
    v.base = name;
    return v;
  }
  v.base = name.substr(0, at);
  v.has = true;
  std::string_view s = name.substr(at + 1);
  v.track = true;
  while (!s.empty() && v.parts < 3) {
    size_t dot = s.find('.');
    std::string_view part = s.substr(0, dot);
    uint64_t x = 0;
    auto r = std::from_chars(part.data(), part.data() + part.size(), x);
    if (part.empty() || r.ec != std::errc() || r.ptr != part.data() + part.size()) {
      v.track = false;
      return v;
    }
    v.num[v.parts++] = x;
    if (dot == std::string_view::npos) {
      s = {};
      break;
    }
    s.remove_prefix(dot + 1);
  }
  if (!s.empty() || v.parts == 0) v.track = false;
  return v;
}

// Same compatibility track: same major for >= 1; same 0.minor for 0.x (x >
// 0); 0.0.x only with itself.
bool SameTrack(const Version& a, const Version& b) {
  if (!a.track || !b.track) return false;
  if (a.num[0] != b.num[0]) return false;
  if (a.num[0] > 0) return true;
  if (a.num[1] != b.num[1]) return false;
  if (a.num[1] > 0) return true;
  return a.num[2] == b.num[2];
}

bool Newer(const Version& a, const Version& b) {
  for (int i = 0; i < 3; ++i)
    if (a.num[i] != b.num[i]) return a.num[i] > b.num[i];
  return false;
}

}  // namespace

Status Linker::DefineFunc(std::string_view iface, std::string_view name, FuncType type, HostFn fn) {
  ARCELLA_RETURN_IF_ERROR(CheckIface(iface));
  ARCELLA_RETURN_IF_ERROR(CheckItemName(iface, name));
  if (!fn) return Status::InvalidArgument("function \"" + std::string(name) + "\" has no body");
  Interface& i = interfaces_[std::string(iface)];
  if (i.funcs.count(name) || i.resources.count(name))
    return Status::InvalidArgument("duplicate definition of \"" + std::string(name) +
                                   "\" in interface \"" + std::string(iface) + "\"");
  i.funcs.emplace(std::string(name), FuncEntry{std::move(type), std::move(fn), nullptr, ""});
  return Status::Ok();
}

Status Linker::DefineResource(std::string_view iface, std::string_view name, ResourceRef type,
                              HostResourceDtor dtor) {
  ARCELLA_RETURN_IF_ERROR(CheckIface(iface));
  ARCELLA_RETURN_IF_ERROR(CheckItemName(iface, name));
  if (!type) return Status::InvalidArgument("resource \"" + std::string(name) + "\" has no type");
  Interface& i = interfaces_[std::string(iface)];
  if (i.funcs.count(name) || i.resources.count(name))
    return Status::InvalidArgument("duplicate definition of \"" + std::string(name) +
                                   "\" in interface \"" + std::string(iface) + "\"");
  i.resources.emplace(std::string(name), ResourceEntry{std::move(type), std::move(dtor)});
  return Status::Ok();
}

Status Linker::DefineComponentInstance(std::string_view iface,
                                       std::shared_ptr<ComponentInstance> instance,
                                       std::string_view export_name) {
  ARCELLA_RETURN_IF_ERROR(CheckIface(iface));
  if (!instance) return Status::InvalidArgument("no component instance");
  std::string prefix = export_name.empty() ? "" : std::string(export_name) + "#";
  Interface add;
  for (const std::string& f : instance->ExportedFuncs()) {
    std::string_view rest = f;
    if (prefix.empty()) {
      if (rest.find('#') != std::string_view::npos) continue;
    } else {
      if (rest.substr(0, prefix.size()) != prefix) continue;
      rest.remove_prefix(prefix.size());
    }
    const FuncType* t = instance->FuncTypeOf(f);
    if (!t) continue;
    add.funcs.emplace(std::string(rest), FuncEntry{*t, {}, instance, f});
  }
  for (const auto& [name, type] : instance->ExportedResources()) {
    std::string_view rest = name;
    if (prefix.empty()) {
      if (rest.find('#') != std::string_view::npos) continue;
    } else {
      if (rest.substr(0, prefix.size()) != prefix) continue;
      rest.remove_prefix(prefix.size());
    }
    add.resources.emplace(std::string(rest), ResourceEntry{type, {}});
  }
  if (add.funcs.empty() && add.resources.empty())
    return Status::InvalidArgument("the component instance exports nothing under \"" +
                                   std::string(export_name) + "\"");
  Interface& i = interfaces_[std::string(iface)];
  for (const auto& [name, e] : add.funcs)
    if (i.funcs.count(name) || i.resources.count(name))
      return Status::InvalidArgument("duplicate definition of \"" + name + "\" in interface \"" +
                                     std::string(iface) + "\"");
  for (const auto& [name, e] : add.resources)
    if (i.funcs.count(name) || i.resources.count(name))
      return Status::InvalidArgument("duplicate definition of \"" + name + "\" in interface \"" +
                                     std::string(iface) + "\"");
  for (auto& [name, e] : add.funcs) i.funcs.emplace(name, std::move(e));
  for (auto& [name, e] : add.resources) i.resources.emplace(name, std::move(e));
  return Status::Ok();
}

const Linker::Interface* Linker::FindInterface(std::string_view iface, std::string* matched) const {
  auto exact = interfaces_.find(iface);
  if (exact != interfaces_.end()) {
    if (matched) *matched = exact->first;
    return &exact->second;
  }
  Version want = ParseVersion(iface);
  if (!want.has || !want.track) return nullptr;
  const Interface* best = nullptr;
  Version best_v;
  for (const auto& [name, i] : interfaces_) {
    Version v = ParseVersion(name);
    if (!v.has || v.base != want.base || !SameTrack(v, want)) continue;
    if (!best || Newer(v, best_v)) {
      best = &i;
      best_v = v;
      if (matched) *matched = name;
    }
  }
  return best;
}

FuncType BindResources(const FuncType& f, const std::map<const ResourceType*, ResourceRef>& bind) {
  return inst::SubstFunc(f, bind);
}

}  // namespace arcella::component
