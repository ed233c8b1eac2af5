// The worker sandbox with real processes: each test forks a child that
// enters the sandbox and then tries things; the child reports failures on a
// pipe it keeps open, and its stderr (the SIGSYS log lines) on another.
// What the kernel does not offer (Landlock, namespaces, root for the uid
// drop) is skipped with the reason, never failed.
#include "worker/sandbox.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "test_util.h"

extern char** environ;

namespace arcella::worker::sandbox_test {
namespace {

// What the child body uses to report.
class Probe {
 public:
  explicit Probe(int fd) : fd_(fd) {}
  void Say(const std::string& line) {
    std::string s = line + "\n";
    ssize_t n = write(fd_, s.data(), s.size());
    (void)n;
  }
  // Records a failure unless `ok`; `what` names the check (errno text appended).
  void Expect(bool ok, const std::string& what) {
    if (ok) return;
    int e = errno;
    ++failures_;
    Say("FAIL: " + what + " (errno " + std::to_string(e) + ": " + std::strerror(e) + ")");
  }
  // A call that must fail with `want_errno`.
  void ExpectErrno(long rc, int want_errno, const std::string& what) {
    int e = errno;
    if (rc == -1 && e == want_errno) return;
    ++failures_;
    Say("FAIL: " + what + " returned " + std::to_string(rc) + " errno " + std::to_string(e) + " (" +
        std::strerror(e) + "), wanted " + std::strerror(want_errno));
  }
  int failures() const { return failures_; }
  const SandboxReport& report() const { return report_; }
  void set_report(SandboxReport r) { report_ = std::move(r); }

 private:
  int fd_;
  int failures_ = 0;
  SandboxReport report_;
};

struct ChildResult {
  int status = -1;  // from waitpid
  std::string out;  // REPORT / FAIL / SKIP / INFO lines
  std::string err;  // the child's stderr
  bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  bool Has(const std::string& s) const { return out.find(s) != std::string::npos; }
  std::string Describe() const {
    std::ostringstream os;
    if (WIFEXITED(status)) os << "exit " << WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) os << "signal " << WTERMSIG(status);
    os << "\n--- child out:\n" << out << "--- child stderr:\n" << err;
    return os.str();
  }
};

// Forks; the child runs `before` (unsandboxed), enters the sandbox with
// `options` (plus its report pipe kept) and runs `body`. Exit 0 iff no check
// failed; 100 if EnterSandbox failed (the error is in `out`).
ChildResult RunSandboxed(SandboxOptions options, const std::function<void(Probe&)>& body,
                         const std::function<void()>& before = {}) {
  ChildResult result;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return result;
  }
  options.expected_parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    close(out[0]);
    close(err[0]);
    dup2(err[1], STDERR_FILENO);
    close(err[1]);
    options.keep_fds.push_back(out[1]);
    Probe probe(out[1]);
    if (before) before();
    Result<SandboxReport> r = EnterSandbox(options);
    if (!r.ok()) {
      probe.Say("ENTER-ERROR: " + r.status().ToString());
      _exit(100);
    }
    probe.Say("REPORT: " + DescribeSandbox(*r));
    probe.set_report(*r);
    body(probe);
    _exit(probe.failures() == 0 ? 0 : 1);
  }
  close(out[1]);
  close(err[1]);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int open_pipes = 2;
  while (open_pipes > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 100) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  if (open_pipes > 0) {
    ADD_FAILURE() << "the sandboxed child did not finish in 30 s";
    kill(pid, SIGKILL);
    for (auto& f : fds)
      if (f.fd >= 0) close(f.fd);
  }
  waitpid(pid, &result.status, 0);
  return result;
}

// Fails the test unless the child passed; prints its report line.
void ExpectPassed(const ChildResult& r) { EXPECT_TRUE(r.exited_ok()) << r.Describe(); }

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "CapEff:\t0000000000000000" -> true if every bit is clear.
bool NoEffectiveCaps(Probe& p) {
  std::string status = Slurp("/proc/self/status");
  size_t at = status.find("CapEff:");
  p.Expect(at != std::string::npos, "CapEff in /proc/self/status");
  if (at == std::string::npos) return false;
  std::string v = status.substr(at + 7, status.find('\n', at) - at - 7);
  return v.find_first_not_of("\t 0") == std::string::npos;
}

std::string ReportLine(const ChildResult& r) {
  size_t at = r.out.find("REPORT: ");
  if (at == std::string::npos) return "";
  return r.out.substr(at + 8, r.out.find('\n', at) - at - 8);
}

// ---------------------------------------------------------------- tests

TEST(SandboxTest, ReportsWhatTheKernelOffers) {
  SandboxOptions options;
  options.max_processes = 100000;
  ChildResult r = RunSandboxed(options, [](Probe& p) {
    p.Expect(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "PR_GET_NO_NEW_PRIVS is 1");
    p.Expect(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "PR_GET_DUMPABLE is 0");
    p.Expect(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2, "in seccomp filter mode");
    int sig = 0;
    p.Expect(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0 && sig == SIGKILL, "PDEATHSIG is SIGKILL");
    p.Expect(getpgrp() == getpid(), "own process group");
    rlimit rl{};
    p.Expect(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 && rl.rlim_max == 0,
             "RLIMIT_CORE is 0");
    p.Expect(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <= 1024 && rl.rlim_max <= 1024,
             "RLIMIT_NOFILE <= 1024");
    p.Expect(getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur <= 100000, "RLIMIT_NPROC set");
    // Raising a limit again is refused (prlimit64 may only read).
    rl.rlim_cur = rl.rlim_max = 4096;
    p.ExpectErrno(setrlimit(RLIMIT_NOFILE, &rl), EPERM, "setrlimit(RLIMIT_NOFILE)");
    p.Expect(p.report().seccomp && p.report().caps_dropped, "seccomp and caps in the report");
    p.Expect(NoEffectiveCaps(p), "no effective capability");
  });
  ExpectPassed(r);
  std::string line = ReportLine(r);
  std::cout << "[ sandbox  ] kernel offers: landlock abi " << LandlockAbiVersion() << "; uid "
            << getuid() << "; child: " << line << std::endl;
  RecordProperty("sandbox", line);
  RecordProperty("landlock_abi", LandlockAbiVersion());
}

TEST(SandboxTest, ExecveIsRefusedAndLogged) {
  ChildResult r = RunSandboxed({}, [](Probe& p) {
    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    p.ExpectErrno(execve("/bin/true", argv, environ), EPERM, "execve(/bin/true)");
    p.ExpectErrno(syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, environ, 0), EPERM,
                  "execveat");
    // posix_spawn (and system, popen): clone3 (ENOSYS), then
    // clone(CLONE_VM|CLONE_VFORK) with every signal blocked: EPERM, not a
    // SIGSYS (blocked, it would kill the process).
    pid_t child = 0;
    int rc = posix_spawn(&child, "/bin/true", nullptr, nullptr, argv, environ);
    p.Expect(rc == EPERM, "posix_spawn fails with EPERM (got " + std::to_string(rc) + ")");
  });
  ExpectPassed(r);
  EXPECT_NE(r.err.find("arcella-worker: seccomp refused syscall " + std::to_string(SYS_execve) +
                       " (execve)\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(execveat)"), std::string::npos) << r.err;
}

TEST(SandboxTest, NoNewSocketsButTheInheritedOneWorks) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  SandboxOptions options;
  options.keep_fds = {sv[1]};
  int kept = sv[1];
  // The parent's side of the conversation: buffered until the child reads.
  ASSERT_EQ(send(sv[0], "ping", 4, 0), 4);
  ChildResult r = RunSandboxed(options, [kept](Probe& p) {
    p.ExpectErrno(socket(AF_INET, SOCK_STREAM, 0), EPERM, "socket(AF_INET)");
    p.ExpectErrno(socket(AF_INET6, SOCK_DGRAM, 0), EPERM, "socket(AF_INET6)");
    p.ExpectErrno(socket(AF_UNIX, SOCK_STREAM, 0), EPERM, "socket(AF_UNIX)");
    p.ExpectErrno(socket(AF_NETLINK, SOCK_RAW, 0), EPERM, "socket(AF_NETLINK)");
    int pair[2];
    p.ExpectErrno(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), EPERM, "socketpair");
    const char msg[] = "hello from the worker";
    p.Expect(send(kept, msg, sizeof msg, 0) == static_cast<ssize_t>(sizeof msg),
             "send on the inherited socket");
    char buf[16] = {};
    p.Expect(recv(kept, buf, sizeof buf, 0) == 4 && std::memcmp(buf, "ping", 4) == 0,
             "recv on the inherited socket");
  });
  char buf[64] = {};
  EXPECT_GT(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), 0);
  EXPECT_STREQ(buf, "hello from the worker");
  close(sv[0]);
  close(sv[1]);
  ExpectPassed(r);
  EXPECT_NE(r.err.find("(socket)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(socketpair)"), std::string::npos) << r.err;
}

TEST(SandboxTest, NoNewProcesses) {
  ChildResult r = RunSandboxed({}, [](Probe& p) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);  // must not happen
    p.ExpectErrno(pid, EPERM, "fork()");
    p.ExpectErrno(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0), EPERM, "clone(SIGCHLD)");
    p.ExpectErrno(syscall(SYS_clone3, nullptr, 0), ENOSYS, "clone3");
    p.ExpectErrno(unshare(CLONE_NEWNS), EPERM, "unshare");
    p.ExpectErrno(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0), EPERM, "ptrace");
    p.ExpectErrno(syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, nullptr), EPERM, "mount");
    p.ExpectErrno(syscall(SYS_setuid, 0), EPERM, "setuid");
    p.ExpectErrno(syscall(SYS_bpf, 0, nullptr, 0), EPERM, "bpf");
    p.ExpectErrno(syscall(SYS_personality, 0xffffffff), EPERM, "personality");
    // Signals: only to this process.
    p.ExpectErrno(kill(1, 0), EPERM, "kill(1)");
    p.ExpectErrno(fcntl(0, F_SETOWN, 1), EPERM, "fcntl(F_SETOWN)");
    p.ExpectErrno(kill(getppid(), 0), EPERM, "kill(parent)");
    p.Expect(kill(getpid(), 0) == 0, "kill(self, 0)");
  });
  ExpectPassed(r);
  EXPECT_NE(r.err.find("(clone)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("(clone3)"), std::string::npos) << "clone3 is ENOSYS, not logged";
}

std::atomic<int> g_handled{0};
std::atomic<pid_t> g_handled_on{0};

void OnUsr1(int) {
  g_handled_on = static_cast<pid_t>(syscall(SYS_gettid));
  g_handled.fetch_add(1);
}

TEST(SandboxTest, ThreadsAndSignalsWork) {
  ChildResult r = RunSandboxed({}, [](Probe& p) {
    // Threads, mutexes, condition variables.
    std::atomic<int> ran{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&ran] { ran.fetch_add(1); });
    for (auto& t : threads) t.join();
    p.Expect(ran == 4, "4 threads ran");

    // A thread interrupted by pthread_kill runs its handler (the engine
    // interrupts guests the same way).
    struct sigaction sa {};
    sa.sa_handler = OnUsr1;
    sigemptyset(&sa.sa_mask);
    p.Expect(sigaction(SIGUSR1, &sa, nullptr) == 0, "sigaction(SIGUSR1)");
    std::atomic<pid_t> tid{0};
    std::thread sleeper([&tid] {
      tid = static_cast<pid_t>(syscall(SYS_gettid));
      for (int i = 0; i < 5000 && g_handled == 0; ++i) usleep(1000);
    });
    while (tid == 0) sched_yield();
    p.Expect(pthread_kill(sleeper.native_handle(), SIGUSR1) == 0, "pthread_kill");
    sleeper.join();
    p.Expect(g_handled == 1 && g_handled_on == tid, "the handler ran on the signalled thread");

    // Replacing the SIGSYS handler is refused (the log would go).
    struct sigaction sys {};
    sys.sa_handler = SIG_IGN;
    p.ExpectErrno(sigaction(SIGSYS, &sys, nullptr), EPERM, "sigaction(SIGSYS)");
    // Time, randomness, pipes, event descriptors still work.
    timespec ts{};
    p.Expect(clock_gettime(CLOCK_MONOTONIC, &ts) == 0, "clock_gettime");
    char rnd[16];
    p.Expect(getrandom(rnd, sizeof rnd, 0) == sizeof rnd, "getrandom");
    int fds[2];
    p.Expect(pipe2(fds, O_CLOEXEC) == 0, "pipe2");
    void* m = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p.Expect(m != MAP_FAILED, "mmap");
    p.Expect(mprotect(m, 4096, PROT_READ | PROT_EXEC) == 0, "mprotect(PROT_EXEC)");
    int mfd = memfd_create("probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    p.Expect(mfd >= 0, "memfd_create");
    p.Expect(ftruncate(mfd, 4096) == 0, "ftruncate(memfd)");
    p.Expect(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0,
             "seal memfd");
    p.Expect(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0 && fcntl(fds[0], F_GETFL) & O_NONBLOCK,
             "fcntl F_SETFL/F_GETFL");
    p.Expect(fcntl(fds[0], F_DUPFD_CLOEXEC, 10) >= 10, "fcntl F_DUPFD_CLOEXEC");
    p.Expect(isatty(fds[0]) == 0, "isatty (ioctl TCGETS) answers");
    p.Expect(std::thread::hardware_concurrency() > 0, "hardware_concurrency");
    p.Expect(sysconf(_SC_NPROCESSORS_ONLN) > 0, "sysconf(_SC_NPROCESSORS_ONLN)");
    time_t now = time(nullptr);
    tm local{};
    p.Expect(localtime_r(&now, &local) != nullptr, "localtime_r");
  });
  ExpectPassed(r);
  // Nothing else was refused: everything above is on the allowlist.
  EXPECT_EQ(r.err, "arcella-worker: seccomp refused syscall " + std::to_string(SYS_rt_sigaction) +
                       " (rt_sigaction)\n");
}

TEST(SandboxTest, ClosesDescriptorsNotKept) {
  int stray = open("/dev/null", O_RDONLY);  // inheritable, not kept: closed
  int kept = open("/dev/null", O_RDONLY);
  ASSERT_GE(stray, 0);
  ASSERT_GE(kept, 0);
  SandboxOptions options;
  options.keep_fds = {kept};
  ChildResult r = RunSandboxed(options, [stray, kept](Probe& p) {
    p.ExpectErrno(fcntl(stray, F_GETFD), EBADF, "the stray descriptor is closed");
    p.Expect(fcntl(kept, F_GETFD) >= 0, "the kept descriptor is open");
    p.Expect(p.report().closed_fds >= 1, "closed_fds counts it");
  });
  close(stray);
  close(kept);
  ExpectPassed(r);

  // A descriptor to keep that is not open is an error.
  SandboxOptions bad;
  bad.keep_fds = {987};
  ChildResult r2 = RunSandboxed(bad, [](Probe&) {});
  EXPECT_TRUE(r2.Has("descriptor 987 to keep is not open")) << r2.Describe();
}

TEST(SandboxTest, RefusesToStartWithThreadsOrWithoutItsParent) {
  ChildResult r = RunSandboxed(
      {}, [](Probe&) {},
      [] {
        static std::atomic<bool> stop{false};
        std::thread([] {
          while (!stop) usleep(1000);
        }).detach();
      });
  EXPECT_TRUE(r.Has("EnterSandbox must run before any is started")) << r.Describe();

  SandboxOptions options;
  ChildResult r2 = RunSandboxed(
      options, [](Probe&) {},
      [] {
        // Pretend the daemon was another process: as if reparented already.
        SandboxOptions o;
        o.expected_parent = 1;
        Result<SandboxReport> res = EnterSandbox(o);
        std::fprintf(stderr, "%s\n", res.ok() ? "entered" : res.status().ToString().c_str());
        _exit(res.ok() ? 1 : 0);
      });
  EXPECT_TRUE(WIFEXITED(r2.status) && WEXITSTATUS(r2.status) == 0) << r2.Describe();
  EXPECT_NE(r2.err.find("the parent is gone"), std::string::npos) << r2.err;
}

struct Dirs {
  std::string root, rw, ro, exec, outside_file;
};

Dirs MakeDirs() {
  Dirs d;
  d.root = test::TempDir("arcella-sandbox");
  d.rw = d.root + "/rw";
  d.ro = d.root + "/ro";
  d.exec = d.root + "/exec";
  d.outside_file = d.root + "/outside.txt";
  for (const std::string& p : {d.rw, d.ro, d.exec}) mkdir(p.c_str(), 0777);
  // Open for uid 65534 too (the uid-drop test).
  for (const std::string& p : {d.root, d.rw, d.ro, d.exec}) chmod(p.c_str(), 0777);
  std::ofstream(d.outside_file) << "secret";
  std::ofstream(d.ro + "/readme.txt") << "read me";
  std::ofstream(d.exec + "/blob.bin") << std::string(8192, '\xc3');  // ret instructions
  chmod(d.outside_file.c_str(), 0644);
  chmod((d.ro + "/readme.txt").c_str(), 0644);
  chmod((d.exec + "/blob.bin").c_str(), 0644);
  return d;
}

// The file-system checks, shared by the root and the dropped-uid runs.
void CheckFiles(Probe& p, const Dirs& d, int rw_fd, int ro_fd) {
  // Inside the read-write grant: create, write, read, rename, remove.
  int fd = openat(rw_fd, "new.txt", O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
  p.Expect(fd >= 0, "create in the rw dir");
  if (fd >= 0) {
    p.Expect(write(fd, "abc", 3) == 3, "write in the rw dir");
    char buf[4] = {};
    p.Expect(pread(fd, buf, 3, 0) == 3 && std::memcmp(buf, "abc", 3) == 0, "read back");
    p.Expect(ftruncate(fd, 1) == 0, "ftruncate in the rw dir");
    close(fd);
  }
  p.Expect(mkdirat(rw_fd, "sub", 0755) == 0, "mkdir in the rw dir");
  p.Expect(renameat(rw_fd, "new.txt", rw_fd, "sub/moved.txt") == 0, "rename within the rw dir");
  p.Expect(unlinkat(rw_fd, "sub/moved.txt", 0) == 0, "unlink in the rw dir");
  p.Expect(open((d.rw + "/x.txt").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644) >= 0,
           "create by absolute path in the rw dir");

  if (!p.report().landlock) {
    p.Say("SKIP: landlock not offered by the kernel: paths outside the grants not checked");
    return;
  }
  // Outside every grant: refused, by path, through a symlink, through "..".
  p.ExpectErrno(open(d.outside_file.c_str(), O_RDONLY | O_CLOEXEC), EACCES, "open outside");
  p.ExpectErrno(openat(rw_fd, "../outside.txt", O_RDONLY | O_CLOEXEC), EACCES, "open ../ outside");
  p.Expect(symlinkat(d.outside_file.c_str(), rw_fd, "link") == 0, "symlink in the rw dir");
  p.ExpectErrno(openat(rw_fd, "link", O_RDONLY | O_CLOEXEC), EACCES, "open through a symlink");
  p.ExpectErrno(open("/etc/passwd", O_RDONLY | O_CLOEXEC), EACCES, "open /etc/passwd");
  p.ExpectErrno(open(d.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES,
                "list the parent of the grants");
  p.ExpectErrno(open((d.root + "/new-outside").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644),
                EACCES, "create outside");
  p.ExpectErrno(linkat(rw_fd, "x.txt", AT_FDCWD, (d.root + "/hard").c_str(), 0), EACCES,
                "link out of the rw dir");
  // The read-only grant: read yes, write/create/remove no.
  int rfd = openat(ro_fd, "readme.txt", O_RDONLY | O_CLOEXEC);
  p.Expect(rfd >= 0, "read in the ro dir");
  if (rfd >= 0) close(rfd);
  p.ExpectErrno(openat(ro_fd, "readme.txt", O_WRONLY | O_CLOEXEC), EACCES, "write in the ro dir");
  p.ExpectErrno(openat(ro_fd, "new.txt", O_CREAT | O_WRONLY | O_CLOEXEC, 0644), EACCES,
                "create in the ro dir");
  p.ExpectErrno(unlinkat(ro_fd, "readme.txt", 0), EACCES, "unlink in the ro dir");
  p.ExpectErrno(renameat(ro_fd, "readme.txt", rw_fd, "stolen.txt"), EACCES, "move out of ro");
  // The read-exec grant cannot be written either.
  p.ExpectErrno(open((d.exec + "/blob.bin").c_str(), O_WRONLY | O_CLOEXEC), EACCES,
                "write in the read-exec dir");
  // Its own /proc/<pid>, not another process's.
  p.Expect(Slurp("/proc/self/status").find("Seccomp:\t2") != std::string::npos,
           "/proc/self/status readable");
  p.Expect(Slurp("/proc/self/maps").size() > 0, "/proc/self/maps readable");
  p.ExpectErrno(open("/proc/1/status", O_RDONLY | O_CLOEXEC), EACCES, "/proc/1/status");
  p.ExpectErrno(open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC), EACCES, "/proc/cpuinfo");
  p.ExpectErrno(open("/sys/class/net", O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES,
                "/sys/class/net");
  p.ExpectErrno(open("/dev/tty", O_RDONLY | O_CLOEXEC), EACCES, "/dev/tty");
}

TEST(SandboxTest, FilesOnlyBeneathTheGrants) {
  Dirs d = MakeDirs();
  int rw_fd = open(d.rw.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int ro_fd = open(d.ro.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(rw_fd, 0);
  ASSERT_GE(ro_fd, 0);
  SandboxOptions options;
  options.rw_dir_fds = {rw_fd};
  options.ro_dir_fds = {ro_fd};
  options.read_exec_dirs = {d.exec};
  ChildResult r = RunSandboxed(options, [&](Probe& p) { CheckFiles(p, d, rw_fd, ro_fd); });
  close(rw_fd);
  close(ro_fd);
  ExpectPassed(r);
  if (r.Has("SKIP: landlock")) GTEST_SKIP() << "Landlock not offered: " << ReportLine(r);
}

TEST(SandboxTest, DropsRootToTheConfiguredUid) {
  if (geteuid() != 0) GTEST_SKIP() << "not root: the uid drop needs root";
  Dirs d = MakeDirs();
  int rw_fd = open(d.rw.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int ro_fd = open(d.ro.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(rw_fd, 0);
  ASSERT_GE(ro_fd, 0);
  SandboxOptions options;
  options.uid = 65534;
  options.gid = 65534;
  options.rw_dir_fds = {rw_fd};
  options.ro_dir_fds = {ro_fd};
  options.read_exec_dirs = {d.exec};
  ChildResult r = RunSandboxed(options, [&](Probe& p) {
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    p.Expect(getresuid(&ru, &eu, &su) == 0 && ru == 65534 && eu == 65534 && su == 65534,
             "uids are 65534");
    p.Expect(getresgid(&rg, &eg, &sg) == 0 && rg == 65534 && eg == 65534 && sg == 65534,
             "gids are 65534");
    p.Expect(getgroups(0, nullptr) == 0, "no supplementary groups");
    p.Expect(p.report().uid_dropped, "report says uid dropped");
    p.Expect(NoEffectiveCaps(p), "no effective capability");
    // The credential change reset these: they must have been set again.
    int sig = 0;
    p.Expect(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0 && sig == SIGKILL,
             "PDEATHSIG survives the uid change");
    p.Expect(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "not dumpable after the uid change");
    CheckFiles(p, d, rw_fd, ro_fd);
  });
  close(rw_fd);
  close(ro_fd);
  ExpectPassed(r);
  std::cout << "[ sandbox  ] as uid 65534: " << ReportLine(r) << std::endl;
}

std::string NetnsId() {
  char buf[64] = {};
  ssize_t n = readlink("/proc/self/ns/net", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST(SandboxTest, NewNetworkNamespace) {
  std::string outer = NetnsId();
  ChildResult r = RunSandboxed({}, [&outer](Probe& p) {
    std::string inner = NetnsId();
    p.Say("INFO: netns " + outer + " -> " + inner);
    if (p.report().netns) p.Expect(!inner.empty() && inner != outer, "another network namespace");
    else p.Say("SKIP: no network namespace");
  });
  ExpectPassed(r);
  std::cout << "[ sandbox  ] netns: " << ReportLine(r) << std::endl;
  if (r.Has("SKIP: no network namespace")) GTEST_SKIP() << ReportLine(r);
}

// As a process that is not root from the start: the network namespace comes
// through a user namespace where the kernel allows it (the ids stay).
TEST(SandboxTest, UnprivilegedProcess) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "already unprivileged: the other tests cover this case";
  }
  std::string outer = NetnsId();
  Dirs d = MakeDirs();
  int rw_fd = open(d.rw.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int ro_fd = open(d.ro.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  SandboxOptions options;
  options.rw_dir_fds = {rw_fd};
  options.ro_dir_fds = {ro_fd};
  options.read_exec_dirs = {d.exec};
  options.uid = 1234;  // not applied: not root any more (a note says so)
  ChildResult r = RunSandboxed(
      options,
      [&](Probe& p) {
        p.Expect(getuid() == 65534 && geteuid() == 65534, "still uid 65534 (mapped to itself)");
        p.Expect(getgid() == 65534, "still gid 65534");
        std::string inner = NetnsId();
        if (p.report().netns) {
          p.Expect(p.report().userns, "the netns came through a user namespace");
          p.Expect(inner != outer, "another network namespace");
        } else {
          p.Say("SKIP: no network namespace for an unprivileged process");
        }
        p.Expect(NoEffectiveCaps(p), "no capability in the user namespace either");
        p.ExpectErrno(unshare(CLONE_NEWUSER), EPERM, "unshare(CLONE_NEWUSER) again");
        CheckFiles(p, d, rw_fd, ro_fd);
      },
      [] {
        // Drop to nobody before the sandbox, as a non-root daemon's worker would be.
        if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0)
          _exit(99);
      });
  close(rw_fd);
  close(ro_fd);
  ExpectPassed(r);
  EXPECT_TRUE(r.Has("not applied: not running as root")) << r.Describe();
  std::cout << "[ sandbox  ] unprivileged: " << ReportLine(r) << std::endl;
}

// dlopen of a shared object from the read-exec dir, by path and the way the
// AOT loader does it (a sealed memfd through /proc/self/fd/N).
TEST(SandboxTest, MapsAndLoadsCodeFromTheReadExecDir) {
  Dirs d = MakeDirs();
  std::string src = d.root + "/probe.c";
  std::ofstream(src) << "int arcella_probe_answer(void) { return 42; }\n";
  std::string so = d.exec + "/probe.so";
  std::string cmd = "cc -shared -fPIC -o " + so + " " + src + " 2>&1";
  bool have_so = std::system(cmd.c_str()) == 0;
  if (have_so) chmod(so.c_str(), 0644);
  SandboxOptions options;
  options.read_exec_dirs = {d.exec};
  ChildResult r = RunSandboxed(options, [&](Probe& p) {
    int fd = open((d.exec + "/blob.bin").c_str(), O_RDONLY | O_CLOEXEC);
    p.Expect(fd >= 0, "open a file in the read-exec dir");
    void* code = mmap(nullptr, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    p.Expect(code != MAP_FAILED, "mmap PROT_EXEC of it");
    if (fd >= 0) close(fd);
    if (!have_so) {
      p.Say("SKIP: no C compiler to build a shared object");
      return;
    }
    void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    p.Expect(h != nullptr, std::string("dlopen by path: ") + (h ? "" : dlerror()));
    if (h != nullptr) {
      auto fn = reinterpret_cast<int (*)()>(dlsym(h, "arcella_probe_answer"));
      p.Expect(fn != nullptr && fn() == 42, "call into the loaded object");
    }
    // The AOT cache's way: copy into a sealed memfd, dlopen /proc/self/fd/N.
    int src_fd = open(so.c_str(), O_RDONLY | O_CLOEXEC);
    int mem = memfd_create("arcella-aot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    p.Expect(src_fd >= 0 && mem >= 0, "open the object and a memfd");
    char buf[65536];
    ssize_t n;
    while ((n = read(src_fd, buf, sizeof buf)) > 0) p.Expect(write(mem, buf, n) == n, "copy");
    p.Expect(fcntl(mem, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0,
             "seal");
    std::string path = "/proc/self/fd/" + std::to_string(mem);
    void* h2 = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    p.Expect(h2 != nullptr, std::string("dlopen of a sealed memfd: ") + (h2 ? "" : dlerror()));
    if (h2 != nullptr) {
      auto fn = reinterpret_cast<int (*)()>(dlsym(h2, "arcella_probe_answer"));
      p.Expect(fn != nullptr && fn() == 42, "call into the memfd object");
    }
  });
  ExpectPassed(r);
  if (!have_so) GTEST_SKIP() << "no C compiler (cc) to build a shared object";
}

// A kernel (or container) that refuses namespaces and has no Landlock: the
// sandbox still comes up, says what is missing, and the rest holds. Simulated
// with a filter installed first that makes unshare fail with EPERM and
// landlock_create_ruleset with ENOSYS.
TEST(SandboxTest, SkipsWhatTheKernelRefusesAndSaysSo) {
  ChildResult r = RunSandboxed(
      {},
      [](Probe& p) {
        p.Expect(!p.report().netns && !p.report().landlock, "neither netns nor landlock");
        p.Expect(p.report().landlock_abi == 0, "landlock abi 0");
        p.Expect(p.report().seccomp, "seccomp still on");
        p.ExpectErrno(socket(AF_INET, SOCK_STREAM, 0), EPERM, "socket(AF_INET)");
      },
      [] {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (ctx == nullptr ||
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 0) != 0 ||
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_create_ruleset), 0) !=
                0 ||
            seccomp_load(ctx) != 0)
          _exit(98);
        seccomp_release(ctx);
      });
  ExpectPassed(r);
  EXPECT_TRUE(r.Has("network namespace: not available (unshare(CLONE_NEWNET): Operation not "
                    "permitted; unshare(CLONE_NEWUSER|CLONE_NEWNET): Operation not permitted)"))
      << r.Describe();
  EXPECT_TRUE(r.Has("landlock: not offered by the kernel (landlock_create_ruleset: Function not "
                    "implemented)"))
      << r.Describe();

  // Everything off by configuration: said too.
  SandboxOptions off;
  off.landlock = false;
  off.new_netns = false;
  off.seccomp = false;
  ChildResult r2 = RunSandboxed(off, [](Probe& p) {
    p.Expect(!p.report().seccomp && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0, "no seccomp");
  });
  ExpectPassed(r2);
  for (const char* note :
       {"landlock: off by configuration", "network namespace: off by configuration",
        "seccomp: off by configuration"})
    EXPECT_TRUE(r2.Has(note)) << note << "\n" << r2.Describe();
}

// The engine itself in the sandbox: AOT code compiled before (as the daemon
// does), loaded read-only from the cache in the sandboxed child (HMAC check,
// sealed memfd, dlopen), run on the AOT tier and the interpreter: a result,
// a guest fault trapped by the SIGSEGV handler, a deadline through the
// watchdog thread, an Interrupt() from another thread.
TEST(SandboxTest, TheEngineRunsInside) {
  const std::string cache = test::TempDir("arcella-sandbox-engine") + "/cache";
  std::vector<uint8_t> wasm = test::Wat(R"((module
    (memory 1)
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "oob") (result i32) (i32.load (i32.const 70000)))
    (func (export "spin") (loop $l (br $l))))
  )");
  ASSERT_FALSE(wasm.empty());
  bool aot = false;
  {
    auto engine = engine::Engine::Create({.cache_dir = cache});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    aot = (*engine)->AotAvailable();
    if (aot) {
      engine::CompileOptions co;
      co.tier = engine::Tier::kAot;
      auto m = (*engine)->Compile(wasm, co);
      ASSERT_TRUE(m.ok()) << m.status().ToString();
    }
  }
  SandboxOptions options;
  options.read_exec_dirs = {cache};
  ChildResult r = RunSandboxed(options, [&](Probe& p) {
    auto engine = engine::Engine::Create({.cache_dir = cache});
    p.Expect(engine.ok(), "Engine::Create: " + engine.status().ToString());
    if (!engine.ok()) return;
    std::vector<engine::Tier> tiers = {engine::Tier::kInterp};
    if (aot) tiers.push_back(engine::Tier::kAot);
    for (engine::Tier tier : tiers) {
      std::string t = engine::TierName(tier);
      engine::CompileOptions co;
      co.tier = tier;
      co.cached_only = tier == engine::Tier::kAot;  // never a compiler here
      auto m = (*engine)->Compile(wasm, co);
      p.Expect(m.ok(), t + ": load: " + m.status().ToString());
      if (!m.ok()) continue;
      engine::InstanceOptions io;
      io.limits.deadline = std::chrono::milliseconds(200);
      auto inst = engine::Instance::Create(*m, engine::Linker{}, io);
      p.Expect(inst.ok(), t + ": instantiate: " + inst.status().ToString());
      if (!inst.ok()) continue;
      std::vector<engine::Value> args = {engine::Value::I32(40), engine::Value::I32(2)};
      auto out = (*inst)->Call("add", args);
      p.Expect(out.ok() && out->ok() && out->results.size() == 1 && out->results[0].i32 == 42,
               t + ": add(40, 2) is 42");
      out = (*inst)->Call("oob", {});
      p.Expect(out.ok() && out->trap && out->trap->kind == engine::TrapKind::kMemoryOutOfBounds,
               t + ": out-of-bounds load traps");
      out = (*inst)->Call("spin", {});
      p.Expect(out.ok() && out->trap && out->trap->kind == engine::TrapKind::kDeadline,
               t + ": a spinning guest stops at its deadline");
      // Interrupted from another thread.
      engine::InstanceOptions io2;
      auto inst2 = engine::Instance::Create(*m, engine::Linker{}, io2);
      p.Expect(inst2.ok(), t + ": second instance");
      if (!inst2.ok()) continue;
      std::thread stopper([i = *inst2] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        i->Interrupt();
      });
      out = (*inst2)->Call("spin", {});
      stopper.join();
      p.Expect(out.ok() && out->trap && out->trap->kind == engine::TrapKind::kInterrupted,
               t + ": Interrupt() from another thread");
    }
  });
  ExpectPassed(r);
  EXPECT_EQ(r.err.find("seccomp refused"), std::string::npos) << r.err;
  if (!aot) GTEST_SKIP() << "no AOT tier here (C compiler): only the interpreter was run";
}

// Killing the daemon (here: a middle process) kills the worker: a harness
// process (child subreaper) forks the middle, which forks the sandboxed
// worker; the harness kills the middle and reaps the orphaned worker.
TEST(SandboxTest, DiesWithItsParent) {
  pid_t harness = fork();
  ASSERT_GE(harness, 0);
  if (harness == 0) {
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    int ready[2];
    if (pipe(ready) != 0) _exit(2);
    pid_t middle = fork();
    if (middle == 0) {
      pid_t me = getpid();
      pid_t worker = fork();
      if (worker == 0) {
        close(ready[0]);
        SandboxOptions o;
        o.expected_parent = me;
        o.keep_fds = {ready[1]};
        if (!EnterSandbox(o).ok()) _exit(3);
        pid_t self = getpid();
        if (write(ready[1], &self, sizeof self) != sizeof self) _exit(4);
        for (;;) pause();
      }
      for (;;) pause();
    }
    close(ready[1]);
    pid_t worker = 0;
    if (read(ready[0], &worker, sizeof worker) != sizeof worker) _exit(5);
    kill(middle, SIGKILL);
    waitpid(middle, nullptr, 0);
    for (int i = 0; i < 500; ++i) {
      int st = 0;
      pid_t got = waitpid(worker, &st, WNOHANG);
      if (got == worker) _exit(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : 6);
      usleep(10000);
    }
    kill(worker, SIGKILL);
    _exit(7);
  }
  int st = 0;
  ASSERT_EQ(waitpid(harness, &st, 0), harness);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
      << "harness exit " << (WIFEXITED(st) ? WEXITSTATUS(st) : -1)
      << " (3: EnterSandbox failed, 6: the worker died otherwise, 7: the worker lived on)";
}

TEST(SandboxTest, EveryAllowedNameIsASyscall) {
  std::vector<std::string> unknown;
  for (const std::string& name : SeccompAllowedSyscalls()) {
    if (seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR) unknown.push_back(name);
  }
  EXPECT_TRUE(unknown.empty()) << "unknown to libseccomp: " << ::testing::PrintToString(unknown);
  std::vector<std::string> names = SeccompAllowedSyscalls();
  for (const char* refused : {"execve",
                              "execveat",
                              "fork",
                              "vfork",
                              "socket",
                              "socketpair",
                              "connect",
                              "bind",
                              "listen",
                              "accept",
                              "accept4",
                              "ptrace",
                              "process_vm_readv",
                              "process_vm_writev",
                              "mount",
                              "umount2",
                              "pivot_root",
                              "chroot",
                              "unshare",
                              "setns",
                              "kexec_load",
                              "bpf",
                              "perf_event_open",
                              "keyctl",
                              "add_key",
                              "init_module",
                              "reboot",
                              "swapon",
                              "setuid",
                              "setresuid",
                              "setgid",
                              "setgroups",
                              "personality",
                              "fchmod",
                              "chown",
                              "io_uring_setup",
                              "userfaultfd",
                              "open_by_handle_at",
                              "name_to_handle_at",
                              "truncate",
                              "mknodat"}) {
    EXPECT_EQ(std::count(names.begin(), names.end(), refused), 0) << refused << " is allowed";
  }
}

}  // namespace
}  // namespace arcella::worker::sandbox_test
