// Reads the code ranges of wasm2c's functions (w2c_f<N>) from an ELF64
// shared object's symbol table, for mapping trap addresses to functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/aot/compiler.h"

namespace arcella::engine::aot {

// `image` is the file's bytes; `load_base` the object's load bias;
// `export_func[i]` the function index of export i (UINT32_MAX if not a
// function), followed by the start function's index (or UINT32_MAX).
// Returns ranges sorted by address; empty without a symbol table.
std::vector<LoadedObject::Range> FunctionRanges(std::span<const uint8_t> image, uintptr_t load_base,
                                                std::span<const uint32_t> export_func);

}  // namespace arcella::engine::aot
