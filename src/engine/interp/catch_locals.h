// Works around a bug of the pinned wabt 1.0.32 interpreter: when a `catch`
// or `catch_all` handler is entered, the value stack is cut back without
// counting the function's declared locals (only its parameters), so the
// handler sees a corrupt frame and wabt aborts (wabt issue #2476, fixed in
// 1.0.36). Parameters are counted correctly, hence the rewrite:
//
//   (func $f (param P...) (result R...) (local L...) BODY)
// becomes
//   (func $f (param P...) (result R...)
//     local.get 0..|P|-1, <zero of each L>, call $f.inner)
//   (func $f.inner (param P... L...) (result R...) BODY)     ;; appended last
//
// BODY is unchanged (a local's index is the same as a parameter's), so
// metering done before this rewrite stays exact: the wrapper is not metered.
// Applied only to functions with declared locals that contain a `try`. Cost:
// one extra call frame per such call (it counts against max_stack_depth).
#pragma once

namespace wabt {
struct Module;
}

namespace arcella::engine::interp {

// Rewrites `ir` (valid, exceptions enabled) in place; returns the number of
// functions rewritten. The result is valid.
int LiftCatchLocals(wabt::Module* ir);

}  // namespace arcella::engine::interp
