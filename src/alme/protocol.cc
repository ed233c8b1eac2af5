#include "alme/protocol.h"

namespace arcella::alme {

const char* ErrorCodeName(ErrorCode c) {
  switch (c) {
    case ErrorCode::kParseError: return "parse_error";
    case ErrorCode::kInvalidRequest: return "invalid_request";
    case ErrorCode::kUnknownMethod: return "unknown_method";
    case ErrorCode::kInvalidParams: return "invalid_params";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kFrameTooLarge: return "frame_too_large";
    case ErrorCode::kInvalidInput: return "invalid_input";
    case ErrorCode::kTrapped: return "trapped";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kIoError: return "io_error";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace arcella::alme
