#include "tools/compile_feedback.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/status_line.h"

namespace arcella::tools {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A cache hit takes milliseconds and reports no progress: no line for it.
// The line starts once the engine reports (an AOT compile is running) and
// 250 ms have passed, or after 2 s without a report (a long compile that
// does not report, or a slow load).
constexpr milliseconds kFirstDraw{250};
constexpr milliseconds kFirstDrawUnreported{2000};
constexpr milliseconds kMinRedraw{100};
constexpr milliseconds kTick{1000};
// The engine kills its compiler processes and removes its temporary files
// when the cancel flag is set; if it has not returned this long after the
// signal, the process exits anyway (the compiler processes die with it:
// PR_SET_PDEATHSIG; a temporary folder left then is removed by the next
// compile that opens the cache).
constexpr unsigned kCancelGraceSeconds = 3;

// Signal state: one CompileFeedback at a time (a command compiles once).
std::atomic<bool> g_cancel{false};
std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term, g_old_alrm;
std::string g_fallback_message;  // written by the SIGALRM handler
const char* g_fallback_data = nullptr;
size_t g_fallback_size = 0;

void OnSignal(int sig) {
  int none = 0;
  if (!g_signal.compare_exchange_strong(none, sig)) return;
  g_cancel.store(true);
  // A second Ctrl-C or SIGTERM ends the process as the default would.
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGINT, &dfl, nullptr);
  sigaction(SIGTERM, &dfl, nullptr);
  alarm(kCancelGraceSeconds);
}

void OnAlarm(int) {
  if (g_fallback_data) {
    ssize_t w = write(2, g_fallback_data, g_fallback_size);
    (void)w;
  }
  _exit(128 + g_signal.load());
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

CompileFeedback::CompileFeedback(const std::string& file, bool show_progress,
                                 const std::string& command, const std::string& verb)
    : file_(file), command_(command), label_(verb + " " + BaseName(file)), start_(Clock::now()) {
  g_cancel.store(false);
  g_signal.store(0);
  g_fallback_message = std::string(show_progress ? ClearLine() : "") + command + ": " + file +
                       ": compile cancelled (the compiler did not stop within " +
                       std::to_string(kCancelGraceSeconds) + " s)\n";
  g_fallback_data = g_fallback_message.data();
  g_fallback_size = g_fallback_message.size();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnSignal;  // no SA_RESTART: blocking waits see EINTR
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
  sa.sa_handler = OnAlarm;
  sigaction(SIGALRM, &sa, &g_old_alrm);
  if (show_progress) ticker_ = std::thread([this] { Draw(); });
}

CompileFeedback::~CompileFeedback() { Finish(); }

const std::atomic<bool>* CompileFeedback::cancel() const { return &g_cancel; }

void CompileFeedback::OnProgress(const engine::CompileProgress& p) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = p;
    last_at_ = Clock::now();
    dirty_ = true;
  }
  cv_.notify_all();
}

bool CompileFeedback::DefaultShowProgress() { return isatty(2) == 1; }

void CompileFeedback::Draw() {
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_until(lock, start_ + kFirstDraw, [&] { return stop_; })) return;
  if (cv_.wait_until(lock, start_ + kFirstDrawUnreported, [&] { return stop_ || last_; }) && stop_)
    return;
  for (;;) {
    auto now = Clock::now();
    int64_t elapsed = std::chrono::duration_cast<milliseconds>(now - start_).count();
    std::string text;
    if (g_cancel.load()) {
      text = label_ + ": cancelling";
    } else if (!last_) {
      text = label_;
      if (elapsed >= 1000) text += ", " + HumanDuration(elapsed);
    } else {
      // The estimate counts down between reports.
      int64_t since = std::chrono::duration_cast<milliseconds>(now - last_at_).count();
      int64_t left = last_->estimate.count() > 0
                         ? std::max<int64_t>(last_->estimate.count() - since, 1000)
                         : 0;
      text = CompileProgressText(label_, last_->units_done, last_->units_total, elapsed, left);
    }
    dirty_ = false;
    lock.unlock();
    std::string bytes = RedrawLine(text, TerminalColumns(2));
    ssize_t w = write(2, bytes.data(), bytes.size());
    (void)w;
    drawn_ = true;
    lock.lock();
    if (cv_.wait_for(lock, kMinRedraw, [&] { return stop_; })) return;
    if (cv_.wait_for(lock, kTick - kMinRedraw, [&] { return stop_ || dirty_; }) && stop_) return;
  }
}

int CompileFeedback::Finish() {
  if (finished_) return g_signal.load() ? 128 + g_signal.load() : 0;
  finished_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (drawn_) {
    std::string clear = ClearLine();
    ssize_t w = write(2, clear.data(), clear.size());
    (void)w;
  }
  // The compile has returned: no fallback exit any more, and the guest's
  // signals get their previous handling back.
  alarm(0);
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  sigaction(SIGALRM, &g_old_alrm, nullptr);
  int sig = g_signal.load();
  if (sig == 0) return 0;
  fprintf(stderr, "%s: %s: compile cancelled\n", command_.c_str(), file_.c_str());
  return 128 + sig;
}

}  // namespace arcella::tools
