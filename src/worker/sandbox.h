// The worker sandbox: what an `arcella-worker` process does to itself, early
// in main(), before it runs any guest (issue 9, docs/WORKER.md "Sandbox").
//
// EnterSandbox() turns the calling process into a hardened worker, in this
// order (each step is described where it is done, in sandbox.cc):
//   1. dies with its parent (PR_SET_PDEATHSIG SIGKILL; refuses to go on if the
//      parent is already gone; the signal follows the parent THREAD that
//      forked: spawn workers from a thread that lives as long as the
//      daemon), own process group, PR_SET_NO_NEW_PRIVS, not dumpable (no
//      core, no ptrace by same-uid processes);
//   2. closes every descriptor >= 3 it was not told to keep; rlimits (core 0,
//      open files, processes);
//   3. a new network namespace where the kernel allows it (directly as root,
//      through a new user namespace otherwise): only a loopback that is down;
//   4. when running as root and a uid is configured: setgroups({}),
//      setresgid, setresuid; then every capability is dropped (bounding,
//      ambient, effective, permitted, inheritable), whatever the uid;
//   5. Landlock (kernel 5.13+): files readable only beneath the given
//      directories, writable only beneath the read-write grants; no TCP
//      bind/connect (ABI 4+); no signals or abstract sockets outside the
//      worker (ABI 6+);
//   6. seccomp (last): an allowlist of the system calls a multi-threaded
//      worker running WebAssembly needs. A refused call fails with EPERM and
//      writes one line to stderr ("arcella-worker: seccomp refused syscall
//      59 (execve)"); the SIGSYS handler that does it cannot be replaced.
//
// What the kernel cannot do (no Landlock, no unprivileged user namespaces) is
// skipped and said in SandboxReport::notes; anything else that fails is an
// error and the caller must exit (the process may be half-sandboxed).
//
// Threads: EnterSandbox must be called while the process has exactly one
// thread (Landlock and the user namespace apply to the calling thread only;
// FailedPrecondition otherwise). Threads created afterwards inherit
// everything. It is not reentrant and is called at most once per process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace arcella::worker {

struct SandboxOptions {
  // Descriptors that stay open (the protocol socket, log pipes). 0, 1 and 2
  // always stay; every other descriptor not listed here or in the *_dir_fds
  // below is closed. The caller keeps ownership of the kept ones.
  std::vector<int> keep_fds;

  // Landlock grants. Paths are opened (O_PATH) by EnterSandbox; descriptors
  // (O_PATH or O_DIRECTORY, opened by the daemon) are used as they are and
  // stay open. A path that does not exist is an error (NotFound).
  //   read_exec: read files and list directories beneath (the AOT cache: its
  //     shared objects are mapped executable, which Landlock does not control
  //     beyond read access).
  //   rw: full file access beneath (create, write, truncate, remove, rename,
  //     link, symlink, mkdir); no device, FIFO or socket files.
  //   ro: read files and list directories beneath.
  std::vector<std::string> read_exec_dirs;
  std::vector<int> read_exec_dir_fds;
  std::vector<int> rw_dir_fds;
  std::vector<int> ro_dir_fds;
  // Also readable: the system library directories and /etc/ld.so.cache (a
  // late dlopen of a library that is not loaded yet), and the worker's own
  // /proc/self (pthread_getattr_np reads /proc/self/maps; dlopen of a sealed
  // memfd goes through /proc/self/fd/N). Nothing else of /proc.
  bool allow_system_libs = true;

  // unshare(CLONE_NEWNET); skipped with a note where the kernel refuses.
  bool new_netns = true;

  // Drop to these ids when running as root (euid 0). gid defaults to uid.
  // Not root: ignored (a note says so unless they are the current ids).
  // Root without a uid: stays uid 0, but without any capability.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;

  // The daemon's pid, as the worker was told (argv): the worker refuses to
  // start if its parent is already another process (the daemon died before
  // the parent-death signal was set). 0: the parent at entry, which must not
  // change during EnterSandbox (a daemon that died earlier goes unnoticed).
  // Not "refuse pid 1": the daemon may be pid 1 in a container.
  pid_t expected_parent = 0;

  // RLIMIT_NOFILE (soft and hard; never raised above the current hard
  // limit). RLIMIT_NPROC when non-zero: it counts the threads of every
  // process of the (real) uid, so keep it well above the worker's threads.
  uint64_t max_open_files = 1024;
  uint64_t max_processes = 0;

  bool landlock = true;
  bool seccomp = true;
};

// What was put in place. `notes` says what was skipped and why, one line per
// item, for the worker's log.
struct SandboxReport {
  bool landlock = false;
  int landlock_abi = 0;  // 0: the kernel has no Landlock
  bool netns = false;
  bool userns = false;  // the netns needed a new user namespace
  bool seccomp = false;
  bool uid_dropped = false;
  bool caps_dropped = false;
  int closed_fds = -1;  // descriptors closed; -1: closed by close_range (not counted)
  std::vector<std::string> notes;
};

// Hardens the calling process as described at the top of this file. Errors
// name the step, the system call and the errno text; after an error the
// process must not run guests (exit). See above for threads.
Result<SandboxReport> EnterSandbox(const SandboxOptions& options);

// One line per field, for logs and tests: "landlock abi 7, netns (userns), ...".
std::string DescribeSandbox(const SandboxReport& report);

// The system calls the seccomp filter allows (some only with conditions on
// their arguments: clone only for threads, kill/tgkill only to this process,
// ioctl/prctl only some requests, prlimit64 only reading, rt_sigaction not
// for SIGSYS). For docs and tests.
std::vector<std::string> SeccompAllowedSyscalls();

// The Landlock ABI version the kernel offers (0: none, or disabled). Does not
// change the process.
int LandlockAbiVersion();

}  // namespace arcella::worker
