// The call ring: calls between the daemon and one arcella-worker through
// shared memory instead of the socket (docs/WORKER.md "The call ring").
//
// A sealed memfd made by the daemon per worker (fixed size: the worker can
// neither shrink nor grow it), mapped MAP_SHARED by both. One page of header,
// then `slots` (<= kRingMaxSlots) fixed slots of one page each. A slot
// carries one call at a time: the daemon writes the `call` frame (the bytes
// AppendCallFrame makes) and sets the slot's state to kRingCall and its bit
// in `posted`; a worker thread takes the bit, runs the call and writes the
// `reply` frame (AppendCallReplyFrame's bytes) with state kRingReply, or,
// when the reply does not fit, sets kRingSpilled and then sends it on the
// socket (in that order: the caller frees the slot once the reply arrives).
// Wake-ups are futexes on shared words (the doorbell for the worker's idle
// threads, each slot's state for its caller), after a bounded spin.
//
// The same layout serves the other direction too: the link ring, where a
// worker's replicas post `link-call` frames and daemon threads answer them
// with `link-reply` (docs/WORKER.md "The link ring"). There the worker is
// the RingClient and the daemon the RingServer.
//
// The worker is never trusted. As the caller (call ring), the daemon's
// RingClient keeps each slot's real state privately and reads the shared
// state only as a hint; a reply is copied out once, its length checked
// against the slot and against the frame's own length prefix, and nothing
// else the worker wrote is used. As the server (link ring), the daemon's
// RingServer takes a slot only while it is not already serving it, and
// copies a call out once with the same checks (CopyFrame). Anything out of
// place is reported (kBroken, an error from Acquire or CopyFrame) so the
// daemon can end the worker; it never crashes or hangs on it. The worker's
// ends trust the daemon.
//
// Thread-safety: every RingClient and RingServer method may be called from
// any thread; one slot is used by one caller at a time (Acquire to Release).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace arcella::worker {

inline constexpr uint32_t kRingMagic = 0x41524352;  // "ARCR"
inline constexpr uint32_t kRingVersion = 1;
inline constexpr uint32_t kRingMaxSlots = 64;     // bits of RingHeader::posted
inline constexpr uint32_t kRingPageBytes = 4096;  // the header, and each slot
inline constexpr uint32_t kRingSlotBytes = 4032;  // a slot's frame bytes (page - 64)

// RingSlot::state. The daemon writes kRingFree, kRingCall and kRingClosed;
// the worker writes kRingReply and kRingSpilled.
enum RingState : uint32_t {
  kRingFree = 0,     // no call
  kRingCall = 1,     // a call is posted or running
  kRingReply = 2,    // the reply frame is in `data`
  kRingSpilled = 3,  // the reply went on the socket (too big for the slot)
  kRingClosed = 4,   // the worker is gone (written by the daemon to wake its callers)
};

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// The shared layout (both processes are built from this source).
struct RingHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t slots;
  uint32_t slot_bytes;
  uint32_t worker_spin_ns;  // how long an idle worker thread spins at most before sleeping
  alignas(64) std::atomic<uint64_t> posted;    // bit i: slot i holds a call no thread took yet
  alignas(64) std::atomic<uint32_t> doorbell;  // bumped per call posted (worker futex word)
  std::atomic<uint32_t> sleepers;              // worker threads asleep on the doorbell
  std::atomic<uint32_t> spinning;              // worker threads spinning for work
};
struct RingSlot {
  std::atomic<uint32_t> state;    // RingState; the caller's futex word
  std::atomic<uint32_t> waiting;  // 1: the caller sleeps (or is about to) on `state`
  std::atomic<uint32_t> cancel;   // 1: the daemon cancelled this call
  std::atomic<uint32_t> len;      // bytes of `data` in use: one whole frame
  uint8_t reserved[48];
  uint8_t data[kRingSlotBytes];
};
static_assert(sizeof(RingHeader) <= kRingPageBytes);
static_assert(sizeof(RingSlot) == kRingPageBytes);

// The mapping of one ring. Unmapped when destroyed.
class CallRing {
 public:
  // Daemon: a new ring of `slots` (1..kRingMaxSlots) in a sealed memfd. A
  // worker thread that finished a call spins up to `worker_spin` for the next.
  static Result<std::unique_ptr<CallRing>> Create(uint32_t slots,
                                                  std::chrono::nanoseconds worker_spin);
  // Worker: maps the ring passed as `fd` (taken, closed once mapped);
  // InvalidArgument if its size, magic, version or geometry is not ours.
  static Result<std::unique_ptr<CallRing>> Map(int fd);
  ~CallRing();
  CallRing(const CallRing&) = delete;
  CallRing& operator=(const CallRing&) = delete;

  // Daemon: the memfd, to hand to the worker (empty after Map or once taken).
  UniqueFd TakeFd() { return std::move(fd_); }
  uint32_t slots() const { return slots_; }
  RingHeader* header() const { return reinterpret_cast<RingHeader*>(base_); }
  RingSlot* slot(uint32_t i) const {
    return reinterpret_cast<RingSlot*>(base_ + kRingPageBytes * (1 + static_cast<size_t>(i)));
  }
  size_t bytes() const { return bytes_; }

 private:
  CallRing(uint8_t* base, size_t bytes, uint32_t slots, UniqueFd fd)
      : base_(base), bytes_(bytes), slots_(slots), fd_(std::move(fd)) {}
  uint8_t* base_;
  size_t bytes_;
  uint32_t slots_;
  UniqueFd fd_;
};

// A spin bound that follows whether spinning pays: the full bound after a
// spin that paid, half after one that did not (down to none: a loaded
// machine, long or sparse calls); while at none, every 32nd wait spins the
// full bound again to see whether it pays now. A caller's spin pays if the
// answer came within half the bound (a later one would have reached a
// sleeping caller as soon: its worker thread was waiting for a CPU); a worker
// thread's if a call came at all. Thread-safe.
class SpinBudget {
 public:
  explicit SpinBudget(int64_t max_ns) : max_(max_ns < 0 ? 0 : max_ns), ns_(max_) {}
  // How long the next wait may spin (ns; 0: sleep at once).
  int64_t Next();
  // The spin that Next() allowed ended with (true) or without (false) its answer.
  void Paid(bool paid);

 private:
  const int64_t max_;
  std::atomic<int64_t> ns_;
  std::atomic<uint32_t> skipped_{0};
};

// The daemon's end.
class RingClient {
 public:
  struct Options {
    std::chrono::nanoseconds spin{0};  // a caller spins at most this long, then sleeps
    uint32_t max_spinners = 1;         // callers of this ring spinning at once
  };
  RingClient(std::unique_ptr<CallRing> ring, Options options);

  // A free slot (first in, first out), or -1 if every slot is in use or the
  // ring is closed. Corruption if the worker wrote the state of a slot that
  // had no call: the slot is not handed out and the worker must be ended.
  Result<int> Acquire();
  // Posts `frame` (at most kRingSlotBytes) in an acquired slot and rings the
  // doorbell.
  void Post(int slot, std::span<const uint8_t> frame);
  // Flags the slot's call cancelled (the worker checks it once the call is
  // registered; the socket's `cancel` reaches a call already running).
  void Cancel(int slot);

  enum class Poll { kWaiting, kReply, kSpilled, kBroken };
  // Waits up to `timeout` for the worker's answer in `slot`: spins first (if
  // fewer than max_spinners callers spin), then sleeps on the slot's futex.
  // The spin adapts (SpinBudget).
  // kReply: `reply` holds a copy of the whole frame (length prefix checked
  // against the slot); kSpilled: the reply comes on the socket; kBroken:
  // `why` says what the worker wrote that it must not have; kWaiting: not
  // yet (time out, spurious wake-up, or the ring was closed).
  Poll Wait(int slot, std::chrono::milliseconds timeout, std::vector<uint8_t>* reply,
            std::string* why);
  // Gives the slot back (after its reply, or once the worker is gone).
  void Release(int slot);
  // The worker is gone: every caller's Wait returns, Acquire gives -1.
  void Close();
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  uint32_t slots() const { return ring_->slots(); }
  CallRing& ring() { return *ring_; }

 private:
  Poll Evaluate(int slot, uint32_t state, std::vector<uint8_t>* reply, std::string* why);

  std::unique_ptr<CallRing> ring_;
  const Options options_;
  std::atomic<bool> closed_{false};
  std::atomic<uint32_t> spinners_{0};
  SpinBudget budget_;
  std::mutex mu_;
  std::deque<int> free_;      // free slots, first in first out; guarded by mu_
  std::vector<bool> posted_;  // the daemon's own per-slot state; guarded by mu_
};

// The worker's end.
class RingServer {
 public:
  explicit RingServer(std::unique_ptr<CallRing> ring);

  // Blocks until a call is posted and takes it (its slot), or Stop() (-1).
  // With `spin` (the thread just finished a call) it spins first, unless
  // another thread already spins; then it sleeps. The spin adapts
  // (SpinBudget).
  int Take(bool spin);
  // The call frame in `slot` (empty if its length is out of range). Points
  // into the shared mapping: for a client that is trusted (the daemon).
  std::span<const uint8_t> Frame(int slot) const;
  // The call frame in `slot` copied into `frame`, its length read once and
  // checked against the slot and against the frame's own length prefix:
  // for an untrusted client (a worker), which may rewrite the slot at any
  // time. Corruption naming the problem otherwise.
  Status CopyFrame(int slot, std::vector<uint8_t>* frame) const;
  bool Cancelled(int slot) const;
  // Answers `slot` with `frame` (at most kRingSlotBytes) and wakes its caller.
  void Reply(int slot, std::span<const uint8_t> frame);
  // The reply went on the socket: tells the caller to read it there.
  void Spilled(int slot);
  // Every Take() returns -1 from now on.
  void Stop();
  // Threads in Take() (spinning or asleep).
  uint32_t idle() const { return idle_.load(std::memory_order_relaxed); }
  uint32_t slots() const { return ring_->slots(); }
  CallRing& ring() { return *ring_; }

 private:
  int TryTake();
  void Publish(int slot, uint32_t state);

  std::unique_ptr<CallRing> ring_;
  // Bit i: slot i was taken and not answered yet. Private: a client posting
  // a slot again before its answer (only an untrusted one would) is not
  // served twice.
  std::atomic<uint64_t> serving_{0};
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> idle_{0};
  SpinBudget budget_;
};

}  // namespace arcella::worker
