// What `arcella run` shows and does while it compiles a module: an updating
// progress line on stderr ("compiling yosys.core.wasm: 37/112 units, 41 s,
// about 80 s left") and Ctrl-C / SIGTERM turned into the compile's cancel
// flag. Not used while the guest runs (its signals keep the default action).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/engine.h"

namespace arcella::tools {

class CompileFeedback {
 public:
  // Installs SIGINT and SIGTERM handlers (the first of them sets cancel();
  // a second one ends the process at once, as the default action would).
  // With `show_progress`, a thread draws the line on fd 2 once the engine
  // reports progress (not before 250 ms), or after 2 s without a report; a
  // cache hit draws nothing. `file` names the module in the line, after
  // `verb` ("compiling"; "loading" for the interpreter, which only decodes),
  // and `command` ("arcella run", "arcella compile") the messages.
  CompileFeedback(const std::string& file, bool show_progress,
                  const std::string& command = "arcella run",
                  const std::string& verb = "compiling");
  ~CompileFeedback();  // Finish()
  CompileFeedback(const CompileFeedback&) = delete;
  CompileFeedback& operator=(const CompileFeedback&) = delete;

  // For CompileOptions::cancel and ::on_progress (any thread).
  const std::atomic<bool>* cancel() const;
  void OnProgress(const engine::CompileProgress& p);

  // Ends the feedback: stops the thread, erases the line, restores the
  // signal handlers. If a signal asked to cancel, prints "COMMAND: FILE:
  // compile cancelled" and returns 128 + the signal's number (130 for
  // SIGINT, 143 for SIGTERM, what a shell expects), else 0. Idempotent.
  int Finish();

  // Whether stderr should show progress: a terminal, unless forced.
  static bool DefaultShowProgress();

 private:
  void Draw();  // the ticker thread

  const std::string file_;
  const std::string command_;
  const std::string label_;  // "compiling NAME"
  const std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<engine::CompileProgress> last_;    // guarded by mu_
  std::chrono::steady_clock::time_point last_at_;  // guarded by mu_
  bool stop_ = false;                              // guarded by mu_
  bool dirty_ = false;                             // guarded by mu_
  bool drawn_ = false;                             // the ticker thread only (and Finish after join)
  std::thread ticker_;
  bool finished_ = false;
};

}  // namespace arcella::tools
