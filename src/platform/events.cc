#include "platform/events.h"

#include <chrono>

namespace arcella::platform {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t EventBus::Subscribe(Callback cb) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<std::map<uint64_t, std::shared_ptr<Callback>>>(*subs_);
  uint64_t token = next_++;
  (*next)[token] = std::make_shared<Callback>(std::move(cb));
  subs_ = std::move(next);
  return token;
}

void EventBus::Unsubscribe(uint64_t token) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!subs_->count(token)) return;
  auto next = std::make_shared<std::map<uint64_t, std::shared_ptr<Callback>>>(*subs_);
  next->erase(token);
  subs_ = std::move(next);
}

size_t EventBus::subscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subs_->size();
}

void EventBus::Publish(Event e) {
  std::shared_ptr<const std::map<uint64_t, std::shared_ptr<Callback>>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subs = subs_;
  }
  if (subs->empty()) return;
  if (e.ts_ms == 0) e.ts_ms = NowMs();
  for (const auto& [token, cb] : *subs) (*cb)(e);
}

}  // namespace arcella::platform
