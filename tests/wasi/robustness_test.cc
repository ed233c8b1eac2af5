// Random arguments and random memory for every preview1 function: no crash,
// no exception, and nothing outside the preopen is touched.
#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <set>

#include "test_util.h"
#include "wasi_harness.h"

namespace arcella::wasi::test {
namespace {

std::set<std::string> Listing(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) names.insert(e->d_name);
    closedir(d);
  }
  return names;
}

TEST(Robustness, RandomCallsStayInside) {
  std::string root = arcella::test::TempDir("wasi-fuzz");
  std::string box = root + "/box";
  ASSERT_EQ(mkdir(box.c_str(), 0755), 0);
  std::ofstream(root + "/sentinel") << "keep";
  std::ofstream(box + "/f") << "data";
  auto before = Listing(root);

  WasiConfig cfg;
  cfg.preopens.push_back({box, "/box", false});
  cfg.args = {"a", "b"};
  Harness h(cfg, 4096);
  std::mt19937_64 rng(12345);
  auto sigs = Preview1Signatures();
  const uint32_t kInteresting[] = {0,    1,    2,    3,    4,          5,          8,         100,
                                   4000, 4095, 4096, 4097, 0x7fffffff, 0xffffffff, 0xfffffff0};
  int calls = 0;
  for (int round = 0; round < 20000; ++round) {
    const auto& sig = sigs[rng() % sigs.size()];
    std::string name = sig.name;
    if (name == "poll_oneoff" || name == "proc_exit") continue;  // may block / always traps
    // Memory: random bytes, with short paths made of a-z, '.', '/'.
    for (auto& b : h.mem) b = static_cast<uint8_t>(rng());
    static const char kPathChars[] = "ab./";
    for (int i = 1024; i < 1100; ++i) h.mem[i] = kPathChars[rng() % 4];
    std::vector<engine::Value> args;
    for (auto t : sig.type.params) {
      uint64_t v = rng() % 3 == 0 ? rng() : kInteresting[rng() % std::size(kInteresting)];
      if (rng() % 3 == 0) v = 1024 + rng() % 8;  // often a path pointer / short length
      args.push_back(t == engine::ValType::kI64 ? L(v) : I(static_cast<uint32_t>(v)));
    }
    uint32_t r = h.Call(name.c_str(), args);
    ASSERT_FALSE(h.last_trap) << name;
    ASSERT_LE(r, 76u) << name;
    ++calls;
  }
  EXPECT_GT(calls, 15000);
  EXPECT_EQ(Listing(root), before);
  (void)system(("rm -rf " + root).c_str());
}

}  // namespace
}  // namespace arcella::wasi::test
