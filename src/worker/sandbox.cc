// The worker sandbox (sandbox.h; docs/WORKER.md "Sandbox").
//
// Everything here runs once, single-threaded, before the worker runs any
// guest; only the SIGSYS handler runs later, and it is async-signal-safe.
#include "worker/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

// Newer than some installed kernel headers (they come from the kernel the
// distribution ships, not the one that runs).
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "worker/sandbox.cc: the SIGSYS handler sets the return register: x86_64, aarch64 only"
#endif

namespace arcella::worker {
namespace {

std::string ErrnoText(int e) { return std::string(std::strerror(e)); }

Status SysError(const std::string& what, int e) {
  return Status::IoError("sandbox: " + what + ": " + ErrnoText(e));
}

// ---------------------------------------------------------------- process

// The worker's parent must still be `expected` (the daemon).
Status CheckParent(pid_t expected) {
  pid_t parent = getppid();
  if (parent != expected) {
    return Status::FailedPrecondition("sandbox: the parent is gone (parent pid " +
                                      std::to_string(parent) + ", expected " +
                                      std::to_string(expected) + "): not starting");
  }
  return Status::Ok();
}

Status DieWithParent(pid_t expected) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    return SysError("prctl(PR_SET_PDEATHSIG, SIGKILL)", errno);
  // The parent may have died before prctl: then no signal ever comes.
  return CheckParent(expected);
}

// Threads in this process, from /proc/self/task; -1 if /proc is not there.
int CountThreads() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

// ---------------------------------------------------------------- descriptors

// Closes every descriptor >= 3 not in `keep` (sorted, unique). Returns how
// many were closed, or -1 if /proc/self/fd could not be listed (then
// close_range did it without counting).
Result<int> CloseOtherFds(const std::vector<int>& keep) {
  auto kept = [&](int fd) { return std::binary_search(keep.begin(), keep.end(), fd); };
  int closed = -1;
  if (DIR* dir = opendir("/proc/self/fd")) {
    std::vector<int> open_fds;
    int self = dirfd(dir);
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      int fd = std::atoi(e->d_name);  // NOLINT(cert-err34-c): digits only, checked above
      if (fd >= 3 && fd != self && !kept(fd)) open_fds.push_back(fd);
    }
    closedir(dir);
    for (int fd : open_fds) close(fd);
    closed = static_cast<int>(open_fds.size());
  }
  // Whatever the listing missed (or all of it without /proc): close_range
  // over the gaps between kept descriptors (Linux 5.9+).
  unsigned lo = 3;
  std::vector<unsigned> bounds;
  for (int k : keep)
    if (k >= 3) bounds.push_back(static_cast<unsigned>(k));
  bounds.push_back(~0U);
  for (unsigned k : bounds) {
    if (k > lo) {
      if (syscall(SYS_close_range, lo, k == ~0U ? ~0U : k - 1, 0U) != 0) {
        int e = errno;
        if (e != ENOSYS) return SysError("close_range(" + std::to_string(lo) + ")", e);
        if (closed < 0) {
          // Neither /proc nor close_range: up to the open-files limit.
          rlimit rl{};
          getrlimit(RLIMIT_NOFILE, &rl);
          unsigned top = rl.rlim_cur == RLIM_INFINITY ? 65536U : static_cast<unsigned>(rl.rlim_cur);
          for (unsigned fd = lo; fd < std::min(k, top); ++fd) close(static_cast<int>(fd));
        }
      }
    }
    if (k == ~0U) break;
    lo = k + 1;
  }
  return closed;
}

// ---------------------------------------------------------------- rlimits

Status SetLimit(int resource, const char* name, uint64_t want, SandboxReport& report) {
  rlimit rl{};
  if (getrlimit(resource, &rl) != 0) return SysError(std::string("getrlimit(") + name + ")", errno);
  rlim_t v = static_cast<rlim_t>(want);
  if (rl.rlim_max != RLIM_INFINITY && v > rl.rlim_max) {
    report.notes.push_back(std::string(name) + " stays at the hard limit " +
                           std::to_string(rl.rlim_max) + " (asked " + std::to_string(want) + ")");
    v = rl.rlim_max;
  }
  rl.rlim_cur = rl.rlim_max = v;
  if (setrlimit(resource, &rl) != 0)
    return SysError(std::string("setrlimit(") + name + ", " + std::to_string(v) + ")", errno);
  return Status::Ok();
}

// ---------------------------------------------------------------- namespaces

Status WriteProcFile(const char* path, const std::string& text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return SysError(std::string("open ") + path, errno);
  ssize_t n = write(fd, text.data(), text.size());
  int e = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) return SysError(std::string("write ") + path, e);
  return Status::Ok();
}

// A new network namespace owned by a new user namespace that maps the
// current ids to themselves (for a process without CAP_SYS_ADMIN).
Status NetnsThroughUserns(SandboxReport& report) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
    return SysError("unshare(CLONE_NEWUSER|CLONE_NEWNET)", errno);
  report.netns = report.userns = true;
  // Without maps the ids read as the overflow id (65534) inside; files are
  // still accessed with the real ones. The maps make getuid() truthful.
  // /proc/self/*_map belong to root while the process is not dumpable (as
  // after a uid change): dumpable for the writes (made 0 again later).
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  Status st = WriteProcFile("/proc/self/setgroups", "deny");
  if (st.ok())
    st = WriteProcFile("/proc/self/uid_map",
                       std::to_string(uid) + " " + std::to_string(uid) + " 1");
  if (st.ok())
    st = WriteProcFile("/proc/self/gid_map",
                       std::to_string(gid) + " " + std::to_string(gid) + " 1");
  if (!st.ok()) report.notes.push_back("user namespace without id maps: " + st.message());
  return Status::Ok();
}

// ---------------------------------------------------------------- credentials

Status DropUid(uid_t uid, gid_t gid) {
  if (setgroups(0, nullptr) != 0) return SysError("setgroups({})", errno);
  if (setresgid(gid, gid, gid) != 0)
    return SysError("setresgid(" + std::to_string(gid) + ")", errno);
  if (setresuid(uid, uid, uid) != 0)
    return SysError("setresuid(" + std::to_string(uid) + ")", errno);
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid ||
      getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid) {
    return Status::Internal("sandbox: the uid/gid did not change to " + std::to_string(uid) + "/" +
                            std::to_string(gid));
  }
  if (uid != 0 && setuid(0) == 0) return Status::Internal("sandbox: uid 0 could be regained");
  return Status::Ok();
}

// Drops every capability: ambient, bounding (while CAP_SETPCAP is still
// held), then effective/permitted/inheritable.
Status DropCapabilities() {
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);  // EINVAL before 4.3: none to clear
  for (int cap = 0; cap <= 63; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      if (errno == EPERM) break;   // no CAP_SETPCAP: nothing to drop from anyway
      return SysError("prctl(PR_CAPBSET_DROP, " + std::to_string(cap) + ")", errno);
    }
  }
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &header, data) != 0) return SysError("capset(none)", errno);
  return Status::Ok();
}

// ---------------------------------------------------------------- Landlock

constexpr uint64_t kFsRead = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr uint64_t kFsReadExec = kFsRead | LANDLOCK_ACCESS_FS_EXECUTE;
constexpr uint64_t kFsReadWrite = kFsRead | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                  LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                                  LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                                  LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER |
                                  LANDLOCK_ACCESS_FS_TRUNCATE;
// Rights that apply to a file (the others only to directories).
constexpr uint64_t kFsFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                   LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                   LANDLOCK_ACCESS_FS_IOCTL_DEV;

// Every filesystem right the ABI knows: all of them are handled (denied
// unless a rule grants them).
uint64_t HandledFsRights(int abi) {
  if (abi <= 1) return (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // EXECUTE..MAKE_SYM
  if (abi == 2) return (LANDLOCK_ACCESS_FS_REFER << 1) - 1;     // + REFER
  if (abi <= 4) return (LANDLOCK_ACCESS_FS_TRUNCATE << 1) - 1;  // + TRUNCATE (3)
  return (LANDLOCK_ACCESS_FS_IOCTL_DEV << 1) - 1;               // + IOCTL_DEV (5)
}

// The kernel's struct landlock_ruleset_attr as of ABI 6; its size tells the
// kernel which fields are there.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

class Ruleset {
 public:
  Ruleset() = default;
  Ruleset(const Ruleset&) = delete;
  Ruleset& operator=(const Ruleset&) = delete;
  ~Ruleset() {
    if (fd_ >= 0) close(fd_);
    for (int fd : opened_) close(fd);
  }

  Status Create(int abi) {
    handled_ = HandledFsRights(abi);
    RulesetAttr attr{};
    attr.handled_access_fs = handled_;
    size_t size = sizeof(uint64_t);
    if (abi >= 4) {
      attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
      size = 2 * sizeof(uint64_t);
    }
    if (abi >= 6) {
      attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
      size = 3 * sizeof(uint64_t);
    }
    long fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0U);
    if (fd < 0) return SysError("landlock_create_ruleset(abi " + std::to_string(abi) + ")", errno);
    fd_ = static_cast<int>(fd);
    return Status::Ok();
  }

  // Grants `access` beneath the file or directory `fd` (kept open by the caller).
  Status AddFd(int fd, uint64_t access, const std::string& what) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return SysError("landlock: fstat " + what, errno);
    if (!S_ISDIR(st.st_mode)) access &= kFsFileRights;
    landlock_path_beneath_attr rule{};
    rule.allowed_access = access & handled_;
    rule.parent_fd = fd;
    if (rule.allowed_access == 0) return Status::Ok();
    if (syscall(SYS_landlock_add_rule, fd_, LANDLOCK_RULE_PATH_BENEATH, &rule, 0U) != 0)
      return SysError("landlock_add_rule(" + what + ")", errno);
    return Status::Ok();
  }

  // Opens `path` (O_PATH, following symlinks) and grants `access` beneath it.
  // A missing path is NotFound, or skipped if `optional`.
  Status AddPath(const std::string& path, uint64_t access, bool optional) {
    int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (optional && (e == ENOENT || e == ENOTDIR || e == EACCES)) return Status::Ok();
      if (e == ENOENT) return Status::NotFound("sandbox: landlock: " + path + ": " + ErrnoText(e));
      return SysError("landlock: open " + path, e);
    }
    opened_.push_back(fd);
    return AddFd(fd, access, path);
  }

  Status RestrictSelf() {
    if (syscall(SYS_landlock_restrict_self, fd_, 0U) != 0)
      return SysError("landlock_restrict_self", errno);
    return Status::Ok();
  }

 private:
  int fd_ = -1;
  uint64_t handled_ = 0;
  std::vector<int> opened_;  // O_PATH descriptors of path rules
};

// ---------------------------------------------------------------- seccomp

constexpr int kMaxSyscall = 512;
// Names of the syscalls by number, resolved before the filter is loaded (the
// SIGSYS handler may not allocate). Leaked on purpose: process lifetime.
const char* g_syscall_names[kMaxSyscall];
constexpr int kSiSysSeccomp = 1;  // si_code of a SIGSYS raised by SECCOMP_RET_TRAP

char* AppendStr(char* p, char* end, const char* s) {
  while (*s != '\0' && p < end) *p++ = *s++;
  return p;
}

char* AppendInt(char* p, char* end, long v) {
  char digits[24];
  int n = 0;
  bool neg = v < 0;
  unsigned long u = neg ? 0UL - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0 && n < 23);
  if (neg && p < end) *p++ = '-';
  while (n > 0 && p < end) *p++ = digits[--n];
  return p;
}

// SIGSYS from SECCOMP_RET_TRAP: one line to stderr, then the refused call
// returns -EPERM. Async-signal-safe: no allocation, no locks, errno kept.
extern "C" void ArcellaSandboxOnSigsys(int sig, siginfo_t* info, void* context) {
  (void)sig;
  if (info == nullptr || info->si_code != kSiSysSeccomp || context == nullptr) return;
  int saved_errno = errno;
  int nr = info->si_syscall;
  char line[160];
  char* end = line + sizeof line - 1;
  char* p = AppendStr(line, end, "arcella-worker: seccomp refused syscall ");
  p = AppendInt(p, end, nr);
  if (nr >= 0 && nr < kMaxSyscall && g_syscall_names[nr] != nullptr) {
    p = AppendStr(p, end, " (");
    p = AppendStr(p, end, g_syscall_names[nr]);
    p = AppendStr(p, end, ")");
  }
  *p++ = '\n';
  ssize_t ignored = write(STDERR_FILENO, line, static_cast<size_t>(p - line));
  (void)ignored;
  auto* uc = static_cast<ucontext_t*>(context);
#if defined(__x86_64__)
  uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#elif defined(__aarch64__)
  uc->uc_mcontext.regs[0] = static_cast<uint64_t>(-EPERM);
#endif
  errno = saved_errno;
}

// Allowed without conditions. Per area; see docs/WORKER.md "Sandbox".
// clang-format off
const char* const kAllowed[] = {
    // memory
    "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "msync", "mincore", "membarrier",
    "memfd_create",  // the AOT loader seals verified code in a memfd; memory images
    // threads (clone: conditional, below)
    "futex", "futex_waitv", "set_robust_list", "rseq", "set_tid_address", "gettid", "sched_yield",
    "sched_getaffinity", "sched_getparam", "sched_getscheduler", "exit", "exit_group",
    "restart_syscall", "getpriority", "setpriority",  // raising nice needs no capability
    // signals (kill, tgkill, rt_sigaction, rt_*sigqueueinfo: conditional, below)
    "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigpending",
    "sigaltstack",
    // time
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
    // randomness
    "getrandom",
    // I/O on descriptors
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "lseek", "close", "close_range", "dup", "dup3", "pipe2", "ppoll",
    "pselect6", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "eventfd2",
    "timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd4", "sendfile",
    "copy_file_range", "flock", "fadvise64",
    // sockets that exist already (creating one is refused)
    "recvmsg", "sendmsg", "recvfrom", "sendto", "recvmmsg", "sendmmsg", "shutdown",
    "getsockopt", "setsockopt", "getsockname", "getpeername",
    // files (Landlock decides where)
    "openat", "openat2", "newfstatat", "fstat", "statx", "getdents64", "readlinkat", "mkdirat",
    "unlinkat", "renameat", "renameat2", "linkat", "symlinkat", "ftruncate", "fallocate",
    "fsync", "fdatasync", "utimensat", "faccessat", "faccessat2", "fstatfs", "getcwd", "umask",
    // process information
    "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
    "getgroups", "getpgrp", "getpgid", "getsid", "uname", "getrusage", "sysinfo", "times",
    "capget", "getcpu",
#if defined(__x86_64__)
    // x86_64's older forms of the calls above (glibc and libstdc++ still use some)
    "open", "stat", "lstat", "access", "readlink", "mkdir", "rmdir", "unlink", "rename", "poll",
    "select", "pipe", "dup2", "pause", "epoll_create", "epoll_wait", "eventfd", "getrlimit",
    "time", "arch_prctl",
#endif
};
// clang-format on

// Names of every allowed syscall, conditional ones included (for the docs
// and the tests).
const char* const kConditional[] = {
    "fcntl",        "clone", "clone3", "kill",     "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    "rt_sigaction", "ioctl", "prctl",  "prlimit64"};

// One argument comparison (libseccomp's SCMP_A* macros are C compound literals).
scmp_arg_cmp Arg(unsigned arg, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  scmp_arg_cmp c{};
  c.arg = arg;
  c.op = op;
  c.datum_a = a;
  c.datum_b = b;
  return c;
}

Status RuleError(const char* name, int rc) {
  return Status::Internal(std::string("sandbox: seccomp_rule_add(") + name +
                          "): " + ErrnoText(-rc));
}

Status AddRule(scmp_filter_ctx ctx, uint32_t action, const char* name, unsigned count,
               const scmp_arg_cmp* cmps) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return Status::Ok();  // unknown to this libseccomp: stays refused
  int rc = seccomp_rule_add_array(ctx, action, nr, count, cmps);
  if (rc != 0) return RuleError(name, rc);
  return Status::Ok();
}

Status AddAllow(scmp_filter_ctx ctx, const char* name, std::initializer_list<scmp_arg_cmp> cmps) {
  return AddRule(ctx, SCMP_ACT_ALLOW, name, static_cast<unsigned>(cmps.size()), cmps.begin());
}

Status BuildFilter(scmp_filter_ctx ctx) {
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc != 0)
    return Status::Internal("sandbox: seccomp_attr_set(ACT_BADARCH): " + ErrnoText(-rc));
  for (const char* name : kAllowed) ARCELLA_RETURN_IF_ERROR(AddAllow(ctx, name, {}));

  // Threads only: CLONE_THREAD set and no namespace flag. fork(), vfork()
  // and posix_spawn (clone without CLONE_THREAD) are refused.
  constexpr uint64_t kNsFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
  ARCELLA_RETURN_IF_ERROR(
      AddAllow(ctx, "clone", {Arg(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD | kNsFlags, CLONE_THREAD)}));
  // vfork-style clones (posix_spawn, system, popen) run with every signal
  // blocked: SIGSYS could not be handled and would kill the process, so
  // they fail with a plain EPERM (not logged).
  ARCELLA_RETURN_IF_ERROR(AddRule(
      ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1,
      std::array{Arg(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_VFORK, CLONE_VFORK)}.data()));
  // clone3 passes its flags in memory, which seccomp cannot read: ENOSYS
  // makes glibc fall back to clone (pthread_create), quietly.
  ARCELLA_RETURN_IF_ERROR(AddRule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, nullptr));

  // Signals to this process only (raise, abort, pthread_kill).
  const auto pid = static_cast<scmp_datum_t>(getpid());
  ARCELLA_RETURN_IF_ERROR(AddAllow(ctx, "kill", {Arg(0, SCMP_CMP_EQ, pid)}));
  ARCELLA_RETURN_IF_ERROR(AddAllow(ctx, "tgkill", {Arg(0, SCMP_CMP_EQ, pid)}));
  ARCELLA_RETURN_IF_ERROR(AddAllow(ctx, "rt_sigqueueinfo", {Arg(0, SCMP_CMP_EQ, pid)}));
  ARCELLA_RETURN_IF_ERROR(AddAllow(ctx, "rt_tgsigqueueinfo", {Arg(0, SCMP_CMP_EQ, pid)}));
  // Any handler but SIGSYS's: ours stays (a refused call is logged).
  ARCELLA_RETURN_IF_ERROR(AddAllow(ctx, "rt_sigaction", {Arg(0, SCMP_CMP_NE, SIGSYS)}));

  for (unsigned long request : {FIONREAD, TCGETS, TIOCGWINSZ, FIONBIO, FIOCLEX, FIONCLEX}) {
    ARCELLA_RETURN_IF_ERROR(
        AddAllow(ctx, "ioctl", {Arg(1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(request))}));
  }
  for (int option : {PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS,
                     PR_GET_PDEATHSIG, PR_GET_SECCOMP}) {
    ARCELLA_RETURN_IF_ERROR(
        AddAllow(ctx, "prctl", {Arg(0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(option))}));
  }
  // fcntl: not F_SETOWN/F_SETOWN_EX/F_SETSIG (SIGIO to another process of
  // the same uid; Landlock ABI 6 scoping stops it too, older kernels don't).
  for (int cmd : {F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK,
                  F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_ADD_SEALS, F_GET_SEALS,
                  F_GETPIPE_SZ, F_SETPIPE_SZ, F_GETLEASE, F_SETLEASE, F_GETOWN}) {
    ARCELLA_RETURN_IF_ERROR(
        AddAllow(ctx, "fcntl", {Arg(1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(cmd))}));
  }
  // Reading limits (glibc's getrlimit, pthread_getattr_np), never setting.
  ARCELLA_RETURN_IF_ERROR(
      AddAllow(ctx, "prlimit64", {Arg(0, SCMP_CMP_EQ, 0), Arg(2, SCMP_CMP_EQ, 0)}));
  ARCELLA_RETURN_IF_ERROR(
      AddAllow(ctx, "prlimit64", {Arg(0, SCMP_CMP_EQ, pid), Arg(2, SCMP_CMP_EQ, 0)}));
  return Status::Ok();
}

Status InstallSigsysHandler() {
  for (int nr = 0; nr < kMaxSyscall; ++nr) {
    if (g_syscall_names[nr] == nullptr)
      g_syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  }
  struct sigaction sa {};
  sa.sa_sigaction = ArcellaSandboxOnSigsys;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) != 0) return SysError("sigaction(SIGSYS)", errno);
  // Blocked, a refused call would kill the process instead (the kernel
  // forces the signal): unblocked here, inherited by every thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGSYS);
  if (sigprocmask(SIG_UNBLOCK, &set, nullptr) != 0) return SysError("sigprocmask(SIGSYS)", errno);
  return Status::Ok();
}

Status LoadSeccomp() {
  ARCELLA_RETURN_IF_ERROR(InstallSigsysHandler());
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (ctx == nullptr) return Status::Internal("sandbox: seccomp_init failed");
  Status st = BuildFilter(ctx);
  if (st.ok()) {
    if (int rc = seccomp_load(ctx); rc != 0) st = SysError("seccomp_load", -rc);
  }
  seccomp_release(ctx);
  return st;
}

}  // namespace

int LandlockAbiVersion() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

Result<SandboxReport> EnterSandbox(const SandboxOptions& options) {
  SandboxReport report;
  const bool was_root = geteuid() == 0;

  // Landlock and the user namespace apply to the calling thread only.
  int threads = CountThreads();
  if (threads > 1) {
    return Status::FailedPrecondition("sandbox: the process has " + std::to_string(threads) +
                                      " threads; EnterSandbox must run before any is started");
  }
  if (threads < 0) report.notes.push_back("threads not counted: /proc/self/task unreadable");

  // 1. Dies with its parent, own process group, no new privileges.
  // Without the daemon's pid, the parent at entry (a parent that died
  // before this is not caught; one that dies during it is).
  const pid_t parent = options.expected_parent != 0 ? options.expected_parent : getppid();
  ARCELLA_RETURN_IF_ERROR(DieWithParent(parent));
  if (setpgid(0, 0) != 0) {
    int e = errno;
    if (e != EPERM || getsid(0) != getpid()) return SysError("setpgid(0, 0)", e);
    report.notes.push_back("own process group: already a session leader");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return SysError("prctl(PR_SET_NO_NEW_PRIVS)", errno);

  // 2. Descriptors, then limits (the open-files limit may be below a kept fd).
  std::vector<int> keep = options.keep_fds;
  for (const auto* fds : {&options.read_exec_dir_fds, &options.rw_dir_fds, &options.ro_dir_fds})
    keep.insert(keep.end(), fds->begin(), fds->end());
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  for (int fd : keep) {
    if (fd < 0 || fcntl(fd, F_GETFD) < 0)
      return Status::InvalidArgument("sandbox: descriptor " + std::to_string(fd) +
                                     " to keep is not open");
  }
  ARCELLA_ASSIGN_OR_RETURN(report.closed_fds, CloseOtherFds(keep));
  ARCELLA_RETURN_IF_ERROR(SetLimit(RLIMIT_CORE, "RLIMIT_CORE", 0, report));
  if (options.max_open_files > 0)
    ARCELLA_RETURN_IF_ERROR(
        SetLimit(RLIMIT_NOFILE, "RLIMIT_NOFILE", options.max_open_files, report));
  if (options.max_processes > 0)
    ARCELLA_RETURN_IF_ERROR(SetLimit(RLIMIT_NPROC, "RLIMIT_NPROC", options.max_processes, report));

  // The Landlock rules are built now, while paths can still be opened with
  // the original ids; the ruleset is enforced after the ids are dropped.
  Ruleset ruleset;
  bool use_landlock = false;
  if (!options.landlock) {
    report.notes.push_back("landlock: off by configuration");
  } else if (int abi = LandlockAbiVersion(); abi <= 0) {
    long rc = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    report.notes.push_back("landlock: not offered by the kernel (landlock_create_ruleset: " +
                           (rc < 0 ? ErrnoText(errno) : std::string("?")) +
                           "); paths are confined by the granted descriptors only");
  } else {
    report.landlock_abi = abi;
    use_landlock = true;
    ARCELLA_RETURN_IF_ERROR(ruleset.Create(abi));
    for (const std::string& dir : options.read_exec_dirs)
      ARCELLA_RETURN_IF_ERROR(ruleset.AddPath(dir, kFsReadExec, false));
    for (int fd : options.read_exec_dir_fds)
      ARCELLA_RETURN_IF_ERROR(ruleset.AddFd(fd, kFsReadExec, "fd " + std::to_string(fd)));
    for (int fd : options.rw_dir_fds)
      ARCELLA_RETURN_IF_ERROR(ruleset.AddFd(fd, kFsReadWrite, "fd " + std::to_string(fd)));
    for (int fd : options.ro_dir_fds)
      ARCELLA_RETURN_IF_ERROR(ruleset.AddFd(fd, kFsRead, "fd " + std::to_string(fd)));
    if (options.allow_system_libs) {
      for (const char* dir : {"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib",
                              "/etc/ld.so.cache", "/etc/localtime", "/dev/urandom"})
        ARCELLA_RETURN_IF_ERROR(ruleset.AddPath(dir, kFsRead, true));
      ARCELLA_RETURN_IF_ERROR(
          ruleset.AddPath("/dev/null", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE,
                          true));
      // This process's own /proc/<pid> (the link /proc/self is resolved now).
      ARCELLA_RETURN_IF_ERROR(ruleset.AddPath("/proc/self", kFsRead, true));
    }
  }

  // 3. Network namespace, directly when privileged.
  bool want_netns = options.new_netns;
  std::string netns_error;
  if (want_netns) {
    if (unshare(CLONE_NEWNET) == 0) {
      report.netns = true;
    } else {
      netns_error = "unshare(CLONE_NEWNET): " + ErrnoText(errno);
    }
  } else {
    report.notes.push_back("network namespace: off by configuration");
  }

  // 4. Ids: root drops to the configured ones.
  if (options.uid.has_value()) {
    uid_t uid = *options.uid;
    gid_t gid = options.gid.value_or(static_cast<gid_t>(uid));
    if (was_root) {
      ARCELLA_RETURN_IF_ERROR(DropUid(uid, gid));
      report.uid_dropped = uid != 0;
    } else if (uid != getuid() || gid != getgid()) {
      report.notes.push_back("uid " + std::to_string(uid) + "/gid " + std::to_string(gid) +
                             " not applied: not running as root (uid " + std::to_string(getuid()) +
                             ")");
    }
  } else if (was_root) {
    report.notes.push_back("running as uid 0 (no uid configured), without capabilities");
  }

  // 3b. Unprivileged (or dropped): the network namespace through a user namespace.
  if (want_netns && !report.netns) {
    Status st = NetnsThroughUserns(report);
    if (!st.ok()) {
      report.notes.push_back("network namespace: not available (" + netns_error + "; " +
                             st.message().substr(std::strlen("sandbox: ")) + ")");
    }
  }

  // Credential changes reset the parent-death signal and dumpability: set
  // both (again) now that the ids are final.
  ARCELLA_RETURN_IF_ERROR(DieWithParent(parent));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return SysError("prctl(PR_SET_DUMPABLE, 0)", errno);

  // 4b. No capabilities, whatever the uid (a user namespace grants them all).
  ARCELLA_RETURN_IF_ERROR(DropCapabilities());
  report.caps_dropped = true;

  // 5. Landlock.
  if (use_landlock) {
    ARCELLA_RETURN_IF_ERROR(ruleset.RestrictSelf());
    report.landlock = true;
  }

  // 6. Seccomp, last: it refuses what the steps above needed.
  if (options.seccomp) {
    ARCELLA_RETURN_IF_ERROR(LoadSeccomp());
    report.seccomp = true;
  } else {
    report.notes.push_back("seccomp: off by configuration");
  }
  return report;
}

std::string DescribeSandbox(const SandboxReport& report) {
  std::string s;
  s += report.landlock ? "landlock abi " + std::to_string(report.landlock_abi)
                       : std::string("no landlock");
  s += report.netns ? (report.userns ? ", netns (via a user namespace)" : ", netns") : ", no netns";
  s += report.seccomp ? ", seccomp" : ", no seccomp";
  s += report.uid_dropped ? ", uid dropped" : "";
  s += report.caps_dropped ? ", no capabilities" : "";
  if (report.closed_fds >= 0) s += ", " + std::to_string(report.closed_fds) + " fds closed";
  for (const std::string& note : report.notes) s += "; " + note;
  return s;
}

std::vector<std::string> SeccompAllowedSyscalls() {
  std::vector<std::string> names(std::begin(kAllowed), std::end(kAllowed));
  names.insert(names.end(), std::begin(kConditional), std::end(kConditional));
  return names;
}

}  // namespace arcella::worker
