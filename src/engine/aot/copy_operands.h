// The operand order of memory.copy between two memories, as wasm2c reads it.
//
// The binary encodes `memory.copy dst src` (destination memory first). wabt
// 1.0.32's readers store the first immediate in MemoryCopyExpr::srcmemidx and
// the second in destmemidx, and its text/binary writers and interpreter read
// them back the same way, so wabt agrees with itself; but wasm2c's C writer
// takes destmemidx as the destination, so its C copies from the destination
// memory into the source memory. SwapCopyOperands swaps the two fields of
// every memory.copy whose memories differ, so that wasm2c's C copies in the
// direction of the binary. Used by the codegen (codegen.h) on the IR it hands
// to wasm2c only: that IR is never encoded or validated again afterwards.
//
// Threads: a pure function of its argument.
#pragma once

#include <cstdint>

namespace wabt {
struct Module;
}

namespace arcella::engine::aot {

// Swaps srcmemidx and destmemidx of every memory.copy of every function of
// `module` that names two different memories. Returns how many it swapped.
uint32_t SwapCopyOperands(wabt::Module* module);

}  // namespace arcella::engine::aot
