/* Arcella's runtime interface for wasm2c-generated code (wabt 1.0.32 ABI).
 *
 * Written for Arcella; provides the declarations the generated C expects
 * (types, traps, memories, tables, func-type registry) and is implemented by
 * src/engine/rt/ inside the engine executable, which exports these symbols
 * to the dlopen()ed modules. Differences from the stock runtime:
 *   - all trap/unwind state is thread-local; traps unwind with _longjmp;
 *   - memories are 8 GiB guard-page reservations (no bounds checks in code);
 *   - call depth is counted against a per-call, thread-local limit;
 *   - memory/table growth is capped by the instantiating instance's limits;
 *   - extra trap codes tell table faults and call_indirect failures apart.
 */
#ifndef ARCELLA_WASM_RT_H_
#define ARCELLA_WASM_RT_H_

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define wasm_rt_memcpy __builtin_memcpy
#define wasm_rt_unreachable __builtin_unreachable
#define WASM_RT_NO_RETURN __attribute__((noreturn))
#define WASM_RT_TLS __thread __attribute__((tls_model("initial-exec")))

#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 1
#define WASM_RT_SKIP_SIGNAL_RECOVERY 0
#define WASM_RT_SIGNAL_RECOVERY_SUPPORTED 1
#define WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS 0
#define WASM_RT_USE_STACK_DEPTH_COUNT 1
/* Depth counter and limit live in the engine (thread-local). */
extern WASM_RT_TLS uint32_t wasm_rt_call_stack_depth;
extern WASM_RT_TLS uint32_t wasm_rt_max_call_stack_depth;
#define WASM_RT_MAX_CALL_STACK_DEPTH wasm_rt_max_call_stack_depth

typedef enum {
  WASM_RT_TRAP_NONE,
  WASM_RT_TRAP_OOB, /* linear memory out of bounds */
  WASM_RT_TRAP_INT_OVERFLOW,
  WASM_RT_TRAP_DIV_BY_ZERO,
  WASM_RT_TRAP_INVALID_CONVERSION,
  WASM_RT_TRAP_UNREACHABLE,
  WASM_RT_TRAP_CALL_INDIRECT, /* signature mismatch */
  WASM_RT_TRAP_UNCAUGHT_EXCEPTION,
  WASM_RT_TRAP_EXHAUSTION,    /* call depth or native stack */
  WASM_RT_TRAP_TABLE_OOB,     /* table access / call_indirect index */
  WASM_RT_TRAP_INDIRECT_NULL, /* call_indirect of a null element */
  WASM_RT_TRAP_HOST,          /* a host function returned a trap */
  WASM_RT_TRAP_RESOURCE,      /* allocation failed during instantiation */
} wasm_rt_trap_t;

typedef enum {
  WASM_RT_I32,
  WASM_RT_I64,
  WASM_RT_F32,
  WASM_RT_F64,
  WASM_RT_FUNCREF,
  WASM_RT_EXTERNREF,
} wasm_rt_type_t;

typedef void (*wasm_rt_function_ptr_t)(void);

typedef struct {
  uint32_t func_type;          /* id from wasm_rt_register_func_type; 0 = none */
  wasm_rt_function_ptr_t func; /* NULL for a null reference */
  void* module_instance;       /* first argument passed to `func` */
} wasm_rt_funcref_t;
static const wasm_rt_funcref_t wasm_rt_funcref_null_value = {0, NULL, NULL};

typedef void* wasm_rt_externref_t;
static const wasm_rt_externref_t wasm_rt_externref_null_value = NULL;

typedef struct {
  uint8_t* data;      /* start of the reservation */
  uint32_t pages;     /* current size in 64 KiB pages */
  uint32_t max_pages; /* declared maximum (65536 if none) */
  uint64_t size;      /* pages * 65536 */
  uint32_t cap_pages; /* instance limit (InstanceLimits.max_memory_bytes) */
  uint32_t slot;      /* registry slot of the reservation */
  uint64_t image_id;  /* 0, or the copy-on-write image mapped at data[0..image_bytes) */
  uint64_t image_bytes;
} wasm_rt_memory_t;

typedef struct {
  wasm_rt_funcref_t* data;
  uint32_t max_size;
  uint32_t size;
  uint32_t cap; /* instance limit (InstanceLimits.max_table_elements) */
} wasm_rt_funcref_table_t;

typedef struct {
  wasm_rt_externref_t* data;
  uint32_t max_size;
  uint32_t size;
  uint32_t cap;
} wasm_rt_externref_table_t;

void wasm_rt_init(void);
bool wasm_rt_is_initialized(void);
void wasm_rt_free(void);
WASM_RT_NO_RETURN void wasm_rt_trap(wasm_rt_trap_t);
const char* wasm_rt_strerror(wasm_rt_trap_t trap);
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...);

void wasm_rt_allocate_memory(wasm_rt_memory_t*, uint32_t initial_pages, uint32_t max_pages);
uint32_t wasm_rt_grow_memory(wasm_rt_memory_t*, uint32_t pages);
void wasm_rt_free_memory(wasm_rt_memory_t*);
void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t*, uint32_t elements,
                                    uint32_t max_elements);
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t*);
void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t*, uint32_t elements,
                                      uint32_t max_elements);
void wasm_rt_free_externref_table(wasm_rt_externref_table_t*);
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t*, uint32_t delta,
                                    wasm_rt_funcref_t init);
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t*, uint32_t delta,
                                      wasm_rt_externref_t init);

/* ---- Arcella ABI between the engine and the generated glue ---- */

/* Entry point shape of every glue function the engine calls. */
typedef void (*arcella_entry_fn)(void* instance, uint64_t* slots);

/* What the module sees as its single import "instance". `self` points to the
 * struct itself: wasm2c passes either the struct or a pointer to the
 * instance's pointer to it (funcrefs of imports); both reach `self`. */
typedef struct arcella_host_ctx {
  struct arcella_host_ctx* self;
  /* Calls host import `index`: args in slots, results back into slots.
   * Non-zero = trap (details kept by the engine). */
  int (*call)(void* host, uint32_t index, uint64_t* slots);
  void* host;
  void* imports[]; /* by import index: memory/table/global pointers */
} arcella_host_ctx_t;

/* Calls ctx->call outside "wasm mode"; traps (WASM_RT_TRAP_HOST) on failure,
 * after the host frames have returned. */
void arcella_rt_host_call(arcella_host_ctx_t* ctx, uint32_t index, uint64_t* slots);

/* Copy-on-write initial memory images. A module whose memory 0 is defined
 * and whose active data segments all have constant, in-bounds offsets keeps
 * one zero-initialised arcella_mem_image_t (static, owned by the runtime) and
 * a table of its segments. The first instantiation builds a memfd holding the
 * initial contents; each instantiation maps it privately over the memory, so
 * untouched pages are shared and writes copy. */
typedef struct {
  uint32_t offset;
  uint32_t size;
  const uint8_t* data;
} arcella_data_seg_t;

typedef struct {
  uint32_t state; /* runtime-private: 0 = not built, 1 = ready, 2 = unusable */
  int32_t fd;
  uint64_t id;    /* unique per built image */
  uint64_t bytes; /* mapped length: a multiple of 64 KiB, <= the initial size */
} arcella_mem_image_t;

/* Like wasm_rt_allocate_memory; returns 1 if `img` (the initial contents:
 * `segs` applied in order over zeros) was mapped, 0 if the caller must load
 * the active segments itself. Every segment must lie within initial_pages. */
int arcella_rt_allocate_memory_image(wasm_rt_memory_t*, uint32_t initial_pages, uint32_t max_pages,
                                     arcella_mem_image_t* img, const arcella_data_seg_t* segs,
                                     uint32_t nsegs);

/* Drops `img` (its memfd and pooled memories still mapping it); called when
 * the module is unloaded, after all of its memories were freed. */
void arcella_rt_release_image(arcella_mem_image_t* img);

/* Funcref <-> 64-bit slot (0 = null); boxes live until their instance dies. */
uint64_t arcella_funcref_box(wasm_rt_funcref_t f);
wasm_rt_funcref_t arcella_funcref_unbox(uint64_t slot);

static inline float arcella_slot_f32(uint64_t s) {
  uint32_t b = (uint32_t)s;
  float f;
  memcpy(&f, &b, 4);
  return f;
}
static inline double arcella_slot_f64(uint64_t s) {
  double d;
  memcpy(&d, &s, 8);
  return d;
}
static inline uint64_t arcella_f32_slot(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}
static inline uint64_t arcella_f64_slot(double d) {
  uint64_t b;
  memcpy(&b, &d, 8);
  return b;
}

#ifdef __cplusplus
}
#endif

#endif /* ARCELLA_WASM_RT_H_ */
