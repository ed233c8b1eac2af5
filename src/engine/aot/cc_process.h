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

#include <string>
#include <vector>

#include "common/status.h"

namespace arcella::engine::aot {

// Runs `argv` (argv[0] found on $PATH unless it has a '/') with stdout and
// stderr to `log_path` (created 0600). Ok if it exited 0; otherwise an error
// that names the command and its exit status.
Status RunCompilerProcess(const std::vector<std::string>& argv, const std::string& log_path);

// The full path of `cmd` (itself if it has a '/'), or "" if not found on $PATH.
std::string FindExecutable(const std::string& cmd);

}  // namespace arcella::engine::aot
