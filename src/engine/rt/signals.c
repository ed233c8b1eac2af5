/* The runtime's fault handler and per-thread signal stacks.
 *
 * One SIGSEGV/SIGBUS handler, installed once, claims a fault only if the
 * faulting thread is running guest code and the address is inside a
 * registered memory reservation (-> out-of-bounds trap) or inside this
 * thread's stack guard zone (-> stack exhausted). Anything else is passed to
 * the handler that was installed before ours.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "arcella_rt.h"

#define ALT_STACK_SIZE (64 * 1024)
#define GUARD_ZONE (1024 * 1024) /* below the stack's low end */

static struct sigaction prev_segv, prev_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;

static WASM_RT_TLS int thread_ready;
static WASM_RT_TLS uintptr_t stack_lo, stack_hi;
static WASM_RT_TLS void* alt_stack;

static void chain(int sig, siginfo_t* info, void* uctx) {
  struct sigaction* prev = sig == SIGBUS ? &prev_bus : &prev_segv;
  if (prev->sa_flags & SA_SIGINFO) {
    prev->sa_sigaction(sig, info, uctx);
    return;
  }
  if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN) {
    /* Restore the default and return: the fault repeats and is fatal. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    return;
  }
  prev->sa_handler(sig);
}

static void on_fault(int sig, siginfo_t* info, void* uctx) {
  if (arcella_rt_in_wasm && arcella_rt_unwind_target != NULL) {
    uintptr_t addr = (uintptr_t)info->si_addr;
    uintptr_t pc = 0;
#if defined(__x86_64__)
    pc = (uintptr_t)((ucontext_t*)uctx)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    pc = (uintptr_t)((ucontext_t*)uctx)->uc_mcontext.pc;
#endif
    if (arcella_rt_addr_in_memory(addr)) arcella_rt_unwind(WASM_RT_TRAP_OOB, pc);
    if (stack_lo != 0 && addr < stack_lo + 4096 && addr + GUARD_ZONE >= stack_lo)
      arcella_rt_unwind(WASM_RT_TRAP_EXHAUSTION, pc);
  }
  chain(sig, info, uctx);
}

static void thread_cleanup(void* arg) {
  (void)arg;
  stack_t ss;
  memset(&ss, 0, sizeof ss);
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, NULL);
  if (alt_stack != NULL) munmap(alt_stack, ALT_STACK_SIZE);
  alt_stack = NULL;
}

static void install(void) {
  pthread_key_create(&thread_key, thread_cleanup);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &prev_segv) != 0 || sigaction(SIGBUS, &sa, &prev_bus) != 0) {
    fprintf(stderr, "arcella: cannot install the wasm fault handler\n");
    abort();
  }
}

void arcella_rt_thread_setup(void) {
  if (LIKELY(thread_ready)) return;
  pthread_once(&install_once, install);
  /* Stack bounds, for telling stack overflow from other faults. */
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr;
    size_t size;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      stack_lo = (uintptr_t)addr;
      stack_hi = stack_lo + size;
    }
    pthread_attr_destroy(&attr);
  }
  /* A signal stack, unless the thread has one already. */
  stack_t cur;
  if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE)) {
    void* p = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                   0);
    if (p != MAP_FAILED) {
      stack_t ss;
      memset(&ss, 0, sizeof ss);
      ss.ss_sp = p;
      ss.ss_size = ALT_STACK_SIZE;
      if (sigaltstack(&ss, NULL) == 0) {
        alt_stack = p;
        pthread_setspecific(thread_key, p); /* non-NULL: destructor runs at exit */
      } else {
        munmap(p, ALT_STACK_SIZE);
      }
    }
  }
  thread_ready = 1;
}
