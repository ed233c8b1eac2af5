// Runs the C compiler as a supervised child process.
//
// The child is a tiny /bin/sh supervisor leading its own process group, with
// PR_SET_PDEATHSIG(SIGTERM) (and a getppid check for the race); on that
// signal it kills its whole group -- the compiler and everything the compiler
// started -- so nothing outlives this process, even after a SIGKILL. The
// group inherits only stdin (/dev/null), stdout and stderr (the log file): no
// descriptor of this process (sockets, the home lock) leaks into it; signal
// mask and dispositions are reset. The group is killed and the supervisor
// reaped whatever the outcome.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace arcella::engine::aot {

// Runs `argv` (argv[0] found on $PATH unless it has a '/') with stdout and
// stderr to `log_path` (created 0600). Ok if it exited 0; otherwise an error
// that names the command and its exit status.
Status RunCompilerProcess(const std::vector<std::string>& argv, const std::string& log_path);

// The asynchronous form, for a pool of compilers (see compile_pool.h).
// Starts `argv` like RunCompilerProcess and returns the supervisor's pid,
// which is also the process group id.
Result<pid_t> StartCompilerProcess(const std::vector<std::string>& argv,
                                   const std::string& log_path);
// Non-blocking: false while the group's leader runs. Once it exited, kills
// what is left of its group, reaps it and returns true with its outcome in
// `status` (named after `what`) and the peak RSS of the compiler and its
// children in `max_rss_bytes` (optional).
bool FinishCompilerProcess(pid_t pid, const std::string& what, Status* status,
                           uint64_t* max_rss_bytes = nullptr);
// Kills the whole group of `pid` and reaps its leader (cancellation).
void KillCompilerProcess(pid_t pid);

// The full path of `cmd` (itself if it has a '/'), or "" if not found on $PATH.
std::string FindExecutable(const std::string& cmd);

}  // namespace arcella::engine::aot
