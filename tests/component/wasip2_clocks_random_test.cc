// wasi:clocks and wasi:random@0.2.12: monotonic readings increase, readings
// keep the configured granularity, deadlines, random sizes and limits.
#include <time.h>

#include <chrono>
#include <set>
#include <thread>

#include "wasip2_test_util.h"

namespace arcella::component {
namespace {

constexpr const char* kMono = "wasi:clocks/monotonic-clock";
constexpr const char* kWall = "wasi:clocks/wall-clock";

TEST(WasiP2Clocks, MonotonicIncreasesAndKeepsTheGranularity) {
  wasi::WasiConfig cfg;
  cfg.clock_granularity_ns = 1'000'000;  // 1 ms
  P2Host h(std::move(cfg));
  uint64_t a = h.Get(kMono, "now").u;
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  uint64_t b = h.Get(kMono, "now").u;
  EXPECT_GT(b, a);
  EXPECT_GE(b - a, 2'000'000u);
  EXPECT_EQ(a % 1'000'000, 0u);
  EXPECT_EQ(b % 1'000'000, 0u);
  EXPECT_GE(h.Get(kMono, "resolution").u, 1'000'000u);
  Val wall = h.Get(kWall, "now");
  ASSERT_EQ(wall.items.size(), 2u);
  EXPECT_NEAR(static_cast<double>(wall.items[0].u), static_cast<double>(time(nullptr)), 2.0);
  EXPECT_EQ(wall.items[1].u % 1'000'000, 0u);
  Val res = h.Get(kWall, "resolution");
  EXPECT_EQ(res.items[0].u * 1'000'000'000 + res.items[1].u >= 1'000'000, true);
}

TEST(WasiP2Clocks, DefaultGranularityIsMicroseconds) {
  P2Host h;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(h.Get(kMono, "now").u % 1000, 0u);
  EXPECT_GE(h.Get(kMono, "resolution").u, 1000u);
}

TEST(WasiP2Clocks, DeadlinesBecomeReady) {
  P2Host h;
  uint64_t now = h.Get(kMono, "now").u;
  Val past = h.Get(kMono, "subscribe-instant", {Val::U64(now)});
  Val future = h.Get(kMono, "subscribe-instant", {Val::U64(now + 3'600'000'000'000)});
  Val zero = h.Get(kMono, "subscribe-duration", {Val::U64(0)});
  Val huge = h.Get(kMono, "subscribe-duration", {Val::U64(UINT64_MAX)});  // saturates
  EXPECT_TRUE(h.Get("wasi:io/poll", "[method]pollable.ready", {Borrow(past)}).b);
  EXPECT_FALSE(h.Get("wasi:io/poll", "[method]pollable.ready", {Borrow(future)}).b);
  EXPECT_TRUE(h.Get("wasi:io/poll", "[method]pollable.ready", {Borrow(zero)}).b);
  EXPECT_FALSE(h.Get("wasi:io/poll", "[method]pollable.ready", {Borrow(huge)}).b);
  Val d = h.Get(kMono, "subscribe-duration", {Val::U64(20'000'000)});
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.Call("wasi:io/poll", "[method]pollable.block", {Borrow(d)}).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(19));
}

TEST(WasiP2Random, BytesOfTheAskedSizeAndDifferent) {
  P2Host h;
  for (const char* iface : {"wasi:random/random", "wasi:random/insecure"}) {
    std::string fn = std::string(iface) == "wasi:random/random" ? "get-random-bytes"
                                                                : "get-insecure-random-bytes";
    EXPECT_TRUE(h.Get(iface, fn, {Val::U64(0)}).items.empty());
    EXPECT_EQ(h.Get(iface, fn, {Val::U64(1)}).items.size(), 1u);
    Val a = h.Get(iface, fn, {Val::U64(4096)});
    Val b = h.Get(iface, fn, {Val::U64(4096)});
    ASSERT_EQ(a.items.size(), 4096u);
    EXPECT_NE(Str(a), Str(b));
    auto t = h.Call(iface, fn, {Val::U64(UINT64_MAX)});
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.trap().message.find("random bytes asked"), std::string::npos);
  }
  std::set<uint64_t> seen;
  for (int i = 0; i < 4; ++i) seen.insert(h.Get("wasi:random/random", "get-random-u64").u);
  for (int i = 0; i < 4; ++i)
    seen.insert(h.Get("wasi:random/insecure", "get-insecure-random-u64").u);
  EXPECT_EQ(seen.size(), 8u);
  // The seed is fixed per host.
  Val s1 = h.Get("wasi:random/insecure-seed", "insecure-seed");
  Val s2 = h.Get("wasi:random/insecure-seed", "insecure-seed");
  ASSERT_EQ(s1.items.size(), 2u);
  EXPECT_EQ(s1.items[0].u, s2.items[0].u);
  EXPECT_EQ(s1.items[1].u, s2.items[1].u);
  EXPECT_NE(s1.items[0].u, P2Host().Get("wasi:random/insecure-seed", "insecure-seed").items[0].u);
}

}  // namespace
}  // namespace arcella::component
