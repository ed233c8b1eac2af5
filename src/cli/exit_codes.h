// Exit codes of arcella-cli (documented in docs/CLI.md, "arcella-cli").
#pragma once

#include "alme/protocol.h"

namespace arcella::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,        // any other daemon error (internal, io_error, ...)
  kExitUsage = 2,        // bad command line
  kExitNotFound = 3,     // not_found: no such module / deployment
  kExitInvalid = 4,      // invalid_params, invalid_input, unreadable local file
  kExitConflict = 5,     // already_exists, failed_precondition
  kExitTrapped = 6,      // call: the guest trapped
  kExitUnreachable = 7,  // daemon not running, connection lost, shutting down, busy
  kExitTimeout = 8,      // no answer within --timeout (default 30 s)
};

// The exit code for an error answered by the daemon.
int ExitCodeFor(alme::ErrorCode code);

}  // namespace arcella::cli
