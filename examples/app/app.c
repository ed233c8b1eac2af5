// The app example (app.wit): a C reactor component that imports
// logger:log/log@1.0.0 and exports example:app/greeter@0.1.0. Built from
// source by the `examples` target (CMakeLists.txt, examples/components.cmake)
// into build/examples/app@0.1.0.wasm: clang --target=wasm32-wasi
// -mexec-model=reactor (wasi-libc), `jco embed` with app.wit, `jco new
// --wasi-reactor`.
//
// On the platform its import is satisfied by a link to a deployment of the
// http-logger example (examples/http-logger), which exports that interface:
//   arcella-cli deploy app@0.1.0 --link logger:log/log@1.0.0=http-logger@0.1.0/web
// so greet's log line crosses the link and shows in the logger's replica log.
//
// The canonical ABI is written by hand, like the component fixtures in
// tests/fixtures/components:
//   import log(level, msg)   core (level_ptr, level_len, msg_ptr, msg_len)
//                            -> (); the strings are read from our memory
//   import count() -> u64    core () -> i64
//   greet(name) -> string    core (name_ptr, name_len) -> ret_ptr, where
//                            ret_ptr points at (ptr, len) of the result; the
//                            caller then calls cabi_post_...#greet, which
//                            frees it
//   logged() -> u64          core () -> i64
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("logger:log/log@1.0.0", "log")
void logger_log(const char* level, size_t level_len, const char* msg, size_t msg_len);
IMPORT("logger:log/log@1.0.0", "count") uint64_t logger_count(void);

typedef struct {
  char* ptr;
  size_t len;
} str_t;

static str_t ret_area;  // (ptr, len) of greet's result

EXPORT("cabi_realloc")
void* cabi_realloc(void* old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void*)align;
  void* p = realloc(old, new_size);  // malloc's alignment (16) covers every ABI alignment
  if (!p) abort();
  return p;
}

// s1 + s2 + s3 in a new malloc'd buffer of *len bytes (not NUL-terminated).
static char* concat3(const char* s1, const char* s2, size_t len2, const char* s3, size_t* len) {
  size_t len1 = strlen(s1), len3 = strlen(s3);
  *len = len1 + len2 + len3;
  char* out = malloc(*len ? *len : 1);
  if (!out) abort();
  memcpy(out, s1, len1);
  memcpy(out + len1, s2, len2);
  memcpy(out + len1 + len2, s3, len3);
  return out;
}

EXPORT("example:app/greeter@0.1.0#greet")
str_t* app_greet(char* name, size_t len) {
  size_t msg_len;
  char* msg = concat3("greeting ", name, len, "", &msg_len);
  logger_log("info", 4, msg, msg_len);  // through the import: the link
  free(msg);
  ret_area.ptr = concat3("Hello, ", name, len, "!", &ret_area.len);
  if (len) free(name);
  return &ret_area;
}

EXPORT("cabi_post_example:app/greeter@0.1.0#greet")
void app_greet_post(str_t* r) { free(r->ptr); }

EXPORT("example:app/greeter@0.1.0#logged")
uint64_t app_logged(void) { return logger_count(); }
