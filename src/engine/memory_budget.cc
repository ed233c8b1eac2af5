// Engine's linear-memory budget (engine.h): a record in the AOT runtime
// (rt/mem_budget.c) that both tiers charge their memories to.
#include "engine/engine.h"
#include "engine/rt/arcella_rt.h"

namespace arcella::engine {

std::shared_ptr<arcella_mem_budget> Engine::NewMemoryBudget() {
  return std::make_shared<arcella_mem_budget>();
}

void Engine::SetMemoryBudget(uint64_t bytes) {
  arcella_mem_budget_set_limit(memory_budget_.get(), bytes);
}

uint64_t Engine::memory_budget() const { return arcella_mem_budget_limit(memory_budget_.get()); }

uint64_t Engine::memory_in_use() const { return arcella_mem_budget_used(memory_budget_.get()); }

}  // namespace arcella::engine
