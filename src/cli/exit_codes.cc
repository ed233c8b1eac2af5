#include "cli/exit_codes.h"

namespace arcella::cli {

int ExitCodeFor(alme::ErrorCode code) {
  using alme::ErrorCode;
  switch (code) {
    case ErrorCode::kNotFound: return kExitNotFound;
    case ErrorCode::kInvalidParams:
    case ErrorCode::kInvalidInput: return kExitInvalid;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition: return kExitConflict;
    case ErrorCode::kTrapped: return kExitTrapped;
    case ErrorCode::kUnavailable: return kExitUnreachable;
    default: return kExitError;
  }
}

}  // namespace arcella::cli
