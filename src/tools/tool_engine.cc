#include "tools/tool_engine.h"

#include "platform/file_read.h"
#include "tools/user_cache_dir.h"

namespace arcella::tools {

Result<std::shared_ptr<engine::Engine>> ToolEngine(engine::Metering metering) {
  // A private per-user cache, never a shared directory (see UserCacheDir).
  engine::EngineConfig config;
  config.cache_dir = UserCacheDir();
  config.cc = CompilerFromEnv();
  config.metering = metering;
  return engine::Engine::Create(std::move(config));
}

std::optional<engine::Metering> ParseMetering(const std::string& name) {
  if (name == "fuel") return engine::Metering::kFuel;
  if (name == "interrupt") return engine::Metering::kInterrupt;
  if (name == "none") return engine::Metering::kNone;
  return std::nullopt;
}

const char* MeteringName(engine::Metering metering) {
  switch (metering) {
    case engine::Metering::kFuel: return "fuel";
    case engine::Metering::kInterrupt: return "interrupt";
    case engine::Metering::kNone: return "none";
  }
  return "fuel";
}

Result<std::vector<uint8_t>> ReadModuleFile(const std::string& path) {
  return platform::ReadRegularFile(path, {1ull << 30, "arcella's 1 GiB module cap"});
}

}  // namespace arcella::tools
