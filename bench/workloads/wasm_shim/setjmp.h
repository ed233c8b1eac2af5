/* setjmp.h for wasm32-wasi builds of the benchmark workloads.
 *
 * wasi-libc has no setjmp/longjmp (core wasm cannot unwind without the
 * exception-handling proposal, which neither wasm2c 1.0.32 nor this toolchain
 * supports). Duktape uses them only to throw ECMAScript errors; the bench JS
 * workload never throws, so setjmp always "returns 0" and longjmp aborts the
 * guest loudly (it is never reached when the workload behaves).
 */
#ifndef ARCELLA_BENCH_SETJMP_SHIM_H
#define ARCELLA_BENCH_SETJMP_SHIM_H
typedef int jmp_buf[1];
void arcella_bench_longjmp(void) __attribute__((noreturn));
#define setjmp(jb) ((void)(jb), 0)
#define _setjmp(jb) ((void)(jb), 0)
#define longjmp(jb, v) ((void)(jb), (void)(v), arcella_bench_longjmp())
#define _longjmp(jb, v) longjmp(jb, v)
#endif
