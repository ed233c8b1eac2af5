// Shared pieces of the WASI 0.2 host (host.h): traps, resource types,
// handles, stream errors, pollables and the sliced wait.
#include "component/wasip2/host.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace arcella::component {

namespace {

constexpr uint64_t kSliceNs = 10'000'000;  // how often `interrupted` is asked

class ReadySource : public PollSource {
 public:
  bool Ready() override { return true; }
};

class DeadlineSource : public PollSource {
 public:
  explicit DeadlineSource(uint64_t deadline) : deadline_(deadline) {}
  bool Ready() override { return MonotonicNowNs() >= deadline_; }
  uint64_t WaitDeadlineNs() override { return std::max<uint64_t>(deadline_, 1); }

 private:
  uint64_t deadline_;
};

class FdSource : public PollSource {
 public:
  FdSource(int fd, short events) : fd_(fd), events_(events) {}
  bool Ready() override {
    struct pollfd p = {fd_, events_, 0};
    return poll(&p, 1, 0) != 0;  // ready, or an error the I/O will report
  }
  int WaitFd(short* events) override {
    *events = events_;
    return fd_;
  }

 private:
  int fd_;
  short events_;
};

template <typename T>
TrapOr<Val> Own(ResourceTable<T>& table, std::shared_ptr<T> v, const ResourceRef& type,
                const char* what) {
  uint32_t rep = table.Insert(std::move(v));
  if (rep == 0) return WasiTrap(std::string("wasi: too many open ") + what);
  return Val::Own(type, rep);
}

}  // namespace

engine::Trap WasiTrap(std::string message) {
  engine::Trap t;
  t.kind = engine::TrapKind::kHostError;
  t.message = std::move(message);
  return t;
}

engine::Trap InterruptedTrap(std::string_view where) {
  engine::Trap t;
  t.kind = engine::TrapKind::kInterrupted;
  t.message = std::string(where) + ": the wait was interrupted";
  return t;
}

ResourceRef WitResource(std::string_view qualified, std::string_view name) {
  auto iface = WasiInterface(qualified);
  if (!iface.ok()) return nullptr;
  const WitTypeDef* t = (*iface)->FindType(name);
  return t ? t->resource : nullptr;
}

const WasiResources& Resources() {
  static const WasiResources r = [] {
    WasiResources w;
    w.error = WitResource("wasi:io/error@0.2.12", "error");
    w.pollable = WitResource("wasi:io/poll@0.2.12", "pollable");
    w.input_stream = WitResource("wasi:io/streams@0.2.12", "input-stream");
    w.output_stream = WitResource("wasi:io/streams@0.2.12", "output-stream");
    w.terminal_input = WitResource("wasi:cli/terminal-input@0.2.12", "terminal-input");
    w.terminal_output = WitResource("wasi:cli/terminal-output@0.2.12", "terminal-output");
    w.network = WitResource("wasi:sockets/network@0.2.12", "network");
    return w;
  }();
  return r;
}

TrapOr<Val> OwnPollable(WasiP2State& st, std::shared_ptr<PollSource> p) {
  return Own(st.pollables, std::move(p), Resources().pollable, "pollables");
}
TrapOr<Val> OwnInputStream(WasiP2State& st, std::shared_ptr<InputStreamImpl> s) {
  return Own(st.input_streams, std::move(s), Resources().input_stream, "input streams");
}
TrapOr<Val> OwnOutputStream(WasiP2State& st, std::shared_ptr<OutputStreamImpl> s) {
  return Own(st.output_streams, std::move(s), Resources().output_stream, "output streams");
}
TrapOr<Val> OwnError(WasiP2State& st, IoError e) {
  return Own(st.errors, std::make_shared<IoError>(std::move(e)), Resources().error, "errors");
}

TrapOr<Val> StreamErrorVal(WasiP2State& st, StreamStatus status, IoError error) {
  if (status != StreamStatus::kFailed) return Val::Variant(1);  // closed
  TrapOr<Val> e = OwnError(st, std::move(error));
  if (!e.ok()) return e;
  return Val::Variant(0, {std::move(e).value()});
}

MaybeTrap WaitAny(const WasiP2State& st, const std::vector<PollSource*>& sources,
                  std::vector<uint32_t>* ready) {
  const auto& interrupted = st.config().interrupted;
  std::vector<struct pollfd> fds;
  for (;;) {
    ready->clear();
    for (size_t i = 0; i < sources.size(); ++i)
      if (sources[i]->Ready()) ready->push_back(static_cast<uint32_t>(i));
    if (!ready->empty()) return std::nullopt;
    if (interrupted && interrupted()) return InterruptedTrap("wasi:io/poll");
    fds.clear();
    uint64_t deadline = 0;
    for (PollSource* s : sources) {
      short events = 0;
      int fd = s->WaitFd(&events);
      if (fd >= 0) fds.push_back({fd, events, 0});
      uint64_t d = s->WaitDeadlineNs();
      if (d != 0 && (deadline == 0 || d < deadline)) deadline = d;
    }
    if (fds.empty() && deadline == 0)
      return WasiTrap("wasi:io/poll: waiting on pollables that can never become ready");
    // Milliseconds to wait: up to the deadline (rounded up), at most a slice
    // while `interrupted` is set, forever (-1) otherwise.
    uint64_t wait_ns = UINT64_MAX;
    if (deadline != 0) {
      uint64_t now = MonotonicNowNs();
      wait_ns = deadline > now ? deadline - now : 0;
    }
    if (interrupted) wait_ns = std::min(wait_ns, kSliceNs);
    int timeout_ms = wait_ns == UINT64_MAX
                         ? -1
                         : static_cast<int>(std::min<uint64_t>((wait_ns + 999'999) / 1'000'000,
                                                               24ull * 3600 * 1000));
    int r = poll(fds.data(), fds.size(), timeout_ms);
    if (r < 0 && errno != EINTR)
      return WasiTrap(std::string("wasi:io/poll: poll failed: ") + strerror(errno));
  }
}

std::shared_ptr<PollSource> ReadyPollable() { return std::make_shared<ReadySource>(); }
std::shared_ptr<PollSource> DeadlinePollable(uint64_t deadline_ns) {
  return std::make_shared<DeadlineSource>(deadline_ns);
}
std::shared_ptr<PollSource> FdPollable(int fd, short events) {
  return std::make_shared<FdSource>(fd, events);
}

uint64_t MonotonicNowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void FillWithTraps(std::string_view qualified, std::string_view why, HostImpls* impls) {
  auto iface = WasiInterface(qualified);
  if (!iface.ok()) return;
  for (const auto& f : (*iface)->functions) {
    bool have = false;
    for (const auto& [name, fn] : *impls) have |= name == f.name;
    if (have) continue;
    std::string msg = std::string(qualified.substr(0, qualified.find('@'))) + ": " + f.name + " " +
                      std::string(why);
    impls->emplace_back(f.name, [msg](std::vector<Val>) -> TrapOr<std::vector<Val>> {
      return WasiTrap(msg);
    });
  }
}

WasiDefs AllWasiDefs(const std::shared_ptr<WasiP2State>& st) {
  WasiDefs defs;
  AddIoDefs(st, &defs);
  AddClockDefs(st, &defs);
  AddRandomDefs(st, &defs);
  AddCliDefs(st, &defs);
  AddSocketDefs(st, &defs);
  AddHttpDefs(st, &defs);
  return defs;
}

}  // namespace arcella::component
