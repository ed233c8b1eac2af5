// Guards around libwabt's reader found by fuzzing (fuzz/loader_fuzz.cc).
// libwabt asserts (aborts) on some malformed inputs it would otherwise
// accept; these checks run before and after ReadBinaryIr so that such inputs
// are rejected cleanly. Not part of the engine API.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"
#include "engine/preflight.h"

namespace wabt {
struct Module;
}

namespace arcella::engine::loader_internal {

// Scans the global, element and data sections of a binary whose 8-byte
// header was checked: every constant expression must consist of constant
// instructions only (t.const, v128.const, ref.null, ref.func, global.get)
// ended by `end`. (wabt's IR reader aborts on e.g. a `block` there.) Parts it
// cannot parse are left to wabt, which reports them. Also checks every custom
// section's name (length in bounds, valid UTF-8), which wabt only checks when
// told to fail on any custom-section error.
Status PrescanConstExprs(std::span<const uint8_t> wasm);

// Rejects types outside WebAssembly 2.0 that wabt's reader lets through
// (typed references, shared/64-bit tables and memories). Tags are allowed
// only with `allow_tags` (the exception-handling extension).
Status CheckCoreTypes(const wabt::Module& m, bool allow_tags = false);

// Appends every use of a post-2.0 proposal found in the IR (instructions in
// function bodies, tags, non-constant 2.0 constant expressions), one entry
// per feature, with the byte offset of its first use.
void ScanFeatures(const wabt::Module& m, std::vector<FeatureUse>* out);

// Drops debug-name bindings that point past the end of their index space
// (a malformed name section; wabt's writer aborts on them).
void SanitizeNames(wabt::Module* m);

}  // namespace arcella::engine::loader_internal
