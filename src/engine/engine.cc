// Engine: configuration, AOT cache preparation, the code registry and the
// deadline watchdog (engine.h).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>

#include "common/sha256.h"
#include "engine/aot/cc_process.h"
#include "engine/aot/compiler.h"
#include "engine/backend.h"
#include "engine/deadline.h"
#include "engine/engine.h"

namespace arcella::engine {

using ModuleResult = Result<std::shared_ptr<const Module>>;

// Modules by "<sha256 of the bytes>/<tier>". Weak: a module lives as long as
// its users; the registry only finds it again while it does.
struct Engine::Registry {
  struct Pending {  // one compile in flight; waiters read `result`
    std::mutex mu;
    std::condition_variable cv;
    std::optional<ModuleResult> result;
  };
  mutable std::mutex mu;
  std::map<std::string, std::weak_ptr<const Module>> modules;
  std::map<std::string, std::shared_ptr<Pending>> pending;

  std::shared_ptr<const Module> Find(const std::string& key) const {
    auto it = modules.find(key);
    return it == modules.end() ? nullptr : it->second.lock();
  }
  void DropExpired() {
    for (auto it = modules.begin(); it != modules.end();)
      it = it->second.expired() ? modules.erase(it) : std::next(it);
  }
};

static bool ValidTier(Tier t) { return t == Tier::kAuto || t == Tier::kAot || t == Tier::kInterp; }

static bool ValidMetering(Metering m) {
  return m == Metering::kNone || m == Metering::kInterrupt || m == Metering::kFuel;
}

Engine::Engine(EngineConfig config)
    : config_(std::move(config)), registry_(new Registry), watchdog_(new DeadlineWatchdog) {}

Engine::~Engine() = default;

Result<std::shared_ptr<Engine>> Engine::Create(EngineConfig config) {
  if (config.cc.empty())
    return Status::InvalidArgument("engine: the C compiler command (EngineConfig::cc) is empty");
  if (!ValidTier(config.default_tier))
    return Status::InvalidArgument("engine: EngineConfig::default_tier is not a tier");
  if (!ValidMetering(config.metering))
    return Status::InvalidArgument("engine: EngineConfig::metering is not a metering mode");
  if (config.cache_dir.empty()) {
    if (config.default_tier == Tier::kAot)
      return Status::InvalidArgument(
          "engine: the default tier is aot but there is no cache folder (EngineConfig::cache_dir "
          "is empty)");
  } else {
    if (config.cache_dir[0] != '/')
      return Status::InvalidArgument("engine: the cache folder \"" + config.cache_dir +
                                     "\" is not an absolute path");
    // Private folder (created 0700), its secret key, stale compile folders.
    CompileOptions o;
    o.cache_dir = config.cache_dir;
    o.cc = config.cc;
    ARCELLA_RETURN_IF_ERROR(aot::PrepareCache(o));
  }
  return std::shared_ptr<Engine>(new Engine(std::move(config)));
}

bool Engine::AotAvailable() const {
  return !config_.cache_dir.empty() && !aot::FindExecutable(config_.cc).empty();
}

DeadlineWatchdog& Engine::watchdog() const { return *watchdog_; }

size_t Engine::registry_size() const {
  std::lock_guard<std::mutex> lock(registry_->mu);
  std::vector<const Module*> live;
  for (const auto& [key, weak] : registry_->modules)
    if (auto m = weak.lock()) live.push_back(m.get());
  std::sort(live.begin(), live.end());
  return static_cast<size_t>(std::unique(live.begin(), live.end()) - live.begin());
}

ModuleResult Engine::FindOrRegister(const std::string& hash, Tier tier,
                                    const std::function<Result<std::shared_ptr<Module>>()>& make) {
  if (tier != Tier::kAot && tier != Tier::kInterp)
    return Status::InvalidArgument("engine: a registered module's tier must be aot or interp");
  const std::string key = hash + "/" + TierName(tier);
  Registry& reg = *registry_;
  {
    std::lock_guard<std::mutex> lock(reg.mu);
    if (auto m = reg.Find(key)) return m;
  }
  ARCELLA_ASSIGN_OR_RETURN(std::shared_ptr<Module> made, make());
  if (!made || made->tier() != tier)
    return Status::Internal("engine: the module made for " + key + " is not of that tier");
  made->engine_ = shared_from_this();
  std::lock_guard<std::mutex> lock(reg.mu);
  reg.DropExpired();
  if (auto m = reg.Find(key)) return m;  // another thread was first
  std::shared_ptr<const Module> out = std::move(made);
  reg.modules[key] = out;
  return out;
}

ModuleResult Engine::Compile(std::span<const uint8_t> wasm, const CompileOptions& options) {
  if (!options.cache_dir.empty() || !options.cc.empty() || options.jobs != 0 ||
      options.compile_memory_bytes != 0)
    return Status::InvalidArgument(
        "Engine::Compile: cache_dir, cc, jobs and compile_memory_bytes are set in EngineConfig, "
        "not per compile");
  if (!ValidTier(options.tier)) return Status::InvalidArgument("Engine::Compile: not a tier");
  const Tier requested = options.tier == Tier::kAuto ? config_.default_tier : options.tier;
  const std::string hash = Sha256Hex(wasm);
  const std::string key = hash + "/" + TierName(requested);
  auto cancelled = [&] { return options.cancel != nullptr && options.cancel->load(); };
  Registry& reg = *registry_;
  auto full_options = [&] {
    CompileOptions full = options;
    full.tier = requested;
    full.metering = config_.metering;
    full.cache_dir = config_.cache_dir;
    full.cc = config_.cc;
    full.jobs = config_.jobs;
    full.compile_memory_bytes = config_.compile_memory_bytes;
    return full;
  };
  // Stores a compiled module under `key` and its resolved tier; returns the
  // registry's module (an existing one of that tier wins).
  auto publish = [&](std::shared_ptr<Module> m) -> std::shared_ptr<const Module> {
    m->engine_ = shared_from_this();
    std::shared_ptr<const Module> out = std::move(m);
    std::lock_guard<std::mutex> lock(reg.mu);
    reg.DropExpired();
    // kAuto resolved to a tier: an explicit request for it finds this
    // module, and a module of that tier that already exists wins.
    const std::string resolved = hash + "/" + TierName(out->tier());
    if (auto existing = reg.Find(resolved); existing && resolved != key) out = existing;
    reg.modules[key] = out;
    reg.modules[resolved] = out;
    return out;
  };
  if (options.cached_only && requested != Tier::kInterp) {
    // A lookup: never waits for, or starts, a compile.
    {
      std::lock_guard<std::mutex> lock(reg.mu);
      if (auto m = reg.Find(hash + "/" + TierName(Tier::kAot))) return m;
    }
    auto found = CompileModule(wasm, full_options(), AotAvailable(), hash);
    if (!found.ok()) return found.status();
    return publish(std::move(found).value());
  }
  for (;;) {
    std::shared_ptr<Registry::Pending> pending;
    bool leader = false;
    {
      std::lock_guard<std::mutex> lock(reg.mu);
      if (auto m = reg.Find(key)) return m;
      if (auto it = reg.pending.find(key); it != reg.pending.end()) {
        pending = it->second;
      } else {
        pending = std::make_shared<Registry::Pending>();
        reg.pending.emplace(key, pending);
        leader = true;
      }
    }
    if (!leader) {
      std::unique_lock<std::mutex> lock(pending->mu);
      // Waiters honour their own cancel flag (checked every 50 ms).
      while (!pending->result) {
        if (cancelled()) return Status::Cancelled("compile cancelled");
        pending->cv.wait_for(lock, std::chrono::milliseconds(50));
      }
      ModuleResult r = *pending->result;
      if (!r.ok() && r.status().code() == StatusCode::kCancelled && !cancelled())
        continue;  // the compile we waited for was cancelled, ours was not: compile again
      return r;
    }

    auto compiled = CompileModule(wasm, full_options(), AotAvailable(), hash);
    ModuleResult out = Status::Internal("unset");
    if (compiled.ok()) {
      out = publish(std::move(compiled).value());
    } else {
      out = compiled.status();
    }
    {
      std::lock_guard<std::mutex> lock(reg.mu);
      reg.pending.erase(key);
    }
    {
      std::lock_guard<std::mutex> lock(pending->mu);
      pending->result = out;
    }
    pending->cv.notify_all();
    return out;
  }
}

}  // namespace arcella::engine
