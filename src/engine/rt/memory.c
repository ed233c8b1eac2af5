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
 *
 * A memory may start with a copy-on-write image (image.c) mapped privately
 * over [0, image_bytes) instead of zero pages. Freeing it drops its pages the
 * same way: MADV_DONTNEED on a private file mapping reverts them to the image,
 * so a pooled reservation stays tagged with its image id and the next memory
 * of the same module reuses it as is; other memories do not reuse it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "arcella_rt.h"

#define PAGE_SIZE_WASM 65536ull
#define RESERVE_BYTES ((8ull << 30) + PAGE_SIZE_WASM)
#define MAX_RESERVATIONS 16384
/* 1024: a deployment scaled to ~1000 replicas and back reuses reservations
 * instead of remapping them (instantiation then makes no syscall). Costs at
 * most 8 TiB of PROT_NONE address space kept (no memory, no page tables). */
#define POOL_MAX 1024

typedef struct {
  _Atomic uintptr_t base; /* 0 = free slot */
  _Atomic uintptr_t end;  /* set after base; 0 while being (un)registered */
} reservation_t;

static reservation_t registry[MAX_RESERVATIONS];
static _Atomic uint32_t registry_high; /* slots [0, high) may be in use */
static _Atomic uint32_t registry_hint; /* no free slot below this (best effort) */
static _Atomic size_t live_memories;

/* A pooled reservation: registered in `slot`, [base, base+rw) readable and
 * writable, the rest PROT_NONE; with img_id != 0 it maps that image as in
 * fresh_image() ([0, img_bytes) the image's contents, [img_bytes, rw) zero
 * pages). img_bytes <= rw. */
typedef struct {
  uint8_t* base;
  uint64_t rw;
  uint32_t slot;
  uint64_t img_id;
  uint64_t img_bytes;
} pooled_t;

/* The image a new memory wants: id 0 = none. */
typedef struct {
  uint64_t id;
  uint64_t bytes;
  int fd;
} want_image_t;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pooled_t pool[POOL_MAX];
static size_t pool_count;

static WASM_RT_TLS uint64_t limit_memory_bytes;
static WASM_RT_TLS arcella_mem_budget_t* alloc_budget;

/* The budget each live memory is charged to, by registry slot (a slot
 * belongs to one live memory at a time; NULL while pooled or uncharged).
 * Kept beside wasm_rt_memory_t so that its layout, which compiled modules
 * share, stays as it is. */
static arcella_mem_budget_t* slot_budget[MAX_RESERVATIONS];
static WASM_RT_TLS uint32_t limit_table_elements;

/* Memories and tables allocated since the limits were set, and what failed. */
static WASM_RT_TLS uint32_t alloc_memories;
static WASM_RT_TLS uint32_t alloc_tables;
static WASM_RT_TLS arcella_alloc_failure_t alloc_failure;

void arcella_rt_set_alloc_limits(uint64_t max_memory_bytes, uint32_t max_table_elements) {
  limit_memory_bytes = max_memory_bytes;
  limit_table_elements = max_table_elements;
  alloc_memories = 0;
  alloc_tables = 0;
  memset(&alloc_failure, 0, sizeof alloc_failure);
}

void arcella_rt_set_alloc_budget(arcella_mem_budget_t* budget) { alloc_budget = budget; }

arcella_alloc_failure_t arcella_rt_last_alloc_failure(void) { return alloc_failure; }

/* Records the failed allocation, then unwinds the instantiation. */
WASM_RT_NO_RETURN static void alloc_failed(int kind, uint32_t index, uint64_t initial,
                                           uint64_t cap) {
  alloc_failure = (arcella_alloc_failure_t){kind, index, initial, cap, 0, 0};
  arcella_rt_unwind(WASM_RT_TRAP_RESOURCE, 0);
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
  while (slot < hint &&
         !atomic_compare_exchange_weak_explicit(&registry_hint, &hint, slot, memory_order_relaxed,
                                                memory_order_relaxed)) {
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

size_t arcella_rt_pool_capacity(void) { return POOL_MAX; }

size_t arcella_rt_pooled_memories(void) {
  pthread_mutex_lock(&pool_lock);
  size_t n = pool_count;
  pthread_mutex_unlock(&pool_lock);
  return n;
}

/* Takes a pooled reservation that maps image `img_id` (0: none). If there is
 * none and the pool is full, takes its oldest entry (the caller releases a
 * mismatch), so that the pool follows what is being instantiated. */
static int pool_take(pooled_t* out, uint64_t img_id) {
  int got = 0;
  pthread_mutex_lock(&pool_lock);
  size_t i = pool_count;
  for (size_t k = pool_count; k-- > 0;) {
    if (pool[k].img_id == img_id) {
      i = k;
      break;
    }
  }
  if (i == pool_count && pool_count == POOL_MAX) i = 0;
  if (i < pool_count) {
    *out = pool[i];
    pool[i] = pool[--pool_count];
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

/* Zero pages, read-write, over [base+from, base+to) (replacing whatever is
 * mapped there). */
static int map_zero(uint8_t* base, uint64_t from, uint64_t to) {
  if (to <= from) return 1;
  return mmap(base + from, to - from, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) != MAP_FAILED;
}

void arcella_rt_pool_forget_image(uint64_t id) {
  pthread_mutex_lock(&pool_lock);
  for (size_t i = 0; i < pool_count;) {
    if (pool[i].img_id == id) {
      release(pool[i].base, pool[i].slot);
      pool[i] = pool[--pool_count];
      continue;
    }
    ++i;
  }
  pthread_mutex_unlock(&pool_lock);
}

/* A fresh reservation whose whole range maps the image file (PROT_NONE),
 * [0, img->bytes) read-write and [img->bytes, bytes) zero pages; NULL if
 * that fails. One mapping of the file for the whole reservation costs less
 * than mapping it over part of an anonymous reservation; only pages of
 * [0, img->bytes) are ever accessible from the file: everything made
 * accessible beyond it (initial size, grow) is anonymous zero pages. */
static uint8_t* fresh_image(uint64_t bytes, const want_image_t* img) {
  void* p = mmap(NULL, RESERVE_BYTES, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE, img->fd, 0);
  if (p == MAP_FAILED) return NULL;
  if (mprotect(p, img->bytes, PROT_READ | PROT_WRITE) != 0 || !map_zero(p, img->bytes, bytes)) {
    munmap(p, RESERVE_BYTES);
    return NULL;
  }
  return p;
}

/* A registered reservation with exactly [0, bytes) accessible, or 0. With
 * an image (img->id != 0, img->bytes <= bytes), *mapped tells whether it is
 * mapped as in fresh_image(); otherwise all of [0, bytes) is zero pages.
 * Pooled reservations are reused only by memories with the same image (or
 * none); a mismatched one is released. */
static int acquire(uint64_t bytes, const want_image_t* img, uint8_t** base_out, uint32_t* slot_out,
                   int* mapped) {
  pooled_t r;
  *mapped = 0;
  if (pool_take(&r, img->id)) {
    int ok = r.img_id == img->id;
    if (!ok) {
      /* released below */
    } else if (r.rw > bytes) {
      ok = mprotect(r.base + bytes, r.rw - bytes, PROT_NONE) == 0;
    } else if (r.rw < bytes) {
      ok = r.img_id ? map_zero(r.base, r.rw, bytes)
                    : mprotect(r.base + r.rw, bytes - r.rw, PROT_READ | PROT_WRITE) == 0;
    }
    if (ok) {
      *base_out = r.base;
      *slot_out = r.slot;
      *mapped = r.img_id != 0;
      return 1;
    }
    release(r.base, r.slot);
  }
  void* p = img->id != 0 ? fresh_image(bytes, img) : NULL;
  if (p != NULL) {
    *mapped = 1;
  } else {
    p = mmap(NULL, RESERVE_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return 0;
    if (bytes && mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) {
      munmap(p, RESERVE_BYTES);
      return 0;
    }
  }
  if (!registry_add((uintptr_t)p, slot_out)) {
    munmap(p, RESERVE_BYTES);
    *mapped = 0;
    return 0;
  }
  *base_out = p;
  return 1;
}

/* Allocates `mem`, mapping image `img` if given and possible: returns 1 if
 * it was mapped. */
static int allocate(wasm_rt_memory_t* mem, uint32_t initial_pages, uint32_t max_pages,
                    arcella_mem_image_t* img, const arcella_data_seg_t* segs, uint32_t nsegs) {
  memset(mem, 0, sizeof *mem);
  uint64_t cap = limit_memory_bytes ? limit_memory_bytes / PAGE_SIZE_WASM : 65536;
  if (cap > 65536) cap = 65536;
  if (max_pages > 65536) max_pages = 65536;
  const uint32_t index = alloc_memories++;
  if (initial_pages > cap || initial_pages > max_pages)
    alloc_failed(ARCELLA_ALLOC_MEMORY, index, initial_pages, cap < max_pages ? cap : max_pages);
  uint64_t bytes = (uint64_t)initial_pages * PAGE_SIZE_WASM;
  want_image_t want = {0, 0, -1};
  if (img != NULL && arcella_rt_image_ready(img, bytes, segs, nsegs))
    want = (want_image_t){img->id, img->bytes, img->fd};
  arcella_mem_budget_t* budget = alloc_budget;
  uint64_t left = 0;
  if (budget != NULL && !arcella_mem_budget_reserve(budget, bytes, &left)) {
    alloc_failure = (arcella_alloc_failure_t){
        ARCELLA_ALLOC_BUDGET, index, initial_pages, cap, arcella_mem_budget_limit(budget), left};
    arcella_rt_unwind(WASM_RT_TRAP_RESOURCE, 0);
  }
  uint8_t* p;
  uint32_t slot;
  int mapped;
  if (!acquire(bytes, &want, &p, &slot, &mapped)) {
    if (budget != NULL) arcella_mem_budget_release(budget, bytes);
    alloc_failed(ARCELLA_ALLOC_MEMORY, index, initial_pages, cap);
  }
  slot_budget[slot] = budget;
  atomic_fetch_add(&live_memories, 1);
  mem->data = p;
  mem->pages = initial_pages;
  mem->max_pages = max_pages;
  mem->size = bytes;
  mem->cap_pages = (uint32_t)(cap < 65536 ? cap : 65536);
  mem->slot = slot;
  if (mapped) {
    mem->image_id = want.id;
    mem->image_bytes = want.bytes;
  }
  return mapped;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t* mem, uint32_t initial_pages, uint32_t max_pages) {
  allocate(mem, initial_pages, max_pages, NULL, NULL, 0);
}

int arcella_rt_allocate_memory_image(wasm_rt_memory_t* mem, uint32_t initial_pages,
                                     uint32_t max_pages, arcella_mem_image_t* img,
                                     const arcella_data_seg_t* segs, uint32_t nsegs) {
  return allocate(mem, initial_pages, max_pages, img, segs, nsegs);
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* mem, uint32_t delta) {
  uint32_t old = mem->pages;
  uint64_t limit = mem->max_pages < mem->cap_pages ? mem->max_pages : mem->cap_pages;
  uint64_t want = (uint64_t)old + delta;
  if (want > limit) return (uint32_t)-1;
  if (delta == 0) return old;
  uint64_t add = (uint64_t)delta * PAGE_SIZE_WASM;
  arcella_mem_budget_t* budget = slot_budget[mem->slot];
  if (budget != NULL && !arcella_mem_budget_reserve(budget, add, NULL)) return (uint32_t)-1;
  if (mem->image_id != 0) {
    /* Beyond the image the reservation maps the file: new pages must be
     * anonymous. A failed MAP_FIXED may leave a hole in the guard region:
     * cover it again or stop (a hole could receive another mapping). */
    if (!map_zero(mem->data, mem->size, mem->size + add)) {
      if (mmap(mem->data + mem->size, add, PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
        abort();
      if (budget != NULL) arcella_mem_budget_release(budget, add);
      return (uint32_t)-1;
    }
  } else if (mprotect(mem->data + mem->size, add, PROT_READ | PROT_WRITE) != 0) {
    if (budget != NULL) arcella_mem_budget_release(budget, add);
    return (uint32_t)-1;
  }
  mem->pages = (uint32_t)want;
  mem->size = want * PAGE_SIZE_WASM;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t* mem) {
  if (mem->data == NULL) return;
  /* Give the bytes back before the slot can go to another memory. */
  arcella_mem_budget_t* budget = slot_budget[mem->slot];
  slot_budget[mem->slot] = NULL;
  if (budget != NULL) arcella_mem_budget_release(budget, mem->size);
  /* Drop the pages (private anonymous: they read back as zeros) and keep the
   * reservation, registered and with its protection, for the next memory. */
  pooled_t r = {mem->data, mem->size, mem->slot, mem->image_id, mem->image_bytes};
  if (r.rw == 0 || madvise(r.base, r.rw, MADV_DONTNEED) == 0) {
    if (!pool_put(&r)) release(r.base, r.slot);
  } else {
    release(r.base, r.slot);
  }
  atomic_fetch_sub(&live_memories, 1);
  mem->data = NULL;
  mem->pages = 0;
  mem->size = 0;
  mem->image_id = 0;
  mem->image_bytes = 0;
}

/* ---- tables ---- */

static uint32_t table_cap(uint32_t max_elements) {
  uint32_t cap = limit_table_elements ? limit_table_elements : UINT32_MAX;
  return max_elements < cap ? max_elements : cap;
}

#define DEFINE_TABLE(kind, elem_t, null_value)                                                     \
  void wasm_rt_allocate_##kind##_table(wasm_rt_##kind##_table_t* t, uint32_t elements,             \
                                       uint32_t max_elements) {                                    \
    memset(t, 0, sizeof *t);                                                                       \
    t->cap = table_cap(max_elements);                                                              \
    const uint32_t index = alloc_tables++;                                                         \
    if (elements > t->cap) alloc_failed(ARCELLA_ALLOC_TABLE, index, elements, t->cap);             \
    if (elements) {                                                                                \
      t->data = calloc(elements, sizeof(elem_t));                                                  \
      if (t->data == NULL) alloc_failed(ARCELLA_ALLOC_TABLE, index, elements, t->cap);             \
    }                                                                                              \
    t->size = elements;                                                                            \
    t->max_size = max_elements;                                                                    \
  }                                                                                                \
  void wasm_rt_free_##kind##_table(wasm_rt_##kind##_table_t* t) {                                  \
    free(t->data);                                                                                 \
    t->data = NULL;                                                                                \
    t->size = 0;                                                                                   \
  }                                                                                                \
  uint32_t wasm_rt_grow_##kind##_table(wasm_rt_##kind##_table_t* t, uint32_t delta, elem_t init) { \
    uint32_t old = t->size;                                                                        \
    uint64_t want = (uint64_t)old + delta;                                                         \
    if (want > t->cap || want > t->max_size) return (uint32_t)-1;                                  \
    if (delta == 0) return old;                                                                    \
    elem_t* p = realloc(t->data, want * sizeof(elem_t));                                           \
    if (p == NULL) return (uint32_t)-1;                                                            \
    for (uint64_t i = old; i < want; ++i) p[i] = init;                                             \
    t->data = p;                                                                                   \
    t->size = (uint32_t)want;                                                                      \
    return old;                                                                                    \
  }

DEFINE_TABLE(funcref, wasm_rt_funcref_t, wasm_rt_funcref_null_value)
DEFINE_TABLE(externref, wasm_rt_externref_t, wasm_rt_externref_null_value)
