// Install-time preflight: refuses, before anything is compiled, a core
// module whose imports the platform cannot link.
//
// A replica links exactly WASI preview 1 (replica.cc): every
// wasi_snapshot_preview1 function is always defined (grants decide what the
// calls may reach, not whether they link), and nothing else is. So a module
// installs only if each import is a WASI function with the right type.
// Threads: any; no state.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"

namespace arcella::platform {

// Reads only the module's headers (engine/preflight.h) and checks every
// import against the WASI functions the platform provides. The error lists
// every unresolved or mistyped import, e.g.
//   "2 imports cannot be resolved:\n  env.f (func (param i32)): not provided\n  ..."
// and a post-2.0 proposal no tier runs is named ("uses the threads proposal
// ..."). Bytes the preflight cannot read are left to Module::Compile (OK).
Status CheckPlatformImports(std::span<const uint8_t> wasm);

}  // namespace arcella::platform
