#include "engine/aot/cc_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern "C" char** environ;

namespace arcella::engine::aot {
namespace {

// Everything below runs in vforked children of a multi-threaded process:
// only async-signal-safe calls (system calls), no allocation, no writes to
// memory the parent uses, no return.

void CloseFrom3() {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 1 << 20) max = 1 << 20;
  for (int fd = 3; fd < max; ++fd) close(fd);
}

void ResetSignals() {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The supervisor: /bin/sh leading the compiler's process group. On SIGTERM
// (sent by PR_SET_PDEATHSIG when this process dies), SIGHUP or SIGINT it
// kills the whole group, itself included; otherwise it exits with the
// compiler's status. A shell, not a fork of this process, so the daemon's
// memory is not kept alive (copy-on-write) for the length of a compile.
constexpr char kSupervisor[] = "trap 'kill -9 0' TERM HUP INT; \"$@\" & wait $!";

[[noreturn]] void StartSupervisor(pid_t parent, char* const* argv, const char* log_path) {
  setpgid(0, 0);
  ResetSignals();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(126);  // the parent died before prctl: start nothing
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (null_fd < 0 || log_fd < 0) _exit(126);
  dup2(null_fd, 0);
  dup2(log_fd, 1);
  dup2(log_fd, 2);
  CloseFrom3();
  execve("/bin/sh", argv, environ);
  static const char msg[] = "arcella: cannot execute /bin/sh\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(127);
}

}  // namespace

std::string FindExecutable(const std::string& cmd) {
  if (cmd.empty()) return "";
  if (cmd.find('/') != std::string::npos) return access(cmd.c_str(), X_OK) == 0 ? cmd : "";
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string full = dir + "/" + cmd;
    struct stat st;
    if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(full.c_str(), X_OK) == 0)
      return full;
    start = end + 1;
  }
  return "";
}

Result<pid_t> StartCompilerProcess(const std::vector<std::string>& args,
                                   const std::string& log_path) {
  if (args.empty()) return Status::InvalidArgument("aot: empty C compiler command");
  const std::string path = FindExecutable(args[0]);
  if (path.empty())
    return Status::Unsupported("aot: cannot run C compiler '" + args[0] +
                               "': not found or not executable");
  // Everything the child needs is prepared before fork.
  std::vector<std::string> copy = {"sh", "-c", kSupervisor, "sh", path};
  copy.insert(copy.end(), args.begin() + 1, args.end());
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  // vfork, not fork: the child shares this process's memory until it execs
  // the shell, so starting a compiler costs no page-table copy and no
  // copy-on-write faults afterwards, however large the daemon is (with fork
  // a 3 GB compile spent ~30 CPU-s in the kernel on 65 units). The child
  // makes system calls only and never returns.
  pid_t pid = vfork();
  if (pid < 0) return Status::Internal(std::string("aot: vfork: ") + strerror(errno));
  if (pid == 0) StartSupervisor(parent, argv.data(), log_path.c_str());
  setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
  return pid;
}

namespace {

// Waits for (or, with `block` false, checks) the exit of the group leader
// without reaping it; then kills what is left of the group while the
// leader's pid still pins the group id, and reaps.
bool Finish(pid_t pid, bool block, const std::string& what, Status* out, uint64_t* max_rss) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  int rc;
  while ((rc = waitid(P_PID, static_cast<id_t>(pid), &info,
                      WEXITED | WNOWAIT | (block ? 0 : WNOHANG))) < 0 &&
         errno == EINTR) {
  }
  if (rc == 0 && !block && info.si_pid == 0) return false;  // still running
  const int wait_errno = rc < 0 ? errno : 0;
  kill(-pid, SIGKILL);
  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  if (max_rss != nullptr) *max_rss = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
  if (wait_errno != 0) {
    *out = Status::Internal("aot: waiting for the C compiler: " +
                            std::string(strerror(wait_errno)));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    *out = Status::Ok();
  } else {
    std::string how = WIFEXITED(status)
                          ? "exit status " + std::to_string(WEXITSTATUS(status))
                          : "signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    *out = Status::Internal("aot: C compiler '" + what + "' failed (" + how + ")");
  }
  return true;
}

}  // namespace

bool FinishCompilerProcess(pid_t pid, const std::string& what, Status* status,
                           uint64_t* max_rss_bytes) {
  return Finish(pid, false, what, status, max_rss_bytes);
}

void KillCompilerProcess(pid_t pid) {
  kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

Status RunCompilerProcess(const std::vector<std::string>& args, const std::string& log_path) {
  ARCELLA_ASSIGN_OR_RETURN(pid_t pid, StartCompilerProcess(args, log_path));
  Status st;
  Finish(pid, true, args[0], &st, nullptr);
  return st;
}

}  // namespace arcella::engine::aot
