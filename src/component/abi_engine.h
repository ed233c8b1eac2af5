// Adapters from engine instances to the canonical ABI's callbacks: a core
// instance's memory as a MemoryAccess, and its exported functions as realloc,
// post-return and lifted core functions.
//
//   InstanceMemory mem(inst.get());
//   auto realloc = ReallocFromExport(inst.get(), "cabi_realloc");
//   CanonOptions opts{.encoding = StringEncoding::kUtf8, .memory = &mem,
//                     .realloc = *realloc, .post_return = {}};
//
// Lifetime: every adapter keeps a raw pointer to the instance, which must
// outlive it. Threads: as the instance (one thread at a time).
// Errors: a missing or mistyped export is a Status naming it; traps of the
// guest come back as traps.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "component/canonical_abi.h"
#include "engine/engine.h"

namespace arcella::component {

// Memory `export_name` of `inst` (empty: memory 0), fetched on every Bytes()
// (a guest's realloc may grow it); by index when the export is memory 0, the
// usual case, else by name.
class InstanceMemory : public MemoryAccess {
 public:
  explicit InstanceMemory(engine::Instance* inst, std::string export_name = {});
  std::span<uint8_t> Bytes() override;

 private:
  engine::Instance* inst_;
  std::string name_;
  bool is_default_ = false;  // `name_` names memory 0
};

// Export `name`, of type (i32 i32 i32 i32) -> i32, as the realloc callback.
Result<ReallocFn> ReallocFromExport(engine::Instance* inst, std::string_view name);
// Export `name` as post-return: it must take the core results of the lifted
// function (`flat_results`) and return nothing.
Result<PostReturnFn> PostReturnFromExport(engine::Instance* inst, std::string_view name,
                                          const std::vector<engine::ValType>& flat_results);
// Export `name` as the core function of a `canon lift`.
Result<CoreFn> CoreFnFromExport(engine::Instance* inst, std::string_view name);

}  // namespace arcella::component
