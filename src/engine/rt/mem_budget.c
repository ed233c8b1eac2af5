/* A linear-memory budget shared by many memories (arcella_rt.h).
 *
 * `used` only moves through compare-exchange (reserve, when a limit is set)
 * or one atomic add (reserve without a limit, release), so concurrent
 * reservations never take it past `limit`. */
#include "arcella_rt.h"

int arcella_mem_budget_reserve(arcella_mem_budget_t* b, uint64_t bytes, uint64_t* left) {
  uint64_t limit = __atomic_load_n(&b->limit, __ATOMIC_RELAXED);
  if (limit == 0) {
    __atomic_fetch_add(&b->used, bytes, __ATOMIC_RELAXED);
    return 1;
  }
  uint64_t used = __atomic_load_n(&b->used, __ATOMIC_RELAXED);
  for (;;) {
    if (bytes > limit || used > limit - bytes) {
      if (left != NULL) *left = used < limit ? limit - used : 0;
      return 0;
    }
    if (__atomic_compare_exchange_n(&b->used, &used, used + bytes, 1, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
      return 1;
    limit = __atomic_load_n(&b->limit, __ATOMIC_RELAXED);
    if (limit == 0) {
      __atomic_fetch_add(&b->used, bytes, __ATOMIC_RELAXED);
      return 1;
    }
  }
}

void arcella_mem_budget_reserve_always(arcella_mem_budget_t* b, uint64_t bytes) {
  __atomic_fetch_add(&b->used, bytes, __ATOMIC_RELAXED);
}

void arcella_mem_budget_release(arcella_mem_budget_t* b, uint64_t bytes) {
  if (bytes != 0) __atomic_fetch_sub(&b->used, bytes, __ATOMIC_RELAXED);
}

void arcella_mem_budget_set_limit(arcella_mem_budget_t* b, uint64_t limit) {
  __atomic_store_n(&b->limit, limit, __ATOMIC_RELAXED);
}

uint64_t arcella_mem_budget_limit(const arcella_mem_budget_t* b) {
  return __atomic_load_n(&b->limit, __ATOMIC_RELAXED);
}

uint64_t arcella_mem_budget_used(const arcella_mem_budget_t* b) {
  return __atomic_load_n(&b->used, __ATOMIC_RELAXED);
}
