// Internals of the metering instrumentation shared by instrument.cc and
// instrument_fuel.cc. Not part of the engine API.
#pragma once

#include <cstdint>
#include <memory>

#include "wabt/ir.h"

namespace arcella::engine::instr {

// The imported `check` function is always function 0.
inline constexpr wabt::Index kCheckFunc = 0;

// Indices of the two metering globals.
struct Globals {
  wabt::Index fuel = 0;
  wabt::Index interrupt = 0;
};

// Index of the function type with `sig`; a new one is appended after the
// last type field (before every import and function) if there is none.
// Shared with interp/catch_locals.cc.
wabt::Index FuncTypeIndex(wabt::Module* m, const wabt::FuncSignature& sig);

// Expression builders (append to `out`).
void Emit(wabt::ExprList* out, std::unique_ptr<wabt::Expr> e);
void LocalGet(wabt::ExprList* out, wabt::Index local);
void LocalSet(wabt::ExprList* out, wabt::Index local);
void GlobalGet(wabt::ExprList* out, wabt::Index global);
void GlobalSet(wabt::ExprList* out, wabt::Index global);
void I64Const(wabt::ExprList* out, uint64_t value);

// `global.get $interrupt; if call $check end`
wabt::ExprList InterruptCheck(const Globals& g);
// With the fuel local's value on the stack:
// `i64.const 0; i64.lt_s; global.get $interrupt; i32.or;
//  if global.set $fuel (local $f); call $check; local.set $f (global $fuel) end`
wabt::ExprList FuelCheck(const Globals& g, wabt::Index fuel_local);

// Adds the fuel local to `f` and charges, flushes and checks (instrument.h).
void InstrumentFuel(wabt::Func* f, const Globals& g);

}  // namespace arcella::engine::instr
