// A process-wide watchdog thread that fires callbacks at wall-clock
// deadlines (per-call deadlines of instances). Registering a deadline later
// than the earliest pending one costs a mutex and no syscall.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace arcella::engine {

class DeadlineWatchdog {
 public:
  using Clock = std::chrono::steady_clock;
  static DeadlineWatchdog& Get();

  // Runs `fire` on the watchdog thread at `when` unless cancelled first.
  // `fire` must be quick and must not call back into the watchdog.
  uint64_t Arm(Clock::time_point when, std::function<void()> fire);
  // After Cancel returns, `fire` is not running and will not run.
  void Cancel(uint64_t token);

 private:
  DeadlineWatchdog();
  struct Impl;
  Impl* impl_;
};

}  // namespace arcella::engine
