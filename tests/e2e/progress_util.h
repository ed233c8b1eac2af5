// Helpers of the compile progress and cancellation tests (tests/e2e and
// tests/tools progress_test.cc): a module that takes seconds to compile, the
// processes below a pid, temporary entries of an AOT cache, a program run
// under a pseudo-terminal.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"

namespace arcella::e2e {

// Module sizes and unit size of the progress tests. `arcella` (daemon and
// `arcella run`) started with ARCELLA_TEST_UNIT_BYTES (tests only,
// docs/TESTING.md) splits generated C into units of that many bytes instead
// of 4 MB: a module of a few hundred small functions then compiles in
// several units within seconds, where the default needed 1,200 functions
// and 20-30 s per test (docs/TESTING.md "Where the time goes").
constexpr const char* kTestUnitBytes = "131072";  // about 15 functions per unit
// Enough for several units (8) and a compile (3.5 CPU-s) that outlasts the
// first progress line (`arcella run` draws after 250 ms).
constexpr int kProgressFunctions = 110;
// About 16 units: a test sees a compiler process and signals it with
// seconds of compile left.
constexpr int kCancelFunctions = 240;

inline std::string SmallUnitsEnv() {
  return std::string("ARCELLA_TEST_UNIT_BYTES=") + kTestUnitBytes;
}

// Sets an environment variable for its lifetime (processes started meanwhile
// inherit it), then restores the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

namespace internal {
struct SmallUnits {
  ScopedEnv env{"ARCELLA_TEST_UNIT_BYTES", kTestUnitBytes};
};
}  // namespace internal

// A daemon (see Daemon) whose AOT compiles use kTestUnitBytes units. The
// variable is set in this process while the daemon lives.
class SmallUnitsDaemon : private internal::SmallUnits, public Daemon {};

// Writes `dir/name` (a .wasm), a WASI-free command of `functions` functions
// (a chain of calls with arithmetic and branches, about 8 KB of C each once
// fuel-instrumented). `salt` makes the code differ between tests, so no test
// hits another's cached units.
inline std::string WriteBigModule(const std::string& dir, const std::string& name, int functions,
                                  int salt) {
  std::ostringstream w;
  w << "(module\n";
  for (int i = 0; i < functions; ++i) {
    w << "(func $f" << i << " (param i32) (result i32) (local $a i32) (local $b i64)\n"
      << "  local.get 0 i32.const " << (i * 7 + salt) << " i32.add local.set $a\n";
    for (int k = 0; k < 12; ++k) {
      w << "  local.get $a i32.const " << (k + 3) << " i32.mul i32.const " << (i ^ k)
        << " i32.xor local.set $a\n"
        << "  local.get $b local.get $a i64.extend_i32_u i64.add i64.const " << (k + 1)
        << " i64.rotl local.set $b\n"
        << "  (if (i32.gt_u (local.get $a) (i32.const " << (1000 + k + salt)
        << ")) (then local.get $a i32.const 1 i32.shr_u local.set $a))\n";
    }
    if (i > 0)
      w << "  local.get $a call $f" << (i - 1) << " local.get $b i32.wrap_i64 i32.add return\n";
    w << "  local.get $a local.get $b i32.wrap_i64 i32.add)\n";
  }
  w << "(func (export \"_start\") i32.const 1 call $f" << (functions - 1) << " drop)\n)\n";
  std::string wat = dir + "/" + name + ".wat";
  std::string wasm = dir + "/" + name;
  {
    std::ofstream f(wat);
    f << w.str();
  }
  auto r = Sh("wat2wasm -o " + ShellQuote(wasm) + " " + ShellQuote(wat));
  EXPECT_EQ(r.code, 0) << r.out;
  return wasm;
}

// pid -> (parent pid, command name) of every process.
inline std::map<pid_t, std::pair<pid_t, std::string>> ProcessTable() {
  std::map<pid_t, std::pair<pid_t, std::string>> t;
  DIR* d = opendir("/proc");
  if (!d) return t;
  while (dirent* e = readdir(d)) {
    char* end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
    std::string stat;
    std::getline(f, stat);
    size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (state == "Z") continue;  // exited, not yet reaped: nothing runs
    t[static_cast<pid_t>(pid)] = {static_cast<pid_t>(ppid),
                                  stat.substr(open + 1, close - open - 1)};
  }
  closedir(d);
  return t;
}

// "name(pid)" of every live process below `root` (children, grandchildren...).
inline std::vector<std::string> Descendants(pid_t root) {
  auto t = ProcessTable();
  std::set<pid_t> below{root};
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& [pid, pp] : t)
      if (below.count(pp.first) && below.insert(pid).second) grew = true;
  }
  std::vector<std::string> out;
  for (pid_t p : below)
    if (p != root) out.push_back(t[p].second + "(" + std::to_string(p) + ")");
  return out;
}

// "pid: command line" of every live process (but this one) whose command
// line contains `text`.
inline std::vector<std::string> ProcessesMentioning(const std::string& text) {
  std::vector<std::string> out;
  auto table = ProcessTable();
  for (const auto& [pid, pp] : table) {
    if (pid == getpid()) continue;
    std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    for (char& ch : cmd)
      if (ch == '\0') ch = ' ';
    if (cmd.find(text) != std::string::npos) out.push_back(std::to_string(pid) + ": " + cmd);
  }
  return out;
}

// Temporary entries (".tmp-...") anywhere under an AOT cache folder.
inline std::vector<std::string> CacheTempEntries(const std::string& dir) {
  auto r = Sh("find " + ShellQuote(dir) + " -name '.tmp-*' 2>/dev/null");
  std::vector<std::string> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

inline std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// A program started under a pseudo-terminal (its stdin, stdout and stderr),
// or with stdout and stderr into a pipe (`terminal` false). Output is read by
// Pump/Wait; the process is killed if still running at destruction.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env, bool terminal) {
    fflush(nullptr);
    int pipe_fds[2] = {-1, -1};
    if (terminal) {
      winsize ws{};
      ws.ws_row = 24;
      ws.ws_col = 120;
      pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
    } else {
      if (pipe(pipe_fds) != 0) return;
      pid_ = fork();
    }
    if (pid_ == 0) {
      if (!terminal) {
        int null_fd = open("/dev/null", O_RDONLY);
        dup2(null_fd, 0);
        dup2(pipe_fds[1], 1);
        dup2(pipe_fds[1], 2);
        close(pipe_fds[0]);
      }
      for (const auto& e : env) putenv(strdup(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    if (!terminal) {
      close(pipe_fds[1]);
      fd_ = pipe_fds[0];
    }
  }
  ~Child() {
    if (pid_ > 0 && code_ < 0) {
      kill(pid_, SIGKILL);
      Wait(10'000);
    }
    if (fd_ >= 0) close(fd_);
  }

  pid_t pid() const { return pid_; }
  const std::string& output() const { return out_; }

  // Reads what is there (up to `ms` for the first bytes); false at the end.
  bool Pump(int ms) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return true;
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) return false;  // EOF, or EIO: the terminal's other side closed
    out_.append(buf, static_cast<size_t>(n));
    return true;
  }

  // Reads until `pred(output)` holds, the output ends, or `ms` pass.
  template <typename Pred>
  bool ReadUntil(Pred pred, int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!pred(out_)) {
      if (std::chrono::steady_clock::now() > end || !Pump(100)) return pred(out_);
    }
    return true;
  }

  // Reads the rest of the output and reaps the process (up to `ms`): its
  // exit code, 128 + signal if killed, -1 if still running.
  int Wait(int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (code_ < 0 && std::chrono::steady_clock::now() < end) {
      bool more = Pump(50);
      int st;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        while (Pump(0)) {
          pollfd p{fd_, POLLIN, 0};
          if (poll(&p, 1, 0) <= 0) break;
        }
        code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      } else if (!more) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return code_;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int code_ = -1;
  std::string out_;
};

// Waits until a compiler process runs below `compiling` (a daemon, or the
// child itself), then sends `sig` to `child` and waits for it to exit.
// Returns its exit code; -1 (and a test failure) if no compiler was seen.
inline int SignalDuringCompile(Child& child, pid_t compiling, int sig) {
  if (!WaitFor([&] { return !Descendants(compiling).empty(); }, 60'000)) {
    ADD_FAILURE() << "no compiler process seen below pid " << compiling
                  << "; output: " << child.output();
    return -1;
  }
  kill(child.pid(), sig);
  return child.Wait(60'000);
}

// Runs `child` to its end (a compile and what follows); its exit code.
inline int RunToEnd(Child& child) { return child.Wait(600'000); }

}  // namespace arcella::e2e
