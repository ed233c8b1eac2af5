#include "engine/aot/compile_pool.h"

#include <time.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "engine/aot/cc_process.h"

namespace arcella::engine::aot {

CompilePool::CompilePool(unsigned jobs, uint64_t memory_bytes, const std::atomic<bool>* cancel)
    : jobs_(jobs), memory_bytes_(memory_bytes), cancel_(cancel) {
  if (jobs_ == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    jobs_ = n > 0 ? static_cast<unsigned>(n) : 1;
  }
  if (memory_bytes_ == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    memory_bytes_ = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * page / 2 : 2ull << 30;
  }
}

CompilePool::~CompilePool() { KillAll(); }

void CompilePool::KillAll() {
  for (Running& r : running_) KillCompilerProcess(r.pid);
  running_.clear();
  running_memory_ = 0;
  queue_.clear();
}

Status CompilePool::Fail(Status st) {
  KillAll();
  if (error_.ok()) error_ = std::move(st);
  return error_;
}

void CompilePool::Submit(CompileJob job) {
  if (error_.ok()) queue_.push_back(std::move(job));
}

Status CompilePool::Pump() {
  if (!error_.ok()) return error_;
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed))
    return Fail(Status::Cancelled("compile cancelled"));
  for (size_t i = 0; i < running_.size();) {
    Status st;
    uint64_t rss = 0;
    if (!FinishCompilerProcess(running_[i].pid, running_[i].job.argv[0], &st, &rss)) {
      ++i;
      continue;
    }
    Running done = std::move(running_[i]);
    running_.erase(running_.begin() + static_cast<long>(i));
    running_memory_ -= done.job.memory_estimate;
    max_rss_ = std::max(max_rss_, rss);
    if (st.code() == StatusCode::kInternal) {  // it ran and failed: show its output
      std::ifstream f(done.job.log_path, std::ios::binary);
      std::string log((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (log.size() > 4000) log.resize(4000);
      return Fail(Status::Internal(st.message() + " on " + done.job.what + ":\n" + log));
    }
    if (!st.ok()) return Fail(st);
    if (done.job.on_done) {
      st = done.job.on_done();
      if (!st.ok()) return Fail(st);
    }
  }
  while (!queue_.empty() && running_.size() < jobs_ &&
         (running_.empty() || running_memory_ + queue_.front().memory_estimate <= memory_bytes_)) {
    CompileJob job = std::move(queue_.front());
    queue_.pop_front();
    auto pid = StartCompilerProcess(job.argv, job.log_path);
    if (!pid.ok()) return Fail(pid.status());
    ++started_;
    running_memory_ += job.memory_estimate;
    running_.push_back({*pid, std::move(job)});
  }
  return Status::Ok();
}

Status CompilePool::Drain() {
  for (;;) {
    ARCELLA_RETURN_IF_ERROR(Pump());
    if (running_.empty() && queue_.empty()) return Status::Ok();
    struct timespec ts = {0, 10 * 1000 * 1000};  // polls exits and the cancel flag
    nanosleep(&ts, nullptr);
  }
}

}  // namespace arcella::engine::aot
