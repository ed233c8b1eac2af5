#include "engine/deadline.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace arcella::engine {

struct DeadlineWatchdog::Impl {
  std::mutex mu;
  std::condition_variable cv;
  std::condition_variable fired_cv;
  // (deadline, token) -> callback
  std::map<std::pair<Clock::time_point, uint64_t>, std::function<void()>> pending;
  std::map<uint64_t, Clock::time_point> by_token;
  uint64_t next_token = 1;
  uint64_t firing = 0;  // token whose callback runs now (0: none)
  bool stop = false;
  std::thread thread;  // started by the first Arm

  void Loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      if (pending.empty()) {
        cv.wait(lock);
        continue;
      }
      auto it = pending.begin();
      if (Clock::now() < it->first.first) {
        // A copy: wait_until reads its deadline after waking, and a Cancel
        // meanwhile erases the node (AddressSanitizer: heap-use-after-free).
        Clock::time_point when = it->first.first;
        cv.wait_until(lock, when);
        continue;
      }
      uint64_t token = it->first.second;
      auto fn = std::move(it->second);
      pending.erase(it);
      by_token.erase(token);
      firing = token;
      lock.unlock();
      fn();
      lock.lock();
      firing = 0;
      fired_cv.notify_all();
    }
  }
};

DeadlineWatchdog::DeadlineWatchdog() : impl_(new Impl) {}

DeadlineWatchdog::~DeadlineWatchdog() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) {
    if (impl_->thread.get_id() == std::this_thread::get_id())
      impl_->thread.detach();  // not expected (see deadline.h); never deadlock
    else impl_->thread.join();
  }
}

uint64_t DeadlineWatchdog::Arm(Clock::time_point when, std::function<void()> fire) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->thread.joinable()) impl_->thread = std::thread([this] { impl_->Loop(); });
  uint64_t token = impl_->next_token++;
  bool earliest = impl_->pending.empty() || when < impl_->pending.begin()->first.first;
  impl_->pending.emplace(std::make_pair(when, token), std::move(fire));
  impl_->by_token.emplace(token, when);
  if (earliest) impl_->cv.notify_one();
  return token;
}

void DeadlineWatchdog::Cancel(uint64_t token) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  auto it = impl_->by_token.find(token);
  if (it != impl_->by_token.end()) {
    impl_->pending.erase(std::make_pair(it->second, token));
    impl_->by_token.erase(it);
    return;
  }
  impl_->fired_cv.wait(lock, [&] { return impl_->firing != token; });
}

}  // namespace arcella::engine
