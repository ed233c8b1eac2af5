// Metering instrumentation: rewrites a module so that both tiers count fuel
// and honour interrupts identically.
//
// Added to the module (names in backend.h):
//   - import  "arcella_rt" "check" : func () -> ()   (becomes function 0;
//     every function reference is shifted: calls, ref.func, exports, start,
//     element segments, names)
//   - global  "__arcella_fuel"      : mut i64, exported (remaining fuel, signed)
//   - global  "__arcella_interrupt" : mut i32, exported (non-zero = stop)
//
// Fuel (Metering::kFuel): every executed instruction costs 1, except nop,
// block, loop, end (and else), which cost 0; of the exception-handling
// proposal, try, catch, catch_all and delegate cost 0 and throw/rethrow 1. Each function keeps fuel
// in a local: it loads the global at entry, charges each straight-line run of instructions once at
// its start, and writes the local back to the global before every call, call_indirect, return,
// throw, rethrow, return_call and function end (and reloads it after calls and at the start of a
// catch); a run ending in such an exit is charged in the write-back instead (instrument_fuel.cc).
// A trap leaves the global at the last write-back. At function entry and at each loop header the
// code checks `fuel < 0 || interrupt != 0` and, if so, stores fuel and calls `check`, which
// refills, or traps (out of fuel / deadline / interrupted). Metering::kInterrupt: only the
// interrupt check at entries and loop headers.
#pragma once

#include "common/status.h"
#include "engine/engine.h"

namespace wabt {
struct Module;
}

namespace arcella::engine {

// Instruments `ir` in place for `metering` (kNone: no change). `ir` must be
// valid; the result is valid.
Status Instrument(wabt::Module* ir, Metering metering);

}  // namespace arcella::engine
