/* Engine-side interface of the Arcella wasm runtime (src/engine/rt/).
 *
 * The generated code sees wasm-rt.h; the engine drives calls through these.
 * All state is per thread except the memory registry and the func-type
 * registry. Nothing here makes a syscall on the call path.
 */
#ifndef ARCELLA_RT_ARCELLA_RT_H_
#define ARCELLA_RT_ARCELLA_RT_H_

#include <stddef.h>
#include <stdint.h>

#include "include/wasm-rt.h" /* ours, not /usr/include/wasm-rt.h */

#ifdef __cplusplus
extern "C" {
#endif

/* Runs fn(inst, slots) as guest code on this thread. Returns 0, or the
 * wasm_rt_trap_t that unwound it. Nests: host functions may call it again. */
int arcella_rt_invoke(arcella_entry_fn fn, void* inst, uint64_t* slots);

/* Code addresses of the last trap on this thread (innermost first): the
 * faulting PC for signals, return addresses otherwise. */
size_t arcella_rt_last_trap_pcs(const uintptr_t** pcs);

/* Limits applied to memories and tables allocated by the next instantiation
 * on this thread (0 = no extra cap). */
void arcella_rt_set_alloc_limits(uint64_t max_memory_bytes, uint32_t max_table_elements);

/* A linear-memory budget (mem_budget.c): the bytes of linear memory that
 * the memories charged to it may hold together. `limit` 0 = unlimited.
 * Accessed only through the functions below (atomically, from any thread).
 * The engine keeps one per Engine (Engine::SetMemoryBudget). */
typedef struct arcella_mem_budget {
  uint64_t limit;
  uint64_t used;
} arcella_mem_budget_t;
/* Adds `bytes` to `used` unless that would pass `limit`: returns 1, or 0
 * (then *left, if not NULL, is what was left). Never passes the limit under
 * races (compare-exchange); without a limit it is one atomic add. */
int arcella_mem_budget_reserve(arcella_mem_budget_t* b, uint64_t bytes, uint64_t* left);
/* Adds `bytes` to `used` even past `limit` (growth that already happened). */
void arcella_mem_budget_reserve_always(arcella_mem_budget_t* b, uint64_t bytes);
void arcella_mem_budget_release(arcella_mem_budget_t* b, uint64_t bytes);
void arcella_mem_budget_set_limit(arcella_mem_budget_t* b, uint64_t limit);
uint64_t arcella_mem_budget_limit(const arcella_mem_budget_t* b);
uint64_t arcella_mem_budget_used(const arcella_mem_budget_t* b);

/* The budget that memories allocated by the next instantiation on this
 * thread are charged to (NULL: none), like arcella_rt_set_alloc_limits.
 * A memory stays charged to it until freed: its initial size at
 * allocation, each successful memory.grow (a grow that does not fit fails,
 * returning -1), all of it given back by wasm_rt_free_memory. */
void arcella_rt_set_alloc_budget(arcella_mem_budget_t* budget);

/* Why the last instantiation on this thread unwound with
 * WASM_RT_TRAP_RESOURCE, counted since the last arcella_rt_set_alloc_limits:
 * `kind` is ARCELLA_ALLOC_MEMORY or ARCELLA_ALLOC_TABLE (0: nothing failed),
 * `index` the position of the failed memory (table) among those this
 * instantiation allocated, i.e. among the module's defined ones (imports are
 * not allocated); `initial` its initial size and `cap` the cap in effect (in
 * pages for memories, elements for tables). `initial <= cap` means it fit
 * the cap but could not be mapped or allocated. ARCELLA_ALLOC_BUDGET: the
 * memory's initial size did not fit the budget (arcella_rt_set_alloc_budget);
 * `budget` is its limit and `left` what was left, in bytes. */
enum { ARCELLA_ALLOC_MEMORY = 1, ARCELLA_ALLOC_TABLE = 2, ARCELLA_ALLOC_BUDGET = 3 };
typedef struct {
  int kind;
  uint32_t index;
  uint64_t initial;
  uint64_t cap;
  uint64_t budget;
  uint64_t left;
} arcella_alloc_failure_t;
arcella_alloc_failure_t arcella_rt_last_alloc_failure(void);

/* Installs the fault handler (once per process) and this thread's signal
 * stack and stack bounds (once per thread). Called by arcella_rt_invoke. */
void arcella_rt_thread_setup(void);

/* For the fault handler: is `addr` inside a live memory reservation? */
int arcella_rt_addr_in_memory(uintptr_t addr);

/* Number of live memory reservations (for tests). */
size_t arcella_rt_live_memories(void);

/* Number of freed reservations kept for reuse (at most 64; for tests). */
size_t arcella_rt_pooled_memories(void);
/* How many freed reservations the pool keeps at most. */
size_t arcella_rt_pool_capacity(void);

/* Image internals (image.c / memory.c): builds `img` on first use; returns 1
 * if it is ready for a memory of `mem_bytes`. */
int arcella_rt_image_ready(arcella_mem_image_t* img, uint64_t mem_bytes,
                           const arcella_data_seg_t* segs, uint32_t nsegs);
/* Turns pooled reservations still mapping image `id` back into plain memory. */
void arcella_rt_pool_forget_image(uint64_t id);

/* Frees the boxes of funcrefs whose module_instance lies in [base, base+size)
 * (called when an instance is freed). */
void arcella_funcref_release(const void* base, size_t size);

/* Thread-local trap state shared by the runtime's C files. */
extern WASM_RT_TLS jmp_buf* arcella_rt_unwind_target;
extern WASM_RT_TLS int arcella_rt_in_wasm;
extern WASM_RT_TLS int arcella_rt_trap_code;
WASM_RT_NO_RETURN void arcella_rt_unwind(int code, uintptr_t pc);

#ifdef __cplusplus
}
#endif

#endif
