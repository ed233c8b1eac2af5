// The compiled core modules of live components, so that instantiating a
// component again skips hashing and looking up each core module in the
// Engine's registry (a sha256 of every module's bytes per instantiation).
// Internal to src/component (instance.cc).
//
// Safety: an entry is found only for the very same buffer of component
// bytes (the shared_ptr that owns it is alive and identical: a buffer is
// immutable while it lives), the same Engine and the same requested tier;
// it holds the Module weakly, so it keeps nothing alive.
//
// Threads: thread-safe (one mutex; lookups are a map find).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/engine.h"

namespace arcella::component {

// The module compiled from `bytes` (a span into `*owner`) by `engine` at
// `tier`, or null.
std::shared_ptr<const engine::Module> FindCompiledModule(
    const std::shared_ptr<const std::vector<uint8_t>>& owner, std::span<const uint8_t> bytes,
    const engine::Engine& engine, engine::Tier tier);
void RememberCompiledModule(const std::shared_ptr<const std::vector<uint8_t>>& owner,
                            std::span<const uint8_t> bytes, engine::Tier tier,
                            const std::shared_ptr<const engine::Module>& module);

}  // namespace arcella::component
