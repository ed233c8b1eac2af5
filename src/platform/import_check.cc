// Install-time import check against the platform's WASI linker (import_check.h).
#include "platform/import_check.h"

#include "engine/engine.h"
#include "engine/preflight.h"
#include "wasi/wasi.h"

namespace arcella::platform {

Status CheckPlatformImports(std::span<const uint8_t> wasm) {
  auto pf = engine::PreflightModule(wasm);
  if (!pf.ok()) return Status::Ok();  // malformed: Module::Compile explains
  for (const engine::FeatureUse& u : pf->features)
    if (!engine::InterpreterSupports(u.feature))
      return Status::Unsupported(engine::DescribeFeatureUse(u, "by this engine"));
  // The same WASI functions a replica links; the context is only used for
  // its function types, so an empty configuration does.
  ARCELLA_ASSIGN_OR_RETURN(auto ctx, wasi::WasiCtx::Create(wasi::WasiConfig{}));
  engine::Linker linker;
  ARCELLA_RETURN_IF_ERROR(ctx->AddToLinker(linker));
  return engine::CheckImports(*pf, linker);
}

}  // namespace arcella::platform
