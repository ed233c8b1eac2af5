// A watchdog thread that fires callbacks at wall-clock deadlines (per-call
// deadlines of instances). Each Engine owns one; instances reach it through
// their module's engine. Registering a deadline later than the earliest
// pending one costs a mutex and no syscall.
//
// Threads: Arm and Cancel are thread-safe. The thread starts at the first
// Arm and is stopped and joined by the destructor, which must not run on the
// watchdog thread itself (callbacks hold no reference that could destroy it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace arcella::engine {

class DeadlineWatchdog {
 public:
  using Clock = std::chrono::steady_clock;
  DeadlineWatchdog();
  ~DeadlineWatchdog();
  DeadlineWatchdog(const DeadlineWatchdog&) = delete;
  DeadlineWatchdog& operator=(const DeadlineWatchdog&) = delete;

  // Runs `fire` on the watchdog thread at `when` unless cancelled first.
  // `fire` must be quick and must not call back into the watchdog.
  uint64_t Arm(Clock::time_point when, std::function<void()> fire);
  // After Cancel returns, `fire` is not running and will not run.
  void Cancel(uint64_t token);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arcella::engine
