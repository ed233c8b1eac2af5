// A bounded pool of C compiler processes.
//
// Jobs run as supervised process groups (cc_process.h). At most `jobs` run
// at once, and a job starts only while the running jobs' memory estimates
// plus its own stay within `memory_bytes` (a job always starts when nothing
// runs, so an oversized one still makes progress). Nothing blocks but
// Drain(); Pump() is called by the producer (the C splitter) between units,
// so compiling overlaps C generation. After the first failure or a cancel,
// every running compiler group is killed and no new job starts.
//
// Threads: one owner thread; `cancel` may be set from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace arcella::engine::aot {

struct CompileJob {
  std::vector<std::string> argv;
  std::string log_path;
  uint64_t memory_estimate = 0;
  std::string what;                 // for messages: the unit's file
  std::function<Status()> on_done;  // after a successful exit (publish, progress)
};

class CompilePool {
 public:
  // `jobs` 0: one per online core; `memory_bytes` 0: half the physical RAM.
  CompilePool(unsigned jobs, uint64_t memory_bytes, const std::atomic<bool>* cancel);
  ~CompilePool();  // kills whatever still runs
  CompilePool(const CompilePool&) = delete;
  CompilePool& operator=(const CompilePool&) = delete;

  void Submit(CompileJob job);
  // Reaps finished jobs and starts queued ones; never blocks. The first
  // error (a compiler failure, Cancelled), after which everything stopped.
  Status Pump();
  // Waits until every submitted job finished (or the first error).
  Status Drain();
  // Kills every running compiler group and drops the queue.
  void KillAll();

  unsigned jobs() const { return jobs_; }
  uint64_t memory_bytes() const { return memory_bytes_; }
  uint64_t max_compiler_rss() const { return max_rss_; }  // bytes, over all finished jobs
  uint32_t started() const { return started_; }

 private:
  struct Running {
    pid_t pid;
    CompileJob job;
  };
  Status Fail(Status st);

  unsigned jobs_;
  uint64_t memory_bytes_;
  const std::atomic<bool>* cancel_;
  std::deque<CompileJob> queue_;
  std::vector<Running> running_;
  uint64_t running_memory_ = 0;
  uint64_t max_rss_ = 0;
  uint32_t started_ = 0;
  Status error_;
};

}  // namespace arcella::engine::aot
