// args, environ, clocks, random, sched_yield, proc_*, sock_*.
#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "wasi/handlers.h"

namespace arcella::wasi {
namespace {

// Writes a NUL-terminated string list: pointers at `ptrs`, bytes at `buf`.
Errno StoreList(GuestMem& mem, const std::vector<std::string>& list, uint32_t ptrs, uint32_t buf) {
  uint64_t bytes = 0;
  for (const auto& s : list) bytes += s.size() + 1;
  if (!mem.Ok(ptrs, uint64_t{4} * list.size()) || !mem.Ok(buf, bytes)) return kFault;
  uint32_t at = buf;
  for (size_t i = 0; i < list.size(); ++i) {
    mem.Store(static_cast<uint32_t>(ptrs + 4 * i), at);
    mem.Write(at, list[i].c_str(), list[i].size() + 1);
    at += static_cast<uint32_t>(list[i].size() + 1);
  }
  return kSuccess;
}

Errno StoreSizes(GuestMem& mem, const std::vector<std::string>& list, uint32_t count_ptr,
                 uint32_t size_ptr) {
  uint64_t bytes = 0;
  for (const auto& s : list) bytes += s.size() + 1;
  if (!mem.Ok(count_ptr, 4) || !mem.Ok(size_ptr, 4)) return kFault;
  if (bytes > UINT32_MAX) return kOverflow;
  mem.Store(count_ptr, static_cast<uint32_t>(list.size()));
  mem.Store(size_ptr, static_cast<uint32_t>(bytes));
  return kSuccess;
}

std::vector<std::string> EnvStrings(const WasiConfig& cfg) {
  std::vector<std::string> v;
  for (const auto& [k, val] : cfg.env) v.push_back(k + "=" + val);
  return v;
}

bool HostClock(uint32_t id, clockid_t* out) {
  switch (id) {
    case kClockRealtime: *out = CLOCK_REALTIME; return true;
    case kClockMonotonic: *out = CLOCK_MONOTONIC; return true;
    case kClockProcessCpu: *out = CLOCK_PROCESS_CPUTIME_ID; return true;
    case kClockThreadCpu: *out = CLOCK_THREAD_CPUTIME_ID; return true;
    default: return false;
  }
}

}  // namespace

Errno ArgsGet(HostCall& c) { return StoreList(c.mem, c.st.config().args, c.u32(0), c.u32(1)); }
Errno ArgsSizesGet(HostCall& c) {
  return StoreSizes(c.mem, c.st.config().args, c.u32(0), c.u32(1));
}
Errno EnvironGet(HostCall& c) {
  return StoreList(c.mem, EnvStrings(c.st.config()), c.u32(0), c.u32(1));
}
Errno EnvironSizesGet(HostCall& c) {
  return StoreSizes(c.mem, EnvStrings(c.st.config()), c.u32(0), c.u32(1));
}

Errno ClockResGet(HostCall& c) {
  clockid_t id;
  if (!HostClock(c.u32(0), &id)) return kInval;
  if (!c.mem.Ok(c.u32(1), 8)) return kFault;
  struct timespec ts;
  if (clock_getres(id, &ts) != 0) return FromHostErrno(errno);
  uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + ts.tv_nsec;
  ns = std::max<uint64_t>(ns, c.st.config().clock_granularity_ns);
  c.mem.Store(c.u32(1), ns);
  return kSuccess;
}

Errno ClockTimeGet(HostCall& c) {
  clockid_t id;
  if (!HostClock(c.u32(0), &id)) return kInval;
  uint32_t out = c.u32(2);
  if (!c.mem.Ok(out, 8)) return kFault;
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0) return FromHostErrno(errno);
  uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + ts.tv_nsec;
  ns -= ns % c.st.config().clock_granularity_ns;
  c.mem.Store(out, ns);
  return kSuccess;
}

Errno RandomGet(HostCall& c) {
  uint32_t buf = c.u32(0), len = c.u32(1);
  if (!c.mem.Ok(buf, len)) return kFault;
  uint32_t done = 0;
  while (done < len) {
    ssize_t r = getrandom(c.mem.At(buf + done), len - done, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return FromHostErrno(errno);
    }
    done += static_cast<uint32_t>(r);
  }
  return kSuccess;
}

Errno SchedYield(HostCall&) {
  sched_yield();
  return kSuccess;
}

// Signals are not part of the sandbox: raising one is not supported.
Errno ProcRaise(HostCall&) { return kNosys; }

Errno ProcExit(HostCall& c) {
  c.st.exit_code = static_cast<int32_t>(c.u32(0));
  return kSuccess;
}

// No socket is ever granted, so every socket call is about a non-socket.
static Errno NoSocket(HostCall& c) { return c.st.Get(c.u32(0)) ? kNotsock : kBadf; }
Errno SockAccept(HostCall& c) { return NoSocket(c); }
Errno SockRecv(HostCall& c) { return NoSocket(c); }
Errno SockSend(HostCall& c) { return NoSocket(c); }
Errno SockShutdown(HostCall& c) { return NoSocket(c); }

}  // namespace arcella::wasi
