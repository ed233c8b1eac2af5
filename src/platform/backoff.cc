#include "platform/backoff.h"

#include <algorithm>

namespace arcella::platform {

std::chrono::milliseconds Backoff::Next(Clock::time_point began) {
  if (Clock::now() - began >= opt_.healthy_after) failures_ = 0;
  auto delay = std::min<std::chrono::milliseconds>(opt_.initial *
                                                       (1ll << std::min<uint32_t>(failures_, 20)),
                                                   opt_.max);
  ++failures_;
  return delay;
}

bool RestartsAfter(RestartPolicy p, bool failed) {
  return p == RestartPolicy::kAlways || (p == RestartPolicy::kOnFailure && failed);
}

}  // namespace arcella::platform
