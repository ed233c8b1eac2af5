// The http-logger example (http-logger.wit): a C reactor component that
// serves HTTP (exports wasi:http/incoming-handler@0.2.12) and logs every
// request, and exports logger:log/log@1.0.0 so other components (examples/
// app) log through it over a link. Built from source by the `examples`
// target (CMakeLists.txt, examples/components.cmake) into build/examples/
// http-logger.wasm: clang --target=wasm32-wasi -mexec-model=reactor
// (wasi-libc), `jco embed` with http-logger.wit (wasi:http resolved from the
// WASI 0.2.12 packages that ship with jco), `jco new --wasi-reactor`.
//
// handle(request, response-out) answers every request with 200,
// content-type: text/plain and the body
//   http-logger: GET /hello?x=1 (line 3 of this instance)
// after printing "[INFO] GET /hello?x=1" on stdout (the replica's log). The
// request's headers and body are not read.
//
// The canonical ABI is written by hand (no bindings generator), like the
// other examples and the component fixtures in tests/fixtures/components.
// Resources cross as i32 handles. A result bigger than one core value is
// written by the callee to a "return area" whose address we pass as the last
// parameter; the structs below are those areas, laid out as the ABI does
// (each field at its alignment; the _Static_asserts check the offsets):
//   [method]incoming-request.method(borrow) -> method
//       core (self, ret) -> (); method is a variant, u8 case at 0 and, for
//       other(string), the string's (ptr, len) at 4
//   [method]incoming-request.path-with-query(borrow) -> option<string>
//       core (self, ret) -> (); u8 none/some at 0, (ptr, len) at 4
//   [constructor]fields() -> own<fields>               core () -> i32
//   [method]fields.append(borrow, string, list<u8>) -> result<_, header-error>
//       core (self, name_ptr, name_len, value_ptr, value_len, ret) -> ();
//       u8 ok/err at 0, header-error's u8 case at 1
//   [constructor]outgoing-response(own<fields>) -> own  core (i32) -> i32
//   [method]outgoing-response.set-status-code(borrow, u16) -> result
//       core (self, status) -> i32 (0 ok, 1 err)
//   [method]outgoing-response.body(borrow) -> result<own<outgoing-body>>
//   [method]outgoing-body.write(borrow) -> result<own<output-stream>>
//       core (self, ret) -> (); u8 ok/err at 0, the handle at 4
//   [method]output-stream.blocking-write-and-flush(borrow, list<u8>)
//       -> result<_, stream-error>  (wasi:io/streams; at most 4096 bytes)
//       core (self, ptr, len, ret) -> (); u8 ok/err at 0, stream-error at 4:
//       u8 case (0 last-operation-failed(own<error>), 1 closed) at 4, the
//       error's handle at 8
//   [static]outgoing-body.finish(own<outgoing-body>, option<own<trailers>>)
//       -> result<_, error-code>
//       core (body, has_trailers, trailers, ret) -> (); error-code is a
//       variant of 39 cases whose payloads include u64s: it is aligned to
//       8, so the result's ok/err u8 is at 0 and the error-code at 8 (u8
//       case, then its payload at 16); 40 bytes in all
//   [static]response-outparam.set(own<response-outparam>,
//                                 result<own<outgoing-response>, error-code>)
//       core (param, is_err, a, b, c:i64, d, e, f, g) -> (): the result is
//       flattened, not passed in memory. Its cases share the slots after
//       is_err: ok's handle is `a`; err's error-code is (case = a, payload
//       = b..g), where the payload slots are the position-wise join of all
//       the cases' flattenings (i32 + i64 -> i64, hence c). ok(response) is
//       (param, 0, response, 0, 0, 0, 0, 0, 0).
//   [resource-drop]T(own<T>)                          core (i32) -> ()
// The exports:
//   wasi:http/incoming-handler@0.2.12#handle(own<incoming-request>,
//       own<response-outparam>)                     core (i32, i32) -> ()
//   logger:log/log@1.0.0#log(level, msg)            core (level_ptr,
//       level_len, msg_ptr, msg_len) -> (); the strings were allocated here
//       by the caller through cabi_realloc and are ours to free
//   logger:log/log@1.0.0#count() -> u64             core () -> i64
// Strings the host returns (a method's other(string), the path) are also
// allocated through our cabi_realloc and ours to free. An empty string may
// come at the pointer cabi_realloc returned for a zero-size allocation (not
// from malloc), so only non-empty ones are freed.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))
#define HTTP_TYPES "wasi:http/types@0.2.12"
#define IO_STREAMS "wasi:io/streams@0.2.12"
#define IO_ERROR "wasi:io/error@0.2.12"

typedef int32_t handle_t;  // a resource handle

// ----------------------------------------------------------- return areas
typedef struct {  // method
  uint8_t tag;    // 0 get .. 8 patch, 9 other(string)
  char* other;    // the other(string) case's (ptr, len)
  size_t other_len;
} method_t;
_Static_assert(offsetof(method_t, other) == 4 && sizeof(method_t) == 12, "method");

typedef struct {  // option<string>
  uint8_t is_some;
  char* ptr;
  size_t len;
} option_string_t;
_Static_assert(offsetof(option_string_t, ptr) == 4 && sizeof(option_string_t) == 12,
               "option<string>");

typedef struct {  // result<_, header-error>
  uint8_t is_err;
  uint8_t error;  // header-error: 0 invalid-syntax, 1 forbidden, 2 immutable
} result_header_error_t;
_Static_assert(offsetof(result_header_error_t, error) == 1, "result<_, header-error>");

typedef struct {  // result<own<T>>
  uint8_t is_err;
  handle_t ok;
} result_handle_t;
_Static_assert(offsetof(result_handle_t, ok) == 4 && sizeof(result_handle_t) == 8,
               "result<own<T>>");

typedef struct {  // result<_, stream-error>
  uint8_t is_err;
  struct {
    uint8_t tag;     // 0 last-operation-failed(own<error>), 1 closed
    handle_t error;  // last-operation-failed's wasi:io/error handle
  } error;
} result_stream_error_t;
_Static_assert(offsetof(result_stream_error_t, error.tag) == 4 &&
                   offsetof(result_stream_error_t, error.error) == 8 &&
                   sizeof(result_stream_error_t) == 12,
               "result<_, stream-error>");

typedef struct {  // result<_, error-code>
  uint8_t is_err;
  _Alignas(8) struct {
    uint8_t tag;                      // which of error-code's 39 cases
    _Alignas(8) uint8_t payload[24];  // not read (see finish_body)
  } error;
} result_error_code_t;
_Static_assert(offsetof(result_error_code_t, error) == 8 && sizeof(result_error_code_t) == 40,
               "result<_, error-code>");

// ---------------------------------------------------------------- imports
IMPORT(HTTP_TYPES, "[method]incoming-request.method")
void request_method(handle_t self, method_t* ret);
IMPORT(HTTP_TYPES, "[method]incoming-request.path-with-query")
void request_path_with_query(handle_t self, option_string_t* ret);
IMPORT(HTTP_TYPES, "[resource-drop]incoming-request") void request_drop(handle_t self);

IMPORT(HTTP_TYPES, "[constructor]fields") handle_t fields_new(void);
IMPORT(HTTP_TYPES, "[method]fields.append")
void fields_append(handle_t self, const char* name, size_t name_len, const uint8_t* value,
                   size_t value_len, result_header_error_t* ret);

IMPORT(HTTP_TYPES, "[constructor]outgoing-response") handle_t response_new(handle_t headers);
IMPORT(HTTP_TYPES, "[method]outgoing-response.set-status-code")
int32_t response_set_status_code(handle_t self, int32_t status);
IMPORT(HTTP_TYPES, "[method]outgoing-response.body")
void response_body(handle_t self, result_handle_t* ret);
IMPORT(HTTP_TYPES, "[resource-drop]outgoing-response") void response_drop(handle_t self);

IMPORT(HTTP_TYPES, "[method]outgoing-body.write")
void body_write(handle_t self, result_handle_t* ret);
IMPORT(HTTP_TYPES, "[static]outgoing-body.finish")
void body_finish(handle_t body, int32_t has_trailers, handle_t trailers, result_error_code_t* ret);

IMPORT(HTTP_TYPES, "[static]response-outparam.set")
void outparam_set(handle_t param, int32_t is_err, int32_t a, int32_t b, int64_t c, int32_t d,
                  int32_t e, int32_t f, int32_t g);

IMPORT(IO_STREAMS, "[method]output-stream.blocking-write-and-flush")
void stream_blocking_write_and_flush(handle_t self, const uint8_t* ptr, size_t len,
                                     result_stream_error_t* ret);
IMPORT(IO_STREAMS, "[resource-drop]output-stream") void stream_drop(handle_t self);
IMPORT(IO_ERROR, "[resource-drop]error") void io_error_drop(handle_t self);

// ------------------------------------------------------------------ state
static uint64_t lines = 0;  // lines printed by this instance

EXPORT("cabi_realloc")
void* cabi_realloc(void* old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void*)align;
  void* p = realloc(old, new_size);  // malloc's alignment (16) covers every ABI alignment
  if (!p) abort();
  return p;
}

// Prints "[LEVEL] MSG" as one line on stdout and counts it.
static uint64_t log_line(const char* level, size_t level_len, const char* msg, size_t msg_len) {
  printf("[%.*s] %.*s\n", (int)level_len, level, (int)msg_len, msg);
  fflush(stdout);  // a line at a time: the platform captures stdout per replica
  return ++lines;
}

// printf into a new malloc'd string; *len is its length (without the NUL).
__attribute__((format(printf, 2, 3))) static char* format(size_t* len, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) abort();
  char* s = malloc((size_t)n + 1);
  if (!s) abort();
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  *len = (size_t)n;
  return s;
}

// ------------------------------------------------------- logger:log/log
EXPORT("logger:log/log@1.0.0#log")
void logger_log(char* level, size_t level_len, char* msg, size_t msg_len) {
  log_line(level, level_len, msg, msg_len);
  if (level_len) free(level);
  if (msg_len) free(msg);
}

EXPORT("logger:log/log@1.0.0#count")
uint64_t logger_count(void) { return lines; }

// ------------------------------------------- wasi:http/incoming-handler

// Writes body[0, len) to the outgoing body and finishes it (no trailers);
// the body handle is consumed either way. Returns 0 on success.
static int finish_body(handle_t body, const char* text, size_t len) {
  result_handle_t stream;
  body_write(body, &stream);
  if (stream.is_err) abort();  // only fails when called twice: a bug here
  int failed = 0;
  // blocking-write-and-flush takes at most 4096 bytes a call.
  for (size_t off = 0; off < len && !failed;) {
    size_t n = len - off < 4096 ? len - off : 4096;
    result_stream_error_t w;
    stream_blocking_write_and_flush(stream.ok, (const uint8_t*)text + off, n, &w);
    if (w.is_err) {
      if (w.error.tag == 0) io_error_drop(w.error.error);  // ours: last-operation-failed's error
      failed = 1;
    }
    off += n;
  }
  stream_drop(stream.ok);  // the stream is a child of the body: dropped before finish
  result_error_code_t fin;
  body_finish(body, 0, 0, &fin);  // trailers: none
  // On failure the error-code's payload is not read; some cases carry strings
  // (allocated through cabi_realloc) that are then not freed: a few bytes, on
  // a path where the response is lost anyway.
  return failed || fin.is_err;
}

EXPORT("wasi:http/incoming-handler@0.2.12#handle")
void http_handle(handle_t request, handle_t response_out) {
  static const char* const kMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                         "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  // What was asked: the method and the path; the headers and any body
  // (POST, PUT) are not read, and dropping the request discards them.
  method_t method;
  request_method(request, &method);
  option_string_t path;
  request_path_with_query(request, &path);
  request_drop(request);
  const char* m = method.tag == 9 ? method.other : kMethods[method.tag];
  size_t m_len = method.tag == 9 ? method.other_len : strlen(m);
  const char* p = path.is_some ? path.ptr : "/";
  size_t p_len = path.is_some ? path.len : 1;

  // Log it: "[INFO] GET /path".
  size_t line_len;
  char* line = format(&line_len, "%.*s %.*s", (int)m_len, m, (int)p_len, p);
  uint64_t n = log_line("INFO", 4, line, line_len);

  // The body: "http-logger: GET /path (line N of this instance)\n".
  size_t text_len;
  char* text = format(&text_len, "http-logger: %.*s (line %llu of this instance)\n", (int)line_len,
                      line, (unsigned long long)n);
  free(line);
  if (method.tag == 9 && method.other_len) free(method.other);
  if (path.is_some && path.len) free(path.ptr);

  // The response: 200, content-type: text/plain. The constant header cannot
  // be refused (header-error is for invalid or forbidden names and immutable
  // fields), nor can status 200 or taking the body once: a failure there
  // would be a bug, so it traps.
  handle_t headers = fields_new();
  result_header_error_t appended;
  static const char kType[] = "text/plain";
  fields_append(headers, "content-type", 12, (const uint8_t*)kType, sizeof kType - 1, &appended);
  if (appended.is_err) abort();
  handle_t response = response_new(headers);  // takes the headers
  if (response_set_status_code(response, 200) != 0) abort();
  result_handle_t body;
  response_body(response, &body);
  if (body.is_err) abort();

  // The body is written and finished first, then the response is handed
  // over: response-outparam.set gets a complete response, which suits a host
  // that buffers bodies whole. (The body is short; a large one, streamed,
  // would rather be written after set, as the client reads it.)
  if (finish_body(body.ok, text, text_len) == 0) {
    outparam_set(response_out, 0, response, 0, 0, 0, 0, 0, 0);  // ok(response)
  } else {
    log_line("ERROR", 5, "writing the response body failed", 32);
    response_drop(response);
    // err(internal-error(none)): error-code case 38, its option<string>
    // payload none in the first payload slot.
    outparam_set(response_out, 1, 38, 0, 0, 0, 0, 0, 0);
  }
  free(text);
}
