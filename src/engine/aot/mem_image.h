// Copy-on-write initial memory images in the generated code (see the image
// API in rt/include/wasm-rt.h).
//
// For an eligible module, wasm2c's init_memories() is rewritten so that the
// allocation of memory 0 goes through arcella_rt_allocate_memory_image() with
// a table of the active segments (built in init_memories); when the runtime mapped the image,
// init_memories() returns before its LOAD_DATA lines. Otherwise (image not
// usable) they run as before, so out-of-bounds segments still trap there.
#pragma once

#include <string>

namespace wabt {
struct Module;
}

namespace arcella::engine::aot {

// Number of active data segments if `module` can use an image: memory 0 is
// its only memory and defined, every active segment has an i32.const offset
// and lies within the initial memory, and one of them is non-empty. Else -1.
long ImageSegmentCount(const wabt::Module& module);

// Rewrites init_memories() in wasm2c output `c` (of a module for which
// ImageSegmentCount returned `segments`) and appends to `glue` the function
// `void arcella_release_images(void)`. Returns false, leaving both untouched,
// if the output does not have the expected shape.
bool RewriteForImage(std::string* c, long segments, std::string* glue);

}  // namespace arcella::engine::aot
