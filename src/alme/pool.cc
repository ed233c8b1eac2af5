#include "alme/pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace arcella::alme {

ElasticPool::ElasticPool(int min_threads, int max_threads, int nice)
    : min_(min_threads < 1 ? 1 : min_threads),
      max_(max_threads < min_ ? min_ : max_threads),
      nice_(nice) {}

ElasticPool::~ElasticPool() { Stop(); }

bool ElasticPool::Submit(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  ReapLocked();
  queue_.push_back(std::move(task));
  // Start a thread if nobody is free to take the task right away.
  if (idle_ < static_cast<int>(queue_.size()) && live_ < max_) {
    ++live_;
    threads_.emplace_back();
    auto it = std::prev(threads_.end());
    *it = std::thread([this, it] { Run(it); });
  } else {
    cv_.notify_one();
  }
  return true;
}

void ElasticPool::Run(std::list<std::thread>::iterator self) {
  if (nice_ > 0) {  // per thread on Linux; failure only costs latency
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice_);
  }
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_;
    bool woke = cv_.wait_for(lock, idle_exit_, [&] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) break;
    if (!woke) {
      if (live_ > min_) break;  // idle extra thread: exit
      continue;
    }
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // release captures (e.g. a responder) before waiting again
    lock.lock();
  }
  --live_;
  if (!stopping_) finished_.splice(finished_.end(), threads_, self);
}

void ElasticPool::ReapLocked() {
  for (auto& t : finished_) {
    if (t.joinable()) t.join();
  }
  finished_.clear();
}

void ElasticPool::Stop() {
  std::list<std::thread> all;
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty() && finished_.empty()) return;
    stopping_ = true;
    dropped.swap(queue_);
    all.splice(all.end(), threads_);
    all.splice(all.end(), finished_);
    cv_.notify_all();
  }
  dropped.clear();  // outside the lock: destructors may answer requests
  for (auto& t : all) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
  for (auto& t : all) {
    if (t.joinable()) t.detach();
  }
}

int ElasticPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_;
}

}  // namespace arcella::alme
