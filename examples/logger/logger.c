// The logger example (logger.wit): a C reactor component exporting
// example:logger/log@0.1.0. Built from source by the `examples` target
// (CMakeLists.txt, examples/components.cmake) into build/examples/
// logger@0.1.0.wasm: clang --target=wasm32-wasi -mexec-model=reactor
// (wasi-libc), `jco embed` with logger.wit, `jco new --wasi-reactor`.
//
// The canonical ABI is written by hand (no bindings generator), like the
// component fixtures in tests/fixtures/components:
//   log(level: string, msg: string)  core (level_ptr, level_len, msg_ptr,
//                                    msg_len) -> (); both strings were
//                                    allocated here by the caller through
//                                    cabi_realloc and are ours to free
//   count() -> u64                   core () -> i64
// An empty string may come at the pointer cabi_realloc returned for a
// zero-size allocation (not from malloc), so only non-empty ones are freed.
//
// Its lines go to stdout, which the platform captures per replica:
// `arcella-cli logs logger@0.1.0` shows them, also when the call came from
// another deployment through a link (app@0.1.0, examples/app).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define EXPORT(name) __attribute__((export_name(name)))

static uint64_t lines = 0;

EXPORT("cabi_realloc")
void* cabi_realloc(void* old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void*)align;
  void* p = realloc(old, new_size);  // malloc's alignment (16) covers every ABI alignment
  if (!p) abort();
  return p;
}

EXPORT("example:logger/log@0.1.0#log")
void logger_log(char* level, size_t level_len, char* msg, size_t msg_len) {
  ++lines;
  printf("[%.*s] %.*s\n", (int)level_len, level, (int)msg_len, msg);
  fflush(stdout);
  if (level_len) free(level);
  if (msg_len) free(msg);
}

EXPORT("example:logger/log@0.1.0#count")
uint64_t logger_count(void) { return lines; }
