// The compiled core modules of live components (code_cache.h).
#include "component/code_cache.h"

#include <map>
#include <mutex>
#include <tuple>

namespace arcella::component {
namespace {

struct Key {
  const engine::Engine* engine;
  const uint8_t* data;
  size_t size;
  engine::Tier tier;
  bool operator<(const Key& o) const {
    return std::tie(engine, data, size, tier) < std::tie(o.engine, o.data, o.size, o.tier);
  }
};
struct Entry {
  std::weak_ptr<const std::vector<uint8_t>> owner;
  std::weak_ptr<const engine::Module> module;
};

// Entries of dead components are dropped once the map passes this size.
constexpr size_t kPruneAt = 4096;

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}
std::map<Key, Entry>& Cache() {
  static auto* cache = new std::map<Key, Entry>;  // never destroyed: used at exit
  return *cache;
}

bool SameOwner(const std::weak_ptr<const std::vector<uint8_t>>& a,
               const std::shared_ptr<const std::vector<uint8_t>>& b) {
  return !a.owner_before(b) && !b.owner_before(a) && !a.expired();
}

}  // namespace

std::shared_ptr<const engine::Module> FindCompiledModule(
    const std::shared_ptr<const std::vector<uint8_t>>& owner, std::span<const uint8_t> bytes,
    const engine::Engine& engine, engine::Tier tier) {
  if (!owner) return nullptr;
  std::lock_guard lock(Mu());
  auto it = Cache().find(Key{&engine, bytes.data(), bytes.size(), tier});
  if (it == Cache().end() || !SameOwner(it->second.owner, owner)) return nullptr;
  auto m = it->second.module.lock();
  if (!m || m->engine().get() != &engine) return nullptr;
  return m;
}

void RememberCompiledModule(const std::shared_ptr<const std::vector<uint8_t>>& owner,
                            std::span<const uint8_t> bytes, engine::Tier tier,
                            const std::shared_ptr<const engine::Module>& module) {
  if (!owner || !module) return;
  std::lock_guard lock(Mu());
  auto& cache = Cache();
  if (cache.size() >= kPruneAt) {
    for (auto it = cache.begin(); it != cache.end();)
      it = (it->second.owner.expired() || it->second.module.expired()) ? cache.erase(it) : ++it;
  }
  cache[Key{module->engine().get(), bytes.data(), bytes.size(), tier}] = Entry{owner, module};
}

}  // namespace arcella::component
