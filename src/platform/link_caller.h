// LinkCaller: how a replica's linked import reaches the deployment that
// provides it (docs/COMPONENTS.md "Links"). The platform implements it over its host; a
// host gives it to the guests it runs (ReplicaHost::SetLinkCaller).
//
// Thread-safety: CallLink is called concurrently from replica threads.
#pragma once

#include <string>
#include <vector>

#include "component/abi_result.h"
#include "component/value.h"

namespace arcella::platform {

class LinkCaller {
 public:
  virtual ~LinkCaller() = default;
  // Calls `export_name` ("IFACE#f", or a top-level "f") on an active replica
  // of deployment `provider` with `args` (already of the export's parameter
  // types); its results, or a trap naming the provider and why (a guest
  // trap there, or the provider unavailable, stopped or gone).
  virtual component::TrapOr<std::vector<component::Val>> CallLink(
      const std::string& provider, const std::string& export_name,
      std::vector<component::Val> args) = 0;
};

}  // namespace arcella::platform
