// poll_oneoff: clock subscriptions (relative and absolute, realtime and
// monotonic) and fd_read/fd_write readiness. Regular files and virtual stdio
// (configured bytes, sinks, discarded output) are always ready; borrowed host
// stdio fds and opened FIFOs, sockets and character devices are waited on
// with ppoll, in slices while WasiConfig::interrupted is set.
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "wasi/handlers.h"

namespace arcella::wasi {
namespace {

constexpr uint64_t kSliceNs = 10'000'000;  // interrupt polling period

struct Event {
  uint64_t userdata = 0;
  uint16_t error = 0;
  uint8_t type = 0;
  uint64_t nbytes = 0;
  uint16_t flags = 0;
};

uint64_t NowNs(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + ts.tv_nsec;
}

uint64_t SatAdd(uint64_t a, uint64_t b) {
  return b > std::numeric_limits<uint64_t>::max() - a ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

struct timespec ToTs(uint64_t ns) {
  struct timespec ts;
  uint64_t s = ns / 1'000'000'000ull;
  ts.tv_sec = s > static_cast<uint64_t>(std::numeric_limits<time_t>::max())
                  ? std::numeric_limits<time_t>::max()
                  : static_cast<time_t>(s);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000ull);
  return ts;
}

// Bytes readable from a regular file at its current offset.
uint64_t FileRemaining(int fd) {
  struct stat st;
  off_t pos = lseek(fd, 0, SEEK_CUR);
  if (fstat(fd, &st) != 0 || pos < 0 || st.st_size <= pos) return 0;
  return static_cast<uint64_t>(st.st_size - pos);
}

}  // namespace

Errno PollOneoff(HostCall& c) {
  uint32_t in = c.u32(0), out = c.u32(1), nsubs = c.u32(2), nevents_ptr = c.u32(3);
  if (nsubs == 0) return kInval;
  if (!c.mem.Ok(in, uint64_t{nsubs} * kSubscriptionSize) ||
      !c.mem.Ok(out, uint64_t{nsubs} * kEventSize) || !c.mem.Ok(nevents_ptr, 4))
    return kFault;

  std::vector<Event> ready;
  std::vector<struct pollfd> pfds;
  std::vector<Event> pfd_events;  // template event for each pollfd
  struct Clock {
    uint64_t userdata, deadline;
  };
  std::vector<Clock> clocks;
  const uint64_t now = NowNs(CLOCK_MONOTONIC);

  for (uint32_t i = 0; i < nsubs; ++i) {
    uint32_t s = in + i * kSubscriptionSize;
    Event ev;
    uint8_t tag = 0;
    c.mem.Load(s, &ev.userdata);
    c.mem.Load(s + 8, &tag);
    ev.type = tag;
    if (tag == kEventClock) {
      uint32_t id = 0;
      uint64_t timeout = 0;
      uint16_t flags = 0;
      c.mem.Load(s + 16, &id);
      c.mem.Load(s + 24, &timeout);
      c.mem.Load(s + 40, &flags);
      uint64_t deadline;
      if (id == kClockMonotonic) {
        deadline = (flags & kSubclockAbstime) ? timeout : SatAdd(now, timeout);
      } else if (id == kClockRealtime) {
        if (flags & kSubclockAbstime) {
          uint64_t real = NowNs(CLOCK_REALTIME);
          deadline = timeout <= real ? now : SatAdd(now, timeout - real);
        } else {
          deadline = SatAdd(now, timeout);
        }
      } else {
        ev.error = kInval;  // CPU-time clocks cannot be waited on
        ready.push_back(ev);
        continue;
      }
      clocks.push_back({ev.userdata, deadline});
    } else if (tag == kEventFdRead || tag == kEventFdWrite) {
      uint32_t fd = 0;
      c.mem.Load(s + 16, &fd);
      FdEntry* e = c.st.Get(fd);
      bool is_read = tag == kEventFdRead;
      if (!e) {
        ev.error = kBadf;
      } else if (!(e->rights_base & right::kPollFdReadwrite)) {
        ev.error = RightsErrno(*e, right::kPollFdReadwrite);
      } else if (e->kind == FdEntry::Kind::kFile && !e->may_block) {
        if (is_read) ev.nbytes = FileRemaining(e->host_fd());
      } else if (e->kind == FdEntry::Kind::kDir) {
        ev.error = kIsdir;
      } else if (e->kind == FdEntry::Kind::kStdin && e->stdio_fd < 0) {
        if (is_read) {
          ev.nbytes = c.st.stdin_data().size() - c.st.stdin_pos();
          if (ev.nbytes == 0) ev.flags = kEventRwHangup;
        } else {
          ev.error = kBadf;
        }
      } else if (e->host_fd() >= 0 &&
                 !(e->kind == FdEntry::Kind::kStdout && c.st.config().stdout_stream.sink) &&
                 !(e->kind == FdEntry::Kind::kStderr && c.st.config().stderr_stream.sink)) {
        // Host stdio, and FIFOs, sockets and character devices the guest opened.
        pfds.push_back({e->host_fd(), static_cast<short>(is_read ? POLLIN : POLLOUT), 0});
        pfd_events.push_back(ev);
        continue;
      }  // else: a sink or discarded output, always writable
      ready.push_back(ev);
    } else {
      return kInval;
    }
  }

  // Wait: not at all if something is ready, else until the first clock
  // deadline (or forever if there is none).
  const auto& interrupted = c.st.config().interrupted;
  for (;;) {
    uint64_t t = NowNs(CLOCK_MONOTONIC);
    bool have_deadline = false;
    uint64_t first = std::numeric_limits<uint64_t>::max();
    for (auto& ck : clocks) {
      have_deadline = true;
      first = std::min(first, ck.deadline);
    }
    bool no_wait = !ready.empty() || (have_deadline && first <= t);
    if (!no_wait && interrupted && interrupted()) return kIntr;
    uint64_t wait_ns = no_wait         ? 0
                       : have_deadline ? first - t
                                       : std::numeric_limits<uint64_t>::max();
    if (interrupted) wait_ns = std::min<uint64_t>(wait_ns, kSliceNs);
    bool forever = wait_ns == std::numeric_limits<uint64_t>::max();
    if (!pfds.empty()) {
      struct timespec ts = ToTs(wait_ns);
      int r = ppoll(pfds.data(), pfds.size(), forever ? nullptr : &ts, nullptr);
      if (r < 0 && errno != EINTR) return FromHostErrno(errno);
      bool any = false;
      for (size_t i = 0; i < pfds.size(); ++i) {
        short re = pfds[i].revents;
        if (!re) continue;
        Event ev = pfd_events[i];
        if (re & POLLNVAL) ev.error = kBadf;
        else if (re & POLLERR) ev.error = kIo;
        if (re & POLLHUP) ev.flags = kEventRwHangup;
        int avail = 0;
        if (ev.type == kEventFdRead && ioctl(pfds[i].fd, FIONREAD, &avail) == 0 && avail > 0)
          ev.nbytes = static_cast<uint64_t>(avail);
        ready.push_back(ev);
        any = true;
      }
      if (any) pfds.clear();
    } else if (wait_ns > 0) {
      if (forever) return kInval;  // unreachable: nsubs > 0 and nothing to wait on
      struct timespec ts = ToTs(wait_ns);
      nanosleep(&ts, nullptr);  // EINTR: recompute and sleep again
    }
    t = NowNs(CLOCK_MONOTONIC);
    for (auto& ck : clocks)
      if (ck.deadline <= t) ready.push_back({ck.userdata, 0, kEventClock, 0, 0});
    if (!ready.empty()) break;
  }

  uint32_t n = 0;
  for (const Event& ev : ready) {
    uint8_t buf[kEventSize] = {};
    std::memcpy(buf, &ev.userdata, 8);
    std::memcpy(buf + 8, &ev.error, 2);
    buf[10] = ev.type;
    std::memcpy(buf + 16, &ev.nbytes, 8);
    std::memcpy(buf + 24, &ev.flags, 2);
    c.mem.Write(out + n * kEventSize, buf, sizeof buf);
    ++n;
  }
  c.mem.Store(nevents_ptr, n);
  return kSuccess;
}

}  // namespace arcella::wasi
