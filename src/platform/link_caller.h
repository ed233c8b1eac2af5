// LinkCaller: how a replica's linked import reaches the deployment that
// provides it (docs/COMPONENTS.md "Links"). The platform implements it over its host; a
// host gives it to the guests it runs (ReplicaHost::SetLinkCaller).
//
// Thread-safety: CallLink is called concurrently from replica threads.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "component/abi_result.h"
#include "component/types.h"
#include "component/value.h"

namespace arcella::platform {

// One call through a link, as the importing replica makes it.
struct LinkCall {
  std::string importer;     // the calling deployment
  std::string import_name;  // its linked import: an interface, or a function
  std::string func;         // the interface's function ("" for a function import)
  std::string provider;     // the deployment the import is linked to
  std::string export_name;  // what to call there: "IFACE#f", or a top-level "f"
  // The import's function type (arguments and result); owned by the
  // importer's component, alive for the call. Never null.
  const component::FuncType* type = nullptr;
  // True once the importing call is interrupted (stop, deadline); may be empty.
  std::function<bool()> interrupted;
  // The importing instance's scope of resource handles (NewLinkScope; 0:
  // none, and a call passing handles traps).
  uint64_t scope = 0;
  // True if the function passes or returns resource handles of the linked
  // interface: they are the importer's tokens here (see LinkHandles).
  bool handles = false;
};

class LinkCaller {
 public:
  virtual ~LinkCaller() = default;
  // Calls call.export_name on an active replica of call.provider with
  // `args` (of the function's parameter types); its results, or a trap
  // naming the provider and why (a guest trap there, or the provider
  // unavailable, stopped or gone).
  virtual component::TrapOr<std::vector<component::Val>> CallLink(
      const LinkCall& call, std::vector<component::Val> args) = 0;

  // Resource handles across links (docs/COMPONENTS.md "Resources across
  // links"). An importing instance whose links pass resources gets a scope
  // when it is made and ends it when it goes; the handles it still holds
  // are then dropped at their providers. DropLinkHandle: the importer
  // dropped handle `token` (its resource's destructor runs at the
  // provider). Neither fails: a handle already gone is ignored.
  virtual uint64_t NewLinkScope() { return 0; }
  virtual void DropLinkHandle(uint64_t scope, uint32_t token) {
    (void)scope;
    (void)token;
  }
  virtual void EndLinkScope(uint64_t scope) { (void)scope; }
};

}  // namespace arcella::platform
