// End-to-end helpers: a real `arcella` daemon process in a temporary home,
// and `arcella-cli` runs with captured output and exit codes.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace arcella::e2e {

inline std::string Bin(const char* env, const char* fallback) {
  const char* p = getenv(env);
  return p ? p : fallback;
}
#ifndef ARCELLA_BIN_PATH
#define ARCELLA_BIN_PATH "arcella"
#endif
#ifndef ARCELLA_CLI_BIN_PATH
#define ARCELLA_CLI_BIN_PATH "arcella-cli"
#endif
inline std::string DaemonBin() { return Bin("ARCELLA_BIN", ARCELLA_BIN_PATH); }
inline std::string CliBin() { return Bin("ARCELLA_CLI_BIN", ARCELLA_CLI_BIN_PATH); }

struct CmdResult {
  int code = -1;
  std::string out;  // stdout and stderr together
};

inline std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command line; returns exit code and combined output.
inline CmdResult Sh(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// A daemon in its own ARCELLA_HOME. Started in the constructor, SIGTERMed in
// the destructor (or killed with Kill9()).
class Daemon {
 public:
  explicit Daemon(std::string home = test::TempDir("arcella-e2e")) : home_(std::move(home)) {
    Start();
  }
  ~Daemon() { Stop(); }

  const std::string& home() const { return home_; }
  std::string socket() const { return home_ + "/alme"; }
  pid_t pid() const { return pid_; }

  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = home_ + "/daemon.out";
      FILE* f = freopen(log.c_str(), "a", stdout);
      (void)f;
      dup2(fileno(stdout), 2);
      setenv("ARCELLA_HOME", home_.c_str(), 1);
      execl(DaemonBin().c_str(), "arcella", "--home", home_.c_str(), (char*)nullptr);
      _exit(127);
    }
    // Wait for the socket to accept a ping.
    for (int i = 0; i < 300; ++i) {
      if (Cli("ping").code == 0) return;
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "daemon exited early:\n" << Sh("cat " + home_ + "/daemon.out").out;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "daemon did not answer ping in 15 s";
  }

  // Graceful stop (SIGTERM); returns the exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  void Kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }

  // arcella-cli with this home; `args` is a shell-ready argument string.
  CmdResult Cli(const std::string& args) const {
    return Sh(CliBin() + " --home " + ShellQuote(home_) + " " + args);
  }

 private:
  std::string home_;
  pid_t pid_ = -1;
};

}  // namespace arcella::e2e
