// AOT cache garbage collection (src/engine/aot/cache_gc.h): stale lock files
// and unit objects are trimmed and the cache still serves; compiles in two
// processes go on while the collector runs.
#include "engine/aot/cache_gc.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "engine/aot/compiler.h"
#include "engine/engine.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

namespace fs = std::filesystem;

// `n` chained functions adding `k * i`; export "run" (i32) -> i32.
std::vector<uint8_t> ChainModule(int n, int k) {
  std::ostringstream w;
  w << "(module\n";
  for (int i = 0; i < n; ++i) {
    w << "(func $f" << i << " (param i32) (result i32) local.get 0 i32.const " << i * k
      << " i32.add";
    if (i > 0) w << " call $f" << (i - 1);
    w << ")\n";
  }
  w << "(func (export \"run\") (param i32) (result i32) local.get 0 call $f" << (n - 1) << "))\n";
  return test::Wat(w.str());
}

int32_t ChainResult(int n, int k, int x) { return x + k * n * (n - 1) / 2; }

std::shared_ptr<Engine> AotEngine(const std::string& cache) {
  EngineConfig c;
  c.cache_dir = cache;
  if (const char* cc = getenv("CC"); cc && *cc) c.cc = cc;
  c.default_tier = Tier::kAot;
  auto e = Engine::Create(c);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

// Compiles `wasm` on `engine` and calls run(x); nullopt on any failure.
std::optional<int32_t> CompileAndRun(const std::shared_ptr<Engine>& engine,
                                     const std::vector<uint8_t>& wasm, int32_t x) {
  auto m = engine->Compile(wasm);
  if (!m.ok()) return std::nullopt;
  auto inst = Instance::Create(*m, Linker{}, InstanceOptions{});
  if (!inst.ok()) return std::nullopt;
  Value arg = Value::I32(x);
  auto out = (*inst)->Call("run", std::span<const Value>(&arg, 1));
  if (!out.ok() || !out->ok() || out->results.size() != 1) return std::nullopt;
  return static_cast<int32_t>(out->results[0].i32);
}

std::set<std::string> Names(const std::string& dir, const std::string& suffix) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.size() == 64 + suffix.size() && n.compare(64, suffix.size(), suffix) == 0) out.insert(n);
  }
  return out;
}

void SetAge(const std::string& path, std::chrono::seconds age) {
  struct timespec t[2];
  t[0].tv_sec = t[1].tv_sec = time(nullptr) - age.count();
  t[0].tv_nsec = t[1].tv_nsec = 0;
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), t, 0), 0) << path;
}

void WriteFile(const std::string& path, size_t bytes) {
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr) << path;
  std::string data(bytes, 'x');
  fwrite(data.data(), 1, data.size(), f);
  fclose(f);
}

struct DirFd {
  explicit DirFd(const std::string& p) : fd(open(p.c_str(), O_RDONLY | O_DIRECTORY)) {}
  ~DirFd() {
    if (fd >= 0) close(fd);
  }
  int fd;
};

class CacheGcTest : public ::testing::Test {
 protected:
  void SetUp() override { aot::SetUnitBudgetForTesting(2048); }  // several units per module
  void TearDown() override { aot::SetUnitBudgetForTesting(0); }
};

TEST_F(CacheGcTest, StaleLocksAndOldUnitObjectsAreTrimmedAndTheCacheStillServes) {
  const std::string cache = test::TempDir("cache-gc");
  const auto wasm = ChainModule(30, 3);
  {
    auto engine = AotEngine(cache);
    ASSERT_TRUE(engine);
    EXPECT_EQ(CompileAndRun(engine, wasm, 4), ChainResult(30, 3, 4));
  }
  auto units = Names(cache, ".o");
  ASSERT_GE(units.size(), 2u) << "the module was split into units";
  ASSERT_EQ(Names(cache, ".lock").size(), 1u);
  // Every unit object unused for 40 days; the module's lock, a stale lock
  // and one a live process holds, all two hours old.
  for (const auto& u : units) SetAge(cache + "/" + u, std::chrono::hours(24 * 40));
  const std::string stale = cache + "/" + std::string(64, 'a') + ".lock";
  const std::string held = cache + "/" + std::string(64, 'b') + ".lock";
  WriteFile(stale, 0);
  WriteFile(held, 0);
  int held_fd = open(held.c_str(), O_RDWR);
  ASSERT_GE(held_fd, 0);
  ASSERT_EQ(flock(held_fd, LOCK_EX), 0);
  for (const auto& l : Names(cache, ".lock")) SetAge(cache + "/" + l, std::chrono::hours(2));
  const auto entries = Names(cache, ".so");
  ASSERT_EQ(entries.size(), 1u);

  DirFd dir(cache);
  aot::CacheGcStats st = aot::CollectCacheGarbage(dir.fd);
  EXPECT_EQ(st.units_removed, units.size());
  EXPECT_EQ(st.locks_removed, 2u);
  EXPECT_EQ(Names(cache, ".o"), std::set<std::string>{});
  EXPECT_EQ(Names(cache, ".lock"), std::set<std::string>{std::string(64, 'b') + ".lock"})
      << "only the held lock stays";
  EXPECT_EQ(Names(cache, ".so"), entries) << "module entries are never collected";
  close(held_fd);

  // A fresh engine (its own registry) finds the module in the cache.
  auto again = AotEngine(cache);
  ASSERT_TRUE(again);
  EXPECT_EQ(CompileAndRun(again, wasm, 9), ChainResult(30, 3, 9));
  EXPECT_EQ(Names(cache, ".o"), std::set<std::string>{}) << "a cache hit compiles no unit";
  // A changed module compiles (its units again) and runs.
  EXPECT_EQ(CompileAndRun(again, ChainModule(30, 5), 1), ChainResult(30, 5, 1));
  EXPECT_GE(Names(cache, ".o").size(), 2u);
}

TEST_F(CacheGcTest, UnitObjectsOverTheBudgetGoLeastRecentlyUsedFirst) {
  const std::string cache = test::TempDir("cache-gc");
  auto name = [](char c) { return std::string(64, c) + ".o"; };
  // Last used 4 h, 3 h, 2 h, 1 h and 1 minute ago; 1000 bytes each.
  const char order[] = {'a', 'b', 'c', 'd', 'e'};
  const int ages_min[] = {240, 180, 120, 60, 1};
  for (int i = 0; i < 5; ++i) {
    WriteFile(cache + "/" + name(order[i]), 1000);
    SetAge(cache + "/" + name(order[i]), std::chrono::minutes(ages_min[i]));
  }
  WriteFile(cache + "/not-a-unit.o", 5000);  // not a cache name: left alone
  DirFd dir(cache);
  aot::CacheGcPolicy p;
  p.unit_bytes_budget = 2500;
  auto st = aot::CollectCacheGarbage(dir.fd, p);
  EXPECT_EQ(st.units_removed, 3u);
  EXPECT_EQ(st.unit_bytes_kept, 2000u);
  EXPECT_EQ(Names(cache, ".o"), (std::set<std::string>{name('d'), name('e')}));
  // Budget 0: everything but what was used within unit_min_age (10 min).
  p.unit_bytes_budget = 0;
  aot::CollectCacheGarbage(dir.fd, p);
  EXPECT_EQ(Names(cache, ".o"), std::set<std::string>{name('e')});
  EXPECT_TRUE(fs::exists(cache + "/not-a-unit.o"));
  // A reuse refreshes the order.
  SetAge(cache + "/" + name('e'), std::chrono::hours(1));
  aot::TouchCacheEntry(dir.fd, name('e'));
  aot::CollectCacheGarbage(dir.fd, p);
  EXPECT_EQ(Names(cache, ".o"), std::set<std::string>{name('e')});
}

// Two processes compile (one module they share, waiting on its lock, and
// one of their own) while this one collects as hard as it can: every unit
// object and every lock nobody holds is removed over and over.
TEST_F(CacheGcTest, TwoProcessesCompilingWhileTheCollectorRunsDoNotBreakEachOther) {
  const std::string cache = test::TempDir("cache-gc");
  ASSERT_TRUE(AotEngine(cache));  // creates the folder and its key
  const auto shared = ChainModule(40, 7);
  pid_t kids[2];
  for (int i = 0; i < 2; ++i) {
    fflush(nullptr);
    kids[i] = fork();
    ASSERT_GE(kids[i], 0);
    if (kids[i] == 0) {
      auto engine = AotEngine(cache);
      bool ok = engine && CompileAndRun(engine, shared, 2) == ChainResult(40, 7, 2) &&
                CompileAndRun(engine, ChainModule(35, 11 + i), 1) == ChainResult(35, 11 + i, 1);
      _exit(ok ? 0 : 1);
    }
  }
  aot::CacheGcPolicy hard;
  hard.unit_bytes_budget = 0;
  hard.unit_max_age = std::chrono::seconds(0);
  hard.unit_min_age = std::chrono::seconds(0);
  hard.lock_min_age = std::chrono::seconds(0);
  DirFd dir(cache);
  int status[2] = {-1, -1};
  int left = 2;
  uint64_t rounds = 0, locks = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    locks += aot::CollectCacheGarbage(dir.fd, hard).locks_removed;
    ++rounds;
    for (int i = 0; i < 2; ++i) {
      int st;
      if (status[i] == -1 && waitpid(kids[i], &st, WNOHANG) == kids[i]) {
        status[i] = st;
        --left;
      }
    }
    std::this_thread::yield();
  }
  for (int i = 0; i < 2; ++i) {
    if (status[i] == -1) {
      kill(kids[i], SIGKILL);
      waitpid(kids[i], &status[i], 0);
      ADD_FAILURE() << "process " << i << " did not finish its compiles";
      continue;
    }
    EXPECT_TRUE(WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0)
        << "process " << i << " failed (status " << status[i] << ")";
  }
  std::printf("collector: %llu rounds, %llu locks removed\n", (unsigned long long)rounds,
              (unsigned long long)locks);
  EXPECT_EQ(Names(cache, ".so").size(), 3u) << "the shared module once, each own module once";
  auto engine = AotEngine(cache);
  EXPECT_EQ(CompileAndRun(engine, shared, 5), ChainResult(40, 7, 5));
}

}  // namespace
}  // namespace arcella::engine
