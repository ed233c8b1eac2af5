// wasi:clocks@0.2.12: monotonic-clock and wall-clock. Readings are rounded
// down to WasiConfig::clock_granularity_ns, resolutions never finer, as in
// preview 1 (wasi/misc_ops.cc).
#include <time.h>

#include <algorithm>

#include "component/wasip2/host.h"

namespace arcella::component {

namespace {

using Vals = std::vector<Val>;
using Ret = TrapOr<Vals>;

uint64_t Granularity(const WasiP2State& st) {
  return std::max<uint64_t>(st.config().clock_granularity_ns, 1);
}

uint64_t Now(clockid_t id, uint64_t granularity) {
  struct timespec ts;
  clock_gettime(id, &ts);
  uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull +
                static_cast<uint64_t>(ts.tv_nsec);
  return ns - ns % granularity;
}

uint64_t Resolution(clockid_t id, uint64_t granularity) {
  struct timespec ts;
  uint64_t ns = 1;
  if (clock_getres(id, &ts) == 0)
    ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
  return std::max(ns, granularity);
}

Val Datetime(uint64_t ns) {
  return Val::Record(
      {Val::U64(ns / 1'000'000'000ull), Val::U32(static_cast<uint32_t>(ns % 1'000'000'000ull))});
}

Ret Pollable(WasiP2State& st, uint64_t deadline) {
  TrapOr<Val> p = OwnPollable(st, DeadlinePollable(deadline));
  if (!p.ok()) return p.take_trap();
  return Vals{std::move(p).value()};
}

}  // namespace

void AddClockDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out) {
  WasiInterfaceDef mono{"wasi:clocks/monotonic-clock@0.2.12", {}, {}};
  mono.impls.emplace_back("now", [st](Vals) -> Ret {
    return Vals{Val::U64(Now(CLOCK_MONOTONIC, Granularity(*st)))};
  });
  mono.impls.emplace_back("resolution", [st](Vals) -> Ret {
    return Vals{Val::U64(Resolution(CLOCK_MONOTONIC, Granularity(*st)))};
  });
  mono.impls.emplace_back("subscribe-instant",
                          [st](Vals a) -> Ret { return Pollable(*st, a[0].u); });
  mono.impls.emplace_back("subscribe-duration", [st](Vals a) -> Ret {
    uint64_t now = MonotonicNowNs();
    uint64_t d = a[0].u;
    return Pollable(*st, d > UINT64_MAX - now ? UINT64_MAX : now + d);
  });
  out->push_back(std::move(mono));

  WasiInterfaceDef wall{"wasi:clocks/wall-clock@0.2.12", {}, {}};
  wall.impls.emplace_back("now", [st](Vals) -> Ret {
    return Vals{Datetime(Now(CLOCK_REALTIME, Granularity(*st)))};
  });
  wall.impls.emplace_back("resolution", [st](Vals) -> Ret {
    return Vals{Datetime(Resolution(CLOCK_REALTIME, Granularity(*st)))};
  });
  out->push_back(std::move(wall));
}

}  // namespace arcella::component
