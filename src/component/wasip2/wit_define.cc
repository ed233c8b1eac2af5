// DefineWitInterface (wit_host.h): a WASI interface's resources and host
// functions in a Linker, with the types of the embedded WIT. Apart from
// wit_host.cc so that code reading the WIT alone does not need the Linker.
#include "component/wasip2/wit_host.h"

namespace arcella::component {

namespace {

// True if `t` (a resource type of `iface`) is defined there, not `use`d
// from another interface or an alias of another resource.
bool DeclaredHere(const WitInterface& iface, const WitTypeDef& t) {
  if (!t.resource || t.name != t.resource->name) return false;
  for (const auto& dep : iface.deps)
    for (const auto& d : dep->types)
      if (d.resource == t.resource) return false;
  return true;
}

}  // namespace

Status DefineWitInterface(Linker& linker, std::string_view qualified, HostImpls impls,
                          std::map<std::string, HostResourceDtor> dtors) {
  ARCELLA_ASSIGN_OR_RETURN(const WitInterface* iface, WasiInterface(qualified));
  for (const auto& [name, dtor] : dtors) {
    const WitTypeDef* t = iface->FindType(name);
    if (t == nullptr || !DeclaredHere(*iface, *t))
      return Status::InvalidArgument("interface \"" + std::string(qualified) +
                                     "\" declares no resource \"" + name + "\"");
  }
  for (const auto& [name, impl] : impls)
    if (iface->FindFunction(name) == nullptr)
      return Status::InvalidArgument("interface \"" + std::string(qualified) +
                                     "\" declares no function \"" + name + "\"");
  for (const auto& t : iface->types) {
    if (!DeclaredHere(*iface, t)) continue;
    HostResourceDtor dtor;
    if (auto it = dtors.find(t.name); it != dtors.end()) dtor = std::move(it->second);
    ARCELLA_RETURN_IF_ERROR(linker.DefineResource(qualified, t.name, t.resource, std::move(dtor)));
  }
  for (auto& [name, impl] : impls) {
    const WitFunction* f = iface->FindFunction(name);
    ARCELLA_RETURN_IF_ERROR(linker.DefineFunc(qualified, name, f->type, std::move(impl)));
  }
  return Status::Ok();
}

}  // namespace arcella::component
