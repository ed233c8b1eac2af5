/* Linear memories (guard-page reservations) and tables for the runtime.
 *
 * Every memory reserves 8 GiB + 64 KiB of PROT_NONE address space, so any
 * wasm32 address plus offset lands inside the reservation; pages are made
 * accessible on grow. Reservations are entered in a fixed, lock-free registry
 * that the fault handler reads to decide whether a fault is a wasm OOB.
 *
 * Freed reservations are pooled (up to POOL_MAX): their pages are dropped
 * with MADV_DONTNEED (they read back as zeros) and they stay registered, so
 * the next memory costs no mmap, no registry scan and, if it has the same
 * initial size, no mprotect either. Beyond POOL_MAX they are unmapped, so
 * address space stays bounded.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "arcella_rt.h"

#define PAGE_SIZE_WASM 65536ull
#define RESERVE_BYTES ((8ull << 30) + PAGE_SIZE_WASM)
#define MAX_RESERVATIONS 16384
#define POOL_MAX 64

typedef struct {
  _Atomic uintptr_t base; /* 0 = free slot */
  _Atomic uintptr_t end;  /* set after base; 0 while being (un)registered */
} reservation_t;

static reservation_t registry[MAX_RESERVATIONS];
static _Atomic uint32_t registry_high; /* slots [0, high) may be in use */
static _Atomic uint32_t registry_hint; /* no free slot below this (best effort) */
static _Atomic size_t live_memories;

/* A pooled reservation: registered in `slot`, [base, base+rw) readable and
 * writable (all zero pages), the rest PROT_NONE. */
typedef struct {
  uint8_t* base;
  uint64_t rw;
  uint32_t slot;
} pooled_t;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pooled_t pool[POOL_MAX];
static size_t pool_count;

static WASM_RT_TLS uint64_t limit_memory_bytes;
static WASM_RT_TLS uint32_t limit_table_elements;

void arcella_rt_set_alloc_limits(uint64_t max_memory_bytes, uint32_t max_table_elements) {
  limit_memory_bytes = max_memory_bytes;
  limit_table_elements = max_table_elements;
}

static int registry_add(uintptr_t base, uint32_t* slot_out) {
  uint32_t start = atomic_load_explicit(&registry_hint, memory_order_relaxed);
  for (uint32_t n = 0; n < MAX_RESERVATIONS; ++n) {
    uint32_t i = (start + n) % MAX_RESERVATIONS;
    /* Plain load first: only try the (locked) CAS on a slot that looks free. */
    if (atomic_load_explicit(&registry[i].base, memory_order_relaxed) != 0) continue;
    uintptr_t expected = 0;
    if (atomic_compare_exchange_strong(&registry[i].base, &expected, base)) {
      atomic_store(&registry[i].end, base + RESERVE_BYTES);
      uint32_t high = atomic_load(&registry_high);
      while (high < i + 1 && !atomic_compare_exchange_weak(&registry_high, &high, i + 1)) {
      }
      atomic_store_explicit(&registry_hint, (i + 1) % MAX_RESERVATIONS, memory_order_relaxed);
      *slot_out = i;
      return 1;
    }
  }
  return 0;
}

static void registry_remove(uint32_t slot) {
  atomic_store(&registry[slot].end, 0);
  atomic_store(&registry[slot].base, 0);
  /* Let the next scan start at the lowest known free slot. */
  uint32_t hint = atomic_load_explicit(&registry_hint, memory_order_relaxed);
  while (slot < hint && !atomic_compare_exchange_weak_explicit(
                            &registry_hint, &hint, slot, memory_order_relaxed, memory_order_relaxed)) {
  }
}

int arcella_rt_addr_in_memory(uintptr_t addr) {
  uint32_t high = atomic_load(&registry_high);
  for (uint32_t i = 0; i < high; ++i) {
    uintptr_t base = atomic_load(&registry[i].base);
    uintptr_t end = atomic_load(&registry[i].end);
    if (base != 0 && addr >= base && addr < end) return 1;
  }
  return 0;
}

size_t arcella_rt_live_memories(void) { return atomic_load(&live_memories); }

size_t arcella_rt_pooled_memories(void) {
  pthread_mutex_lock(&pool_lock);
  size_t n = pool_count;
  pthread_mutex_unlock(&pool_lock);
  return n;
}

static int pool_take(pooled_t* out) {
  int got = 0;
  pthread_mutex_lock(&pool_lock);
  if (pool_count > 0) {
    *out = pool[--pool_count];
    got = 1;
  }
  pthread_mutex_unlock(&pool_lock);
  return got;
}

/* Returns 1 if `r` was pooled, 0 if the pool is full. */
static int pool_put(const pooled_t* r) {
  int put = 0;
  pthread_mutex_lock(&pool_lock);
  if (pool_count < POOL_MAX) {
    pool[pool_count++] = *r;
    put = 1;
  }
  pthread_mutex_unlock(&pool_lock);
  return put;
}

static void release(uint8_t* base, uint32_t slot) {
  registry_remove(slot);
  munmap(base, RESERVE_BYTES);
}

/* A registered reservation with exactly [0, bytes) accessible, or 0. */
static int acquire(uint64_t bytes, uint8_t** base_out, uint32_t* slot_out) {
  pooled_t r;
  if (pool_take(&r)) {
    int ok = 1;
    if (r.rw > bytes)
      ok = mprotect(r.base + bytes, r.rw - bytes, PROT_NONE) == 0;
    else if (r.rw < bytes)
      ok = mprotect(r.base + r.rw, bytes - r.rw, PROT_READ | PROT_WRITE) == 0;
    if (ok) {
      *base_out = r.base;
      *slot_out = r.slot;
      return 1;
    }
    release(r.base, r.slot);
  }
  void* p = mmap(NULL, RESERVE_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return 0;
  if (bytes && mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) {
    munmap(p, RESERVE_BYTES);
    return 0;
  }
  if (!registry_add((uintptr_t)p, slot_out)) {
    munmap(p, RESERVE_BYTES);
    return 0;
  }
  *base_out = p;
  return 1;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t* mem, uint32_t initial_pages, uint32_t max_pages) {
  memset(mem, 0, sizeof *mem);
  uint64_t cap = limit_memory_bytes ? limit_memory_bytes / PAGE_SIZE_WASM : 65536;
  if (cap > 65536) cap = 65536;
  if (max_pages > 65536) max_pages = 65536;
  if (initial_pages > cap || initial_pages > max_pages) arcella_rt_unwind(WASM_RT_TRAP_RESOURCE, 0);
  uint64_t bytes = (uint64_t)initial_pages * PAGE_SIZE_WASM;
  uint8_t* p;
  uint32_t slot;
  if (!acquire(bytes, &p, &slot)) arcella_rt_unwind(WASM_RT_TRAP_RESOURCE, 0);
  atomic_fetch_add(&live_memories, 1);
  mem->data = p;
  mem->pages = initial_pages;
  mem->max_pages = max_pages;
  mem->size = bytes;
  mem->cap_pages = (uint32_t)(cap < 65536 ? cap : 65536);
  mem->slot = slot;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* mem, uint32_t delta) {
  uint32_t old = mem->pages;
  uint64_t limit = mem->max_pages < mem->cap_pages ? mem->max_pages : mem->cap_pages;
  uint64_t want = (uint64_t)old + delta;
  if (want > limit) return (uint32_t)-1;
  if (delta == 0) return old;
  if (mprotect(mem->data + mem->size, (uint64_t)delta * PAGE_SIZE_WASM, PROT_READ | PROT_WRITE) != 0)
    return (uint32_t)-1;
  mem->pages = (uint32_t)want;
  mem->size = want * PAGE_SIZE_WASM;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t* mem) {
  if (mem->data == NULL) return;
  /* Drop the pages (private anonymous: they read back as zeros) and keep the
   * reservation, registered and with its protection, for the next memory. */
  pooled_t r = {mem->data, mem->size, mem->slot};
  if (r.rw == 0 || madvise(r.base, r.rw, MADV_DONTNEED) == 0) {
    if (!pool_put(&r)) release(r.base, r.slot);
  } else {
    release(r.base, r.slot);
  }
  atomic_fetch_sub(&live_memories, 1);
  mem->data = NULL;
  mem->pages = 0;
  mem->size = 0;
}

/* ---- tables ---- */

static uint32_t table_cap(uint32_t max_elements) {
  uint32_t cap = limit_table_elements ? limit_table_elements : UINT32_MAX;
  return max_elements < cap ? max_elements : cap;
}

#define DEFINE_TABLE(kind, elem_t, null_value)                                              \
  void wasm_rt_allocate_##kind##_table(wasm_rt_##kind##_table_t* t, uint32_t elements,    \
                                       uint32_t max_elements) {                           \
    memset(t, 0, sizeof *t);                                                              \
    t->cap = table_cap(max_elements);                                                     \
    if (elements > t->cap) arcella_rt_unwind(WASM_RT_TRAP_RESOURCE, 0);                   \
    if (elements) {                                                                       \
      t->data = calloc(elements, sizeof(elem_t));                                         \
      if (t->data == NULL) arcella_rt_unwind(WASM_RT_TRAP_RESOURCE, 0);                   \
    }                                                                                     \
    t->size = elements;                                                                   \
    t->max_size = max_elements;                                                           \
  }                                                                                       \
  void wasm_rt_free_##kind##_table(wasm_rt_##kind##_table_t* t) {                         \
    free(t->data);                                                                        \
    t->data = NULL;                                                                       \
    t->size = 0;                                                                          \
  }                                                                                       \
  uint32_t wasm_rt_grow_##kind##_table(wasm_rt_##kind##_table_t* t, uint32_t delta,       \
                                       elem_t init) {                                     \
    uint32_t old = t->size;                                                               \
    uint64_t want = (uint64_t)old + delta;                                                \
    if (want > t->cap || want > t->max_size) return (uint32_t)-1;                         \
    if (delta == 0) return old;                                                           \
    elem_t* p = realloc(t->data, want * sizeof(elem_t));                                  \
    if (p == NULL) return (uint32_t)-1;                                                   \
    for (uint64_t i = old; i < want; ++i) p[i] = init;                                    \
    t->data = p;                                                                          \
    t->size = (uint32_t)want;                                                             \
    return old;                                                                           \
  }

DEFINE_TABLE(funcref, wasm_rt_funcref_t, wasm_rt_funcref_null_value)
DEFINE_TABLE(externref, wasm_rt_externref_t, wasm_rt_externref_null_value)
