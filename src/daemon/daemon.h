// The `arcella` daemon: home lock, configuration, logging, state
// reconciliation, the ALME socket, the hot-deploy folder, and a clean
// shutdown on SIGTERM/SIGINT (or ALME daemon.shutdown).
#pragma once

#include <string>

namespace arcella::daemon {

struct DaemonOptions {
  std::string home;  // empty: $ARCELLA_HOME, else ~/.arcella
  // Start with every deployment stopped (desired states kept in the state
  // database; status shows why they are not running). See Platform.
  bool safe_mode = false;
};

// Exit status when a shutdown overran daemon.shutdown_grace (+2 s), or a
// second SIGTERM/SIGINT came, and the process ended without waiting for the
// remaining replicas.
inline constexpr int kForcedExitCode = 3;

// Runs in the foreground until asked to stop. Returns the process exit code:
// 0 after a clean shutdown, 1 if it could not start (message on stderr);
// the process exits with kForcedExitCode if a shutdown overruns its grace.
int RunDaemon(const DaemonOptions& options);

}  // namespace arcella::daemon
