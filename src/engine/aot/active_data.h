// Active data segments written by the engine, not by wasm2c.
//
// wasm2c 1.0.32 gives every data segment of its IR a global C name, and it
// copies its set of global names into every function's scope: a module of F
// functions and S segments costs it F x (F + S) string copies (CRuby: 17,850
// functions, 17,866 segments). Active segments need no name in the C: their
// bytes come from the data blob (data_blob.h) and the only code that reads
// them is init_memories(). So before wasm2c runs, DetachActiveData takes them
// out of the IR and keeps the LOAD_DATA lines wasm2c would have written for
// them (same text, same order), which InsertActiveLoads puts back into
// init_memories() afterwards; the C is the same as before, the mem_image
// rewrite (mem_image.h) still applies to it.
//
// Segment indices stay valid: after ApplyNames, memory.init and data.drop
// refer to segments by name ("$d<i>", bound to the new positions), passive
// segments keep their names and blob index i. An active segment that an
// instruction names is already dropped when code runs (spec: instantiation
// drops active segments), so it stays in the IR as an empty passive segment:
// memory.init of it still traps unless the length is 0, data.drop of it has
// no effect, as before.
#pragma once

#include <string>

namespace wabt {
struct Module;
}

namespace arcella::engine::aot {

struct DetachedData {
  bool detached = false;  // false: the IR is untouched (shape not handled)
  std::string loads;      // "  LOAD_DATA(...);\n" per active segment, in order
  uint32_t removed = 0;   // segments taken out of the IR
  uint32_t emptied = 0;   // active segments kept as empty passive ones
};

// For a named module (after GenerateNames/ApplyNames with the codegen's
// "$d<i>", "$M0" names and imports renamed ("h", "f<i>")): removes the active
// data segments from `module->data_segments` (the segments stay owned by the
// module's fields) and rebinds the names of the rest. Handles memory 0 only
// (defined or imported, 32-bit) and offsets that are an i32.const or a
// global.get of an imported global; anything else leaves the IR untouched.
// Call after the data blob and the image segment count were taken.
DetachedData DetachActiveData(wabt::Module* module);

// Appends `loads` to the body of the single init_memories() of wasm2c
// output `c`. False (and `c` untouched) if that function is not found.
bool InsertActiveLoads(std::string* c, const std::string& loads);

}  // namespace arcella::engine::aot
