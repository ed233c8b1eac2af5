// Portable components: a LoadedComponent handed to an arcella-worker, which
// runs it without compiling (engine/portable_code.h does the same for one
// core module).
//
//   daemon:  auto p = ExportComponent(*loaded);     // send p.bytes, each module's meta + fd
//   worker:  auto c = AdoptComponent(engine, code_ref, std::move(received));
//
// The component's own bytes travel as a sealed memory file (the worker
// checks their sha256 against the CodeRef and decodes them again); each of
// its core modules, in CoreModuleBytes order, as PortableCode (AOT: the
// verified object; interpreter: the module's bytes). The adopted modules sit
// in the worker engine's registry, where ComponentInstance::Create finds
// them instead of compiling.
//
// Thread-safety: both functions are thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "engine/portable_code.h"
#include "platform/deployment_plan.h"
#include "platform/run_plan.h"

namespace arcella::platform {

struct PortableComponent {
  UniqueFd bytes;                             // sealed memory file: the component
  std::vector<engine::PortableCode> modules;  // its core modules, in CoreModuleBytes order
};

// Internal if a memory file cannot be made; as engine::ExportCode otherwise.
Result<PortableComponent> ExportComponent(const LoadedComponent& c);

// The component `code` names (code.component; its hash is the component's
// sha256), from `p` (consumed), its modules adopted by `engine`. Errors
// (InvalidArgument) name what is wrong: bytes that are not a sealed memory
// file or do not hash to code.module_hash, a component that does not
// decode, a count of modules other than the component's, a module whose
// code AdoptCode refuses (naming its position; each module's hash is set
// from its bytes in the component, whatever p says), a tier or metering
// other than the CodeRef's.
Result<std::shared_ptr<const LoadedComponent>> AdoptComponent(
    const std::shared_ptr<engine::Engine>& engine, const CodeRef& code, PortableComponent p);

}  // namespace arcella::platform
