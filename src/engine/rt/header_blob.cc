// Embeds rt/include/wasm-rt.h into the engine: the AOT compiler writes it
// next to the generated C, so the engine binary needs no source tree.
#include "include/wasm-rt.h"  // makes the build rebuild this file on change

#ifndef ARCELLA_RT_HEADER_PATH
#error "ARCELLA_RT_HEADER_PATH must name rt/include/wasm-rt.h"
#endif

asm(".section .rodata\n"
    ".global arcella_wasm_rt_h_text\n"
    ".type arcella_wasm_rt_h_text, @object\n"
    "arcella_wasm_rt_h_text:\n"
    ".incbin \"" ARCELLA_RT_HEADER_PATH "\"\n"
    ".byte 0\n"
    ".previous\n");
