// Backoff and restart policy: the one rule for "when does this run again",
// shared by command replicas (their restart policy, replica.h) and by the
// supervision of worker processes (worker/worker_host.h).
//
// Delays double from `initial` up to `max`; a run that lasted at least
// `healthy_after` resets the series. Not thread-safe: one owner.
#pragma once

#include <chrono>
#include <cstdint>

#include "platform/spec.h"

namespace arcella::platform {

struct BackoffOptions {
  std::chrono::milliseconds initial{100};           // delay after the first quick failure
  std::chrono::milliseconds max{30'000};            // delays double up to this
  std::chrono::milliseconds healthy_after{10'000};  // a run this long resets the series
};

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Backoff(BackoffOptions options = {}) : opt_(options) {}

  // A run that began at `began` has just ended: the delay before the next
  // run (counts the failure).
  std::chrono::milliseconds Next(Clock::time_point began);
  // Quick failures in a row so far (runs shorter than healthy_after).
  uint32_t failures() const { return failures_; }
  void Reset() { failures_ = 0; }
  const BackoffOptions& options() const { return opt_; }

 private:
  BackoffOptions opt_;
  uint32_t failures_ = 0;
};

// True if a command whose run ended (`failed`: a trap or a non-zero exit)
// runs again under policy `p`.
bool RestartsAfter(RestartPolicy p, bool failed);

}  // namespace arcella::platform
