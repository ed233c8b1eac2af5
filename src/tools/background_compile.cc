#include "tools/background_compile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "tools/tool_engine.h"

namespace arcella::tools {
namespace {

constexpr int kNice = 10;

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Writes all of `n` bytes (a pipe of the double fork; EINTR retried).
void WriteAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads up to `n` bytes until EOF; the count read.
size_t ReadAll(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

// In the grandchild: the detached process's setup, then exec. Only
// async-signal-safe calls (the run may have threads). On failure, writes
// errno to `report` and exits.
[[noreturn]] void ExecCompile(const char* exe, char* const argv[], int report) {
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0) {
    int e = errno;
    WriteAll(report, &e, sizeof e);
    _exit(127);
  }
  // No descriptor of the run stays open in the compile (but the report pipe,
  // closed by exec).
  for (int fd = 3; fd < 1024; ++fd)
    if (fd != report) close(fd);
  syscall(SYS_close_range, 1024u, ~0u, 0u);  // best effort beyond (Linux >= 5.9)
  errno = 0;
  if (setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + kNice) != 0 && errno != 0) {
    // Not being able to lower one's priority is harmless; go on.
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaction(sig, &dfl, nullptr);
  execv(exe, argv);
  int e = errno;
  WriteAll(report, &e, sizeof e);
  _exit(127);
}

}  // namespace

std::optional<std::string> ReopenablePath(const std::string& file) {
  char buf[PATH_MAX];
  if (realpath(file.c_str(), buf) == nullptr) return std::nullopt;
  std::string path = buf;
  // /dev/stdin, /dev/fd/N and /proc/self/fd/N name the run's own descriptors.
  if (StartsWith(path, "/proc/") || StartsWith(path, "/dev/")) return std::nullopt;
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return path;
}

Result<pid_t> StartBackgroundCompile(const std::string& path, engine::Metering metering) {
  // Everything the children need, prepared before fork (no allocation there).
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return Status::IoError(std::string("cannot read /proc/self/exe: ") + strerror(errno));
  exe[n] = '\0';
  std::vector<std::string> args = {"arcella", "compile", "-q", "--metering", MeteringName(metering),
                                   "--",      path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The grandchild reports its pid, then either errno (exec failed) or
  // nothing (the pipe closes on exec).
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0)
    return Status::IoError(std::string("cannot make a pipe: ") + strerror(errno));
  fflush(nullptr);
  pid_t child = fork();
  if (child < 0) {
    int e = errno;
    close(report[0]);
    close(report[1]);
    return Status::IoError(std::string("cannot fork: ") + strerror(e));
  }
  if (child == 0) {
    close(report[0]);
    if (setsid() < 0) _exit(126);  // own session and process group
    pid_t grandchild = fork();
    if (grandchild < 0) _exit(126);
    if (grandchild > 0) _exit(0);  // the compile is reparented to init
    pid_t self = getpid();
    WriteAll(report[1], &self, sizeof self);
    ExecCompile(exe, argv.data(), report[1]);
  }
  close(report[1]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  pid_t pid = 0;
  const size_t got_pid = ReadAll(report[0], &pid, sizeof pid);
  int exec_errno = 0;
  const size_t got_errno = got_pid == sizeof pid
                               ? ReadAll(report[0], &exec_errno, sizeof exec_errno)
                               : 0;
  close(report[0]);
  if (got_pid != sizeof pid)
    return Status::IoError("cannot start the background compile (fork or setsid failed)");
  if (got_errno == sizeof exec_errno)
    return Status::IoError(std::string("cannot run ") + exe + ": " + strerror(exec_errno));
  return pid;
}

}  // namespace arcella::tools
