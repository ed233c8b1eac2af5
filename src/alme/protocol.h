// ALME wire protocol constants (docs/ALME.md is the specification).
#pragma once

#include <cstdint>

namespace arcella::alme {

inline constexpr int kProtocolVersion = 1;
inline constexpr uint32_t kDefaultMaxFrameBytes = 16u << 20;

// Stable error codes (docs/ALME.md "Error codes").
enum class ErrorCode : int {
  kParseError = 1,
  kInvalidRequest = 2,
  kUnknownMethod = 3,
  kInvalidParams = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kFailedPrecondition = 7,
  kPermissionDenied = 8,
  kFrameTooLarge = 9,
  kInvalidInput = 10,
  kTrapped = 11,
  kUnavailable = 12,
  kIoError = 13,
  kInternal = 14,
};

const char* ErrorCodeName(ErrorCode c);  // "parse_error", ...

}  // namespace arcella::alme
