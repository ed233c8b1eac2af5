// Access to three private members of libwabt 1.0.32's interpreter that the
// public API does not expose but the interpreter tier needs:
//   Thread::frames_  - its reserved capacity IS the call-depth limit
//                      (PushCall traps when size() == capacity()), fixed at
//                      64 KiB / sizeof(Frame) by the constructor;
//   Trap::trace_     - the call frames at the trap (which function trapped);
//   Global::value_   - address of a global's value, for the cross-thread
//                      interrupt-flag store.
// Uses the standard-sanctioned rule that explicit template instantiations
// ignore access checks. Tied to wabt 1.0.32's layout of these classes: a
// wabt upgrade must re-check interp.h.
#pragma once

#include <vector>

#include <wabt/interp/interp.h>

namespace arcella::engine::interp_private {

template <typename Tag, typename Tag::type kMember>
struct Robber {
  friend typename Tag::type Member(Tag) { return kMember; }
};

struct ThreadFrames {
  using type = std::vector<wabt::interp::Frame> wabt::interp::Thread::*;
  friend type Member(ThreadFrames);
};
struct TrapTrace {
  using type = std::vector<wabt::interp::Frame> wabt::interp::Trap::*;
  friend type Member(TrapTrace);
};
struct GlobalValue {
  using type = wabt::interp::Value wabt::interp::Global::*;
  friend type Member(GlobalValue);
};

template struct Robber<ThreadFrames, &wabt::interp::Thread::frames_>;
template struct Robber<TrapTrace, &wabt::interp::Trap::trace_>;
template struct Robber<GlobalValue, &wabt::interp::Global::value_>;

inline std::vector<wabt::interp::Frame>& Frames(wabt::interp::Thread& t) {
  return t.*Member(ThreadFrames{});
}
inline const std::vector<wabt::interp::Frame>& Trace(const wabt::interp::Trap& t) {
  return t.*Member(TrapTrace{});
}
inline wabt::interp::Value* GlobalSlot(wabt::interp::Global& g) {
  return &(g.*Member(GlobalValue{}));
}

}  // namespace arcella::engine::interp_private
