// What `arcella run` and `arcella compile` share: the Engine they make from
// the environment (the per-user cache folder, $CC) and the module file read.
// Both must make the same Engine for the same metering, or `arcella compile`
// would fill a cache entry that `arcella run` never finds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"

namespace arcella::tools {

// The Engine of the command-line tools: cache folder UserCacheDir(), C
// compiler CompilerFromEnv(), `metering`. Errors name the setting (engine.h).
Result<std::shared_ptr<engine::Engine>> ToolEngine(engine::Metering metering);

// "fuel", "interrupt", "none" (the --metering values) and back.
std::optional<engine::Metering> ParseMetering(const std::string& name);
const char* MeteringName(engine::Metering metering);

// The module file: a regular file of at most 1 GiB (a FIFO or /dev/zero is
// an error, not a hang). Errors name the path.
Result<std::vector<uint8_t>> ReadModuleFile(const std::string& path);

}  // namespace arcella::tools
