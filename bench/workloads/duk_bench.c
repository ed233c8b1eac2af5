// Duktape (Debian's duktape-dev amalgamation, /usr/share/duktape/duktape.c)
// running a JavaScript workload: object churn, string building, sorting,
// JSON round trips, closures and numeric loops.
// Usage: duk_bench [ROUNDS]  (default 30). Checksum: the workload's result.
#include <stdio.h>
#include <stdlib.h>

#include "duktape.h"

#ifdef __wasi__
// See wasm_shim/setjmp.h: only reached if the script throws.
void arcella_bench_longjmp(void) {
  fputs("duk_bench: script threw (longjmp unsupported in wasm build)\n", stderr);
  abort();
}
#endif

static const char kScript[] =
    "function run(rounds) {\n"
    "  var acc = 0;\n"
    "  for (var r = 0; r < rounds; r++) {\n"
    "    // 1. objects and property access\n"
    "    var pts = [];\n"
    "    for (var i = 0; i < 2000; i++) pts.push({ x: (i * 7 + r) % 101, y: (i * 13) % 97, id: 'p' + i });\n"
    "    // 2. sort with a comparator closure\n"
    "    pts.sort(function (a, b) { return (a.x - b.x) || (a.y - b.y) || (a.id < b.id ? -1 : 1); });\n"
    "    for (var i = 0; i < pts.length; i += 97) acc = (acc * 31 + pts[i].x * 7 + pts[i].y) % 1000000007;\n"
    "    // 3. string building and scanning\n"
    "    var parts = [];\n"
    "    for (var i = 0; i < 1500; i++) parts.push(String.fromCharCode(97 + (i * r + i) % 26) + (i % 10));\n"
    "    var s = parts.join('');\n"
    "    for (var i = 0; i < s.length; i++) acc = (acc + s.charCodeAt(i) * (i & 15)) % 1000000007;\n"
    "    // 4. JSON round trip\n"
    "    var doc = { round: r, items: pts.slice(0, 300), tags: ['a', 'b', 'c'] };\n"
    "    var back = JSON.parse(JSON.stringify(doc));\n"
    "    acc = (acc + back.items.length + back.items[17].x + back.round) % 1000000007;\n"
    "    // 5. numeric loop with a recursive function\n"
    "    function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n"
    "    acc = (acc + fib(18)) % 1000000007;\n"
    "    // 6. a small sieve in an array\n"
    "    var sieve = [];\n"
    "    for (var i = 0; i < 20000; i++) sieve[i] = true;\n"
    "    var primes = 0;\n"
    "    for (var i = 2; i < 20000; i++) if (sieve[i]) { primes++; for (var j = i * i; j < 20000; j += i) sieve[j] = false; }\n"
    "    acc = (acc + primes) % 1000000007;\n"
    "  }\n"
    "  return acc;\n"
    "}\n";

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 30;
  duk_context* ctx = duk_create_heap_default();
  if (!ctx) return 1;
  duk_eval_string_noresult(ctx, kScript);
  duk_get_global_string(ctx, "run");
  duk_push_int(ctx, rounds);
  duk_call(ctx, 1);
  printf("checksum %.0f\n", (double)duk_get_number(ctx, -1));
  duk_pop(ctx);
  duk_destroy_heap(ctx);
  return 0;
}
