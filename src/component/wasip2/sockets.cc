// wasi:sockets@0.2.12, present and refusing: no socket and no name lookup
// is ever granted (error-code access-denied), so the methods of sockets and
// lookup streams are unreachable (they trap if called anyway).
#include "component/wasip2/host.h"

namespace arcella::component {

namespace {

using Vals = std::vector<Val>;
using Ret = TrapOr<Vals>;

constexpr uint32_t kAccessDenied = 1;  // network.error-code.access-denied
constexpr uint32_t kNetworkRep = 1;    // the one (capability-less) network

Ret Denied(Vals) { return Vals{Val::ResultErr({Val::Enum(kAccessDenied)})}; }

}  // namespace

void AddSocketDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out) {
  (void)st;
  const char* kNone = "is unreachable: this host grants no sockets";
  out->push_back({"wasi:sockets/network@0.2.12", {}, {}});

  WasiInterfaceDef inst{"wasi:sockets/instance-network@0.2.12", {}, {}};
  inst.impls.emplace_back("instance-network", [](Vals) -> Ret {
    return Vals{Val::Own(Resources().network, kNetworkRep)};
  });
  out->push_back(std::move(inst));

  WasiInterfaceDef lookup{"wasi:sockets/ip-name-lookup@0.2.12", {}, {}};
  lookup.impls.emplace_back("resolve-addresses", Denied);
  FillWithTraps(lookup.name, kNone, &lookup.impls);
  out->push_back(std::move(lookup));

  for (const char* proto : {"tcp", "udp"}) {
    WasiInterfaceDef create{std::string("wasi:sockets/") + proto + "-create-socket@0.2.12", {}, {}};
    create.impls.emplace_back(std::string("create-") + proto + "-socket", Denied);
    out->push_back(std::move(create));
    WasiInterfaceDef sock{std::string("wasi:sockets/") + proto + "@0.2.12", {}, {}};
    FillWithTraps(sock.name, kNone, &sock.impls);
    out->push_back(std::move(sock));
  }
}

}  // namespace arcella::component
