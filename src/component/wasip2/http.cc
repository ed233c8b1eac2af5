// wasi:http@0.2.12 types and outgoing-handler, so components that import
// them (componentize-js does) instantiate. HTTP is denied:
// outgoing-handler.handle answers error-code HTTP-request-denied; the
// functions of types trap naming themselves.
#include "component/wasip2/host.h"

namespace arcella::component {

namespace {

using Vals = std::vector<Val>;
using Ret = TrapOr<Vals>;

constexpr uint32_t kHttpRequestDenied = 15;  // types.error-code.HTTP-request-denied

}  // namespace

void AddHttpDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out) {
  (void)st;
  WasiInterfaceDef types{"wasi:http/types@0.2.12", {}, {}};
  types.impls.emplace_back("http-error-code", [](Vals) -> Ret { return Vals{Val::None()}; });
  FillWithTraps(types.name, "is not available in this host (HTTP is denied)", &types.impls);
  out->push_back(std::move(types));

  WasiInterfaceDef handler{"wasi:http/outgoing-handler@0.2.12", {}, {}};
  handler.impls.emplace_back("handle", [](Vals) -> Ret {
    return Vals{Val::ResultErr({Val::Variant(kHttpRequestDenied)})};
  });
  out->push_back(std::move(handler));
}

}  // namespace arcella::component
