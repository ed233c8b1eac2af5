// WasiP2: the WASI 0.2 host over a preview-1 context (wasi_p2.h).
#include "component/wasip2/wasi_p2.h"

#include "component/wasip2/filesystem.h"
#include "component/wasip2/host.h"
#include "component/wasip2/state.h"

namespace arcella::component {

Result<std::shared_ptr<WasiP2>> WasiP2::Create(wasi::WasiConfig config) {
  ARCELLA_ASSIGN_OR_RETURN(std::shared_ptr<wasi::WasiCtx> p1,
                           wasi::WasiCtx::Create(std::move(config)));
  // The embedded WIT must parse (a build defect otherwise, reported here).
  ARCELLA_ASSIGN_OR_RETURN(const std::vector<WitPackage>* pkgs, WasiWitPackages());
  (void)pkgs;
  return std::shared_ptr<WasiP2>(new WasiP2(std::make_unique<WasiP2State>(std::move(p1))));
}

WasiP2::WasiP2(std::unique_ptr<WasiP2State> state) : state_(std::move(state)) {}
WasiP2::~WasiP2() = default;

Status WasiP2::AddToLinker(Linker& linker) {
  // Shares ownership of this WasiP2, points at its state.
  std::shared_ptr<WasiP2State> st(shared_from_this(), state_.get());
  for (WasiInterfaceDef& d : AllWasiDefs(st))
    ARCELLA_RETURN_IF_ERROR(
        DefineWitInterface(linker, d.name, std::move(d.impls), std::move(d.dtors)));
  return DefineWasiFilesystem(linker, st);
}

std::optional<int32_t> WasiP2::exit_code() const { return state_->exit_code; }

}  // namespace arcella::component
