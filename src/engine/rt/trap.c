/* Traps, unwinding and guest entry for the Arcella wasm runtime. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <unwind.h>

#include "arcella_rt.h"

WASM_RT_TLS uint32_t wasm_rt_call_stack_depth;
WASM_RT_TLS uint32_t wasm_rt_max_call_stack_depth = 10000;

WASM_RT_TLS jmp_buf* arcella_rt_unwind_target;
WASM_RT_TLS int arcella_rt_in_wasm;
WASM_RT_TLS int arcella_rt_trap_code;

#define MAX_TRAP_PCS 24
static WASM_RT_TLS uintptr_t trap_pcs[MAX_TRAP_PCS];
static WASM_RT_TLS size_t trap_npcs;

void wasm_rt_init(void) { arcella_rt_thread_setup(); }
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_free(void) {}

void arcella_rt_unwind(int code, uintptr_t pc) {
  arcella_rt_trap_code = code;
  if (pc) {
    trap_pcs[0] = pc;
    trap_npcs = 1;
  }
  arcella_rt_in_wasm = 0;
  if (arcella_rt_unwind_target == NULL) {
    fprintf(stderr, "arcella: wasm trap %d outside of a guest call\n", code);
    abort();
  }
  _longjmp(*arcella_rt_unwind_target, 1);
}

static _Unwind_Reason_Code collect_pc(struct _Unwind_Context* ctx, void* arg) {
  (void)arg;
  if (trap_npcs >= MAX_TRAP_PCS) return _URC_END_OF_STACK;
  uintptr_t pc = (uintptr_t)_Unwind_GetIP(ctx);
  if (pc == 0) return _URC_END_OF_STACK;
  trap_pcs[trap_npcs++] = pc - 1; /* inside the call instruction */
  return _URC_NO_REASON;
}

/* Slow path only: remember where a trap came from. */
static void record_backtrace(void) {
  trap_npcs = 0;
  _Unwind_Backtrace(collect_pc, NULL);
}

void wasm_rt_trap(wasm_rt_trap_t code) {
  record_backtrace();
  arcella_rt_unwind((int)code, 0);
}

size_t arcella_rt_last_trap_pcs(const uintptr_t** pcs) {
  *pcs = trap_pcs;
  return trap_npcs;
}

int arcella_rt_invoke(arcella_entry_fn fn, void* inst, uint64_t* slots) {
  arcella_rt_thread_setup();
  jmp_buf buf;
  jmp_buf* const prev_target = arcella_rt_unwind_target;
  const int prev_in_wasm = arcella_rt_in_wasm;
  const uint32_t depth = wasm_rt_call_stack_depth;
  arcella_rt_unwind_target = &buf;
  if (_setjmp(buf) == 0) {
    arcella_rt_in_wasm = 1;
    fn(inst, slots);
    arcella_rt_in_wasm = prev_in_wasm;
    arcella_rt_unwind_target = prev_target;
    return 0;
  }
  arcella_rt_in_wasm = prev_in_wasm;
  arcella_rt_unwind_target = prev_target;
  wasm_rt_call_stack_depth = depth;
  return arcella_rt_trap_code ? arcella_rt_trap_code : WASM_RT_TRAP_UNREACHABLE;
}

void arcella_rt_host_call(arcella_host_ctx_t* ctx, uint32_t index, uint64_t* slots) {
  const int prev = arcella_rt_in_wasm;
  arcella_rt_in_wasm = 0;
  int rc = ctx->call(ctx->host, index, slots);
  arcella_rt_in_wasm = prev;
  if (rc != 0) {
    record_backtrace(); /* the guest function that called the import */
    arcella_rt_unwind(WASM_RT_TRAP_HOST, 0);
  }
}

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "no error";
    case WASM_RT_TRAP_OOB: return "out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable";
    case WASM_RT_TRAP_CALL_INDIRECT: return "indirect call type mismatch";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
    case WASM_RT_TRAP_TABLE_OOB: return "out of bounds table access";
    case WASM_RT_TRAP_INDIRECT_NULL: return "uninitialized element";
    case WASM_RT_TRAP_HOST: return "host function trapped";
    case WASM_RT_TRAP_RESOURCE: return "resource allocation failed";
  }
  return "unknown trap";
}

/* ---- function type registry (module init only) ---- */

typedef struct {
  uint32_t nparams, nresults;
  uint8_t* types;
} func_type_t;

static pthread_mutex_t types_mu = PTHREAD_MUTEX_INITIALIZER;
static func_type_t* types_v;
static uint32_t types_n, types_cap;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  uint32_t n = params + results;
  uint8_t stack_buf[64];
  uint8_t* t = n <= sizeof stack_buf ? stack_buf : malloc(n);
  if (t == NULL) abort();
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < n; ++i) t[i] = (uint8_t)va_arg(ap, int);
  va_end(ap);
  pthread_mutex_lock(&types_mu);
  uint32_t id = 0;
  for (uint32_t i = 0; i < types_n; ++i) {
    if (types_v[i].nparams == params && types_v[i].nresults == results &&
        memcmp(types_v[i].types, t, n) == 0) {
      id = i + 1;
      break;
    }
  }
  if (id == 0) {
    if (types_n == types_cap) {
      types_cap = types_cap ? types_cap * 2 : 64;
      types_v = realloc(types_v, types_cap * sizeof *types_v);
      if (types_v == NULL) abort();
    }
    uint8_t* copy = malloc(n ? n : 1);
    if (copy == NULL) abort();
    memcpy(copy, t, n);
    types_v[types_n] = (func_type_t){params, results, copy};
    id = ++types_n;
  }
  pthread_mutex_unlock(&types_mu);
  if (t != stack_buf) free(t);
  return id;
}
