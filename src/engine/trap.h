// Traps: guest-visible failures of a call. A trap never kills the process.
#pragma once

#include <cstdint>
#include <string>

namespace arcella::engine {

enum class TrapKind : uint8_t {
  kNone = 0,
  kUnreachable,               // `unreachable` executed
  kMemoryOutOfBounds,         // linear-memory access out of bounds
  kTableOutOfBounds,          // table access / table.init / elem out of bounds
  kIndirectCallNull,          // call_indirect of a null / uninitialised element
  kIndirectCallTypeMismatch,  // call_indirect signature mismatch
  kStackExhausted,            // call depth limit or native stack exhausted
  kOutOfFuel,                 // fuel ran out and was not refilled
  kDeadline,                  // the per-call wall-clock deadline passed
  kInterrupted,               // Instance::Interrupt() from another thread
  kIntegerDivideByZero,
  kIntegerOverflow,
  kBadConversion,  // float -> int of NaN / out of range
  kNullReference,  // null reference where not allowed
  kHostError,      // a host function failed
  kExit,           // the guest asked to exit (WASI proc_exit)
};

// Stable lower-case name: "unreachable", "out of fuel", ...
const char* TrapKindName(TrapKind kind);

struct Trap {
  TrapKind kind = TrapKind::kNone;
  std::string function;   // export name or "func[12]" / name section name, if known
  std::string message;    // extra detail (host errors)
  int32_t exit_code = 0;  // for kExit

  // "out of fuel in func[3]" / "exit(2)".
  std::string ToString() const;
};

}  // namespace arcella::engine
