// An elastic thread pool for ALME request handlers. It keeps `min_threads`
// threads and starts more (up to `max_threads`) whenever every thread is busy,
// so handlers that block for a long time (streams such as `logs -f`) do not
// starve short requests. Extra threads exit after being idle for a while.
// Internal to src/alme.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace arcella::alme {

class ElasticPool {
 public:
  // `nice` > 0 lowers the threads' scheduling priority (setpriority), so
  // e.g. spinning guest calls leave CPU to management requests.
  ElasticPool(int min_threads, int max_threads, int nice = 0);
  ~ElasticPool();  // Stop()

  // Queues `task`. Returns false (and drops it) once Stop() has begun.
  bool Submit(std::function<void()> task);

  // Drops queued tasks, waits for running ones, joins every thread.
  void Stop();

  int threads() const;  // live threads (for tests)

 private:
  void Run(std::list<std::thread>::iterator self);
  void ReapLocked();

  const int min_, max_, nice_;
  const std::chrono::milliseconds idle_exit_{5000};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::list<std::thread> threads_;
  std::list<std::thread> finished_;  // exited idle threads, joined later
  int live_ = 0, idle_ = 0;
  bool stopping_ = false;
};

}  // namespace arcella::alme
