#include "engine/trap.h"

namespace arcella::engine {

const char* TrapKindName(TrapKind kind) {
  switch (kind) {
    case TrapKind::kNone: return "none";
    case TrapKind::kUnreachable: return "unreachable";
    case TrapKind::kMemoryOutOfBounds: return "out of bounds memory access";
    case TrapKind::kTableOutOfBounds: return "out of bounds table access";
    case TrapKind::kIndirectCallNull: return "uninitialized element";
    case TrapKind::kIndirectCallTypeMismatch: return "indirect call type mismatch";
    case TrapKind::kStackExhausted: return "call stack exhausted";
    case TrapKind::kOutOfFuel: return "out of fuel";
    case TrapKind::kDeadline: return "deadline exceeded";
    case TrapKind::kInterrupted: return "interrupted";
    case TrapKind::kIntegerDivideByZero: return "integer divide by zero";
    case TrapKind::kIntegerOverflow: return "integer overflow";
    case TrapKind::kBadConversion: return "invalid conversion to integer";
    case TrapKind::kNullReference: return "null reference";
    case TrapKind::kHostError: return "host error";
    case TrapKind::kExit: return "exit";
  }
  return "unknown trap";
}

std::string Trap::ToString() const {
  if (kind == TrapKind::kExit) return "exit(" + std::to_string(exit_code) + ")";
  std::string s = TrapKindName(kind);
  if (!function.empty()) s += " in " + function;
  if (!message.empty()) s += ": " + message;
  return s;
}

}  // namespace arcella::engine
