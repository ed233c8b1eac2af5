// Folds the fuel metering's C (as wasm2c 1.0.32 writes it) into one C
// statement per charge, write-back, reload and check.
//
// wasm2c writes one C statement per wasm instruction through stack
// temporaries, so `local.get $f; i64.const 17; i64.sub; local.set $f` is
// four statements; the metering (instrument_fuel.cc) adds ~18k such runs to
// a 4 MB CRuby unit, half its C. FoldFuel rewrites exactly the sequences
// the instrumenter emits (listed in c_peephole.cc) and nothing else:
//   j0 = l20; j1 = 17ull; j0 -= j1; l20 = j0;   ->  l20 -= 17ull;
// The rewrite only removes writes to stack temporaries that are dead (wasm2c
// names a temporary by its stack slot; a slot above the stack top is always
// written before it is read again), so the C means exactly what it meant.
//
// Threads: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace arcella::engine::aot {

struct FoldStats {
  uint64_t folds = 0;          // sequences rewritten
  uint64_t lines_removed = 0;  // C lines saved
};

// `func` is one whole function definition (its header line up to its
// closing "}" line, newline-terminated) after MakeVolatile(interrupt_field);
// `interrupt_field` is the instance field of the interrupt flag (the fuel
// check reads it). A function without the fuel entry check (no fuel
// metering, or an unexpected shape) is returned unchanged. `stats`, if not
// null, is added to.
std::string FoldFuel(std::string_view func, std::string_view interrupt_field,
                     FoldStats* stats = nullptr);

}  // namespace arcella::engine::aot
