#include "worker/call_ring.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <new>

namespace arcella::worker {
namespace {

using Clock = std::chrono::steady_clock;

// Shared futexes (not FUTEX_PRIVATE_FLAG): the words live in a MAP_SHARED
// mapping of the same file in two processes.
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, const timespec* timeout) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, timeout, nullptr, 0);
}
void FutexWake(std::atomic<uint32_t>* word, int n) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, n, nullptr, nullptr, 0);
}

inline void CpuRelax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// One step of a bounded spin: pause instructions first, then sched_yield,
// so that a spinner sharing its CPU with the thread it waits for (more
// runnable threads than CPUs: a loaded machine) lets that thread run. True
// when the clock should be checked.
constexpr int kPauseSteps = 256;
inline bool SpinStep(int i) {
  if (i < kPauseSteps) {
    CpuRelax();
    return (i & 31) == 0;
  }
  sched_yield();
  return true;
}

size_t RingBytes(uint32_t slots) { return size_t{kRingPageBytes} * (1 + size_t{slots}); }

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

int64_t SpinBudget::Next() {
  const int64_t b = ns_.load(std::memory_order_relaxed);
  if (b > 0 || max_ == 0) return b;
  return (skipped_.fetch_add(1, std::memory_order_relaxed) & 31) == 31 ? max_ : 0;
}

void SpinBudget::Paid(bool paid) {
  const int64_t b = ns_.load(std::memory_order_relaxed);
  if (paid) {
    if (b != max_) ns_.store(max_, std::memory_order_relaxed);
  } else if (b != 0) {
    ns_.store(b < 2000 ? 0 : b / 2, std::memory_order_relaxed);
  }
}

Result<std::unique_ptr<CallRing>> CallRing::Create(uint32_t slots,
                                                   std::chrono::nanoseconds worker_spin) {
  if (slots == 0 || slots > kRingMaxSlots)
    return Status::InvalidArgument("call ring: " + std::to_string(slots) + " slots, not 1.." +
                                   std::to_string(kRingMaxSlots));
  UniqueFd fd(static_cast<int>(
      syscall(SYS_memfd_create, "arcella-call-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!fd) return Status::IoError(std::string("call ring: memfd_create: ") + strerror(errno));
  const size_t bytes = RingBytes(slots);
  if (ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0)
    return Status::IoError(std::string("call ring: ftruncate: ") + strerror(errno));
  // Fixed size: a worker that could shrink the file would make the daemon's
  // next access to the mapping a SIGBUS.
  if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return Status::IoError(std::string("call ring: seal: ") + strerror(errno));
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED)
    return Status::IoError(std::string("call ring: mmap: ") + strerror(errno));
  auto* h = new (base) RingHeader{};
  h->magic = kRingMagic;
  h->version = kRingVersion;
  h->slots = slots;
  h->slot_bytes = kRingSlotBytes;
  h->worker_spin_ns = static_cast<uint32_t>(
      std::min<int64_t>(worker_spin.count() < 0 ? 0 : worker_spin.count(), 10'000'000));
  auto* p = static_cast<uint8_t*>(base);
  for (uint32_t i = 0; i < slots; ++i) new (p + size_t{kRingPageBytes} * (1 + i)) RingSlot{};
  return std::unique_ptr<CallRing>(new CallRing(p, bytes, slots, std::move(fd)));
}

Result<std::unique_ptr<CallRing>> CallRing::Map(int fd_in) {
  UniqueFd fd(fd_in);
  struct stat st;
  if (fstat(fd.get(), &st) != 0)
    return Status::IoError(std::string("call ring: fstat: ") + strerror(errno));
  if (st.st_size < static_cast<off_t>(RingBytes(1)) ||
      st.st_size > static_cast<off_t>(RingBytes(kRingMaxSlots)))
    return Status::InvalidArgument("call ring: size " + std::to_string(st.st_size) +
                                   " out of range");
  const auto bytes = static_cast<size_t>(st.st_size);
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED)
    return Status::IoError(std::string("call ring: mmap: ") + strerror(errno));
  auto* p = static_cast<uint8_t*>(base);
  std::unique_ptr<CallRing> ring(new CallRing(p, bytes, 0, UniqueFd()));
  const RingHeader* h = ring->header();
  if (h->magic != kRingMagic || h->version != kRingVersion)
    return Status::InvalidArgument("call ring: version " + std::to_string(h->version) +
                                   ", expected " + std::to_string(kRingVersion));
  if (h->slot_bytes != kRingSlotBytes || h->slots == 0 || h->slots > kRingMaxSlots ||
      RingBytes(h->slots) != bytes)
    return Status::InvalidArgument(
        "call ring: geometry does not match (" + std::to_string(h->slots) + " slots of " +
        std::to_string(h->slot_bytes) + " bytes in " + std::to_string(bytes) + ")");
  ring->slots_ = h->slots;
  return ring;
}

CallRing::~CallRing() { munmap(base_, bytes_); }

// ---- daemon end ------------------------------------------------------------

RingClient::RingClient(std::unique_ptr<CallRing> ring, Options options)
    : ring_(std::move(ring)),
      options_(options),
      budget_(options.spin.count()),
      posted_(ring_->slots(), false) {
  for (uint32_t i = 0; i < ring_->slots(); ++i) free_.push_back(static_cast<int>(i));
}

Result<int> RingClient::Acquire() {
  if (closed_.load(std::memory_order_acquire)) return -1;
  int slot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return -1;
    slot = free_.front();
    free_.pop_front();
    posted_[slot] = true;
  }
  // The daemon left it kRingFree; only a worker writing where it was not
  // asked changes that.
  uint32_t state = ring_->slot(slot)->state.load(std::memory_order_acquire);
  if (state != kRingFree) {
    Release(slot);
    return Status::Corruption("call ring: slot " + std::to_string(slot) +
                              " had no call but its state is " + std::to_string(state));
  }
  return slot;
}

void RingClient::Post(int slot, std::span<const uint8_t> frame) {
  RingSlot* s = ring_->slot(slot);
  RingHeader* h = ring_->header();
  s->cancel.store(0, std::memory_order_relaxed);
  s->waiting.store(0, std::memory_order_relaxed);
  std::memcpy(s->data, frame.data(), frame.size());
  s->len.store(static_cast<uint32_t>(frame.size()), std::memory_order_relaxed);
  s->state.store(kRingCall, std::memory_order_release);
  h->posted.fetch_or(uint64_t{1} << slot);
  h->doorbell.fetch_add(1);
  // A thread spinning for work takes it; wake a sleeper only if none spins.
  if (h->spinning.load() == 0 && h->sleepers.load() != 0) FutexWake(&h->doorbell, 1);
}

void RingClient::Cancel(int slot) { ring_->slot(slot)->cancel.store(1); }

RingClient::Poll RingClient::Evaluate(int slot, uint32_t state, std::vector<uint8_t>* reply,
                                      std::string* why) {
  switch (state) {
    case kRingCall: return Poll::kWaiting;
    case kRingSpilled: return Poll::kSpilled;
    case kRingClosed:
      if (closed_.load()) return Poll::kWaiting;
      *why = "slot " + std::to_string(slot) + " marked closed by the worker";
      return Poll::kBroken;
    case kRingReply: break;
    default:
      *why = "slot " + std::to_string(slot) + " has state " + std::to_string(state);
      return Poll::kBroken;
  }
  RingSlot* s = ring_->slot(slot);
  // Read once, checked, copied once: the worker may change anything at any time.
  const uint32_t len = s->len.load(std::memory_order_relaxed);
  if (len < 4 || len > kRingSlotBytes) {
    *why = "slot " + std::to_string(slot) + " reply length " + std::to_string(len) +
           " out of range 4.." + std::to_string(kRingSlotBytes);
    return Poll::kBroken;
  }
  reply->resize(len);
  std::memcpy(reply->data(), s->data, len);
  const uint32_t body = ReadBigEndian32(reply->data());
  if (body != len - 4) {
    *why = "slot " + std::to_string(slot) + " frame says " + std::to_string(body) +
           " bytes, the slot holds " + std::to_string(len - 4);
    return Poll::kBroken;
  }
  return Poll::kReply;
}

RingClient::Poll RingClient::Wait(int slot, std::chrono::milliseconds timeout,
                                  std::vector<uint8_t>* reply, std::string* why) {
  RingSlot* s = ring_->slot(slot);
  if (closed_.load(std::memory_order_acquire)) return Poll::kWaiting;
  uint32_t state = s->state.load(std::memory_order_acquire);
  if (state == kRingCall) {
    const int64_t budget = budget_.Next();
    if (budget > 0 && spinners_.fetch_add(1) < options_.max_spinners) {
      const auto start = Clock::now();
      const auto until = start + std::chrono::nanoseconds(budget);
      for (int i = 1;; ++i) {
        const bool check = SpinStep(i);
        state = s->state.load(std::memory_order_acquire);
        if (state != kRingCall) break;
        if (check && Clock::now() >= until) break;
      }
      // Paid only if the answer came in the first half: one that came late
      // (the worker thread waited for this CPU) would have come as soon to
      // a sleeping caller, for less CPU.
      budget_.Paid(state != kRingCall &&
                   Clock::now() - start <= std::chrono::nanoseconds(budget / 2));
    }
    if (budget > 0) spinners_.fetch_sub(1);
  }
  if (state == kRingCall) {
    // Dekker with RingServer::Publish: `waiting` before `state` here, `state`
    // before `waiting` there (both sequentially consistent).
    s->waiting.store(1);
    state = s->state.load();
    if (state == kRingCall && !closed_.load()) {
      timespec ts{static_cast<time_t>(timeout.count() / 1000),
                  static_cast<long>(timeout.count() % 1000) * 1'000'000};
      FutexWait(&s->state, kRingCall, &ts);
      state = s->state.load(std::memory_order_acquire);
    }
    s->waiting.store(0, std::memory_order_relaxed);
  }
  return Evaluate(slot, state, reply, why);
}

void RingClient::Release(int slot) {
  ring_->slot(slot)->state.store(kRingFree, std::memory_order_release);
  std::lock_guard<std::mutex> lock(mu_);
  if (!posted_[slot]) return;
  posted_[slot] = false;
  free_.push_back(slot);
}

void RingClient::Close() {
  closed_.store(true);
  for (uint32_t i = 0; i < ring_->slots(); ++i) {
    RingSlot* s = ring_->slot(i);
    s->state.store(kRingClosed);
    FutexWake(&s->state, INT_MAX);
  }
}

// ---- worker end ------------------------------------------------------------

RingServer::RingServer(std::unique_ptr<CallRing> ring)
    : ring_(std::move(ring)), budget_(ring_->header()->worker_spin_ns) {}

int RingServer::TryTake() {
  RingHeader* h = ring_->header();
  uint64_t mask = h->posted.load(std::memory_order_acquire);
  while (mask != 0) {
    const int i = __builtin_ctzll(mask);
    const uint64_t bit = uint64_t{1} << i;
    const uint64_t before = h->posted.fetch_and(~bit);
    if ((before & bit) && static_cast<uint32_t>(i) < ring_->slots() &&
        (serving_.fetch_or(bit) & bit) == 0) {
      // More posted and nobody spinning: pass the word on to a sleeper.
      if ((before & ~bit) != 0 && h->spinning.load() == 0 && h->sleepers.load() != 0)
        FutexWake(&h->doorbell, 1);
      return i;
    }
    // Not posted after all (another thread took it), out of the ring's
    // range, or still being served (posted again by a client that must not
    // have): nothing to take in this slot.
    mask = before & ~bit;
  }
  return -1;
}

int RingServer::Take(bool spin) {
  RingHeader* h = ring_->header();
  idle_.fetch_add(1, std::memory_order_relaxed);
  int slot = -1;
  for (;;) {
    if (stop_.load(std::memory_order_acquire)) break;
    if ((slot = TryTake()) >= 0) break;
    const int64_t budget = spin ? budget_.Next() : 0;
    spin = false;  // once per call finished: an idle worker sleeps
    if (budget > 0) {
      if (h->spinning.fetch_add(1) == 0) {
        const auto until = Clock::now() + std::chrono::nanoseconds(budget);
        for (int i = 1; !stop_.load(std::memory_order_relaxed); ++i) {
          const bool check = SpinStep(i);
          if (h->posted.load(std::memory_order_relaxed) != 0 && (slot = TryTake()) >= 0) break;
          if (check && Clock::now() >= until) break;
        }
        budget_.Paid(slot >= 0);
      }
      h->spinning.fetch_sub(1);
      if (slot >= 0) {
        // A call posted while this thread still counted as spinning woke
        // nobody (Post leaves it to the spinner): pass it on now. Dekker with
        // Post: `spinning` before `posted` here, `posted` before `spinning` there.
        if (h->posted.load() != 0 && h->sleepers.load() != 0) FutexWake(&h->doorbell, 1);
        break;
      }
      continue;
    }
    h->sleepers.fetch_add(1);
    const uint32_t bell = h->doorbell.load();
    if (h->posted.load() == 0 && !stop_.load()) FutexWait(&h->doorbell, bell, nullptr);
    h->sleepers.fetch_sub(1);
  }
  idle_.fetch_sub(1, std::memory_order_relaxed);
  return slot;
}

std::span<const uint8_t> RingServer::Frame(int slot) const {
  const RingSlot* s = ring_->slot(slot);
  const uint32_t len = s->len.load(std::memory_order_relaxed);
  if (len > kRingSlotBytes) return {};
  return {s->data, len};
}

Status RingServer::CopyFrame(int slot, std::vector<uint8_t>* frame) const {
  const RingSlot* s = ring_->slot(slot);
  // Read once, checked, copied once: the client may change anything at any time.
  const uint32_t len = s->len.load(std::memory_order_relaxed);
  if (len < 4 || len > kRingSlotBytes)
    return Status::Corruption("slot " + std::to_string(slot) + " frame length " +
                              std::to_string(len) + " out of range 4.." +
                              std::to_string(kRingSlotBytes));
  frame->resize(len);
  std::memcpy(frame->data(), s->data, len);
  const uint32_t body = ReadBigEndian32(frame->data());
  if (body != len - 4)
    return Status::Corruption("slot " + std::to_string(slot) + " frame says " +
                              std::to_string(body) + " bytes, the slot holds " +
                              std::to_string(len - 4));
  return Status::Ok();
}

bool RingServer::Cancelled(int slot) const { return ring_->slot(slot)->cancel.load() != 0; }

void RingServer::Publish(int slot, uint32_t state) {
  RingSlot* s = ring_->slot(slot);
  serving_.fetch_and(~(uint64_t{1} << slot));
  s->state.store(state);
  if (s->waiting.load() != 0) FutexWake(&s->state, 1);
}

void RingServer::Reply(int slot, std::span<const uint8_t> frame) {
  RingSlot* s = ring_->slot(slot);
  std::memcpy(s->data, frame.data(), frame.size());
  s->len.store(static_cast<uint32_t>(frame.size()), std::memory_order_relaxed);
  Publish(slot, kRingReply);
}

void RingServer::Spilled(int slot) { Publish(slot, kRingSpilled); }

void RingServer::Stop() {
  stop_.store(true);
  RingHeader* h = ring_->header();
  h->doorbell.fetch_add(1);
  FutexWake(&h->doorbell, INT_MAX);
}

}  // namespace arcella::worker
