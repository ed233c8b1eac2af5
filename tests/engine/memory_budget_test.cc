// Engine::SetMemoryBudget: one linear-memory budget over every instance of
// an Engine's modules, on both tiers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kPage = 65536;

// A memory of `pages` pages with grow(delta) -> old size (or -1) and size().
std::string GrowerWat(int pages) {
  return "(module (memory (export \"mem\") " + std::to_string(pages) +
         ")"
         "  (func (export \"grow\") (param i32) (result i32) local.get 0 memory.grow)"
         "  (func (export \"size\") (result i32) memory.size))";
}

class MemoryBudgetTest : public ::testing::TestWithParam<Tier> {
 protected:
  void SetUp() override {
    // An Engine of its own: the budget is per Engine. Same cache folder as
    // the other tests, so AOT code compiled once is reused.
    const char* home = std::getenv("ARCELLA_HOME");
    const std::string dir = home && *home ? std::filesystem::absolute(home).string() + "/cache"
                                          : test::TempDir("memory-budget-cache");
    const char* cc = std::getenv("CC");
    auto made = Engine::Create({.cache_dir = dir, .cc = cc && *cc ? cc : "cc"});
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    engine_ = *made;
  }

  std::shared_ptr<const Module> Compile(const std::string& wat) {
    CompileOptions o;
    o.tier = GetParam();
    auto m = engine_->Compile(test::Wat(wat), o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : nullptr;
  }

  Result<std::shared_ptr<Instance>> Make(const std::shared_ptr<const Module>& m) {
    return Instance::Create(m, Linker(), {});
  }

  // grow(delta)'s result: the old size in pages, or -1.
  static int32_t Grow(Instance& inst, int32_t delta) {
    const Value args[] = {Value::I32(static_cast<uint32_t>(delta))};
    auto out = inst.Call("grow", args);
    EXPECT_TRUE(out.ok() && out->ok()) << (out.ok() ? "trap" : out.status().ToString());
    return out.ok() && out->ok() ? static_cast<int32_t>(out->results[0].i32) : -2;
  }

  static int32_t Size(Instance& inst) {
    auto out = inst.Call("size", {});
    return out.ok() && out->ok() ? static_cast<int32_t>(out->results[0].i32) : -2;
  }

  std::shared_ptr<Engine> engine_;
};

TEST_P(MemoryBudgetTest, InstantiationPastTheBudgetIsRefusedWithTheNumbers) {
  engine_->SetMemoryBudget(4 * 16 * kPage + kPage);  // four 1 MiB memories and a page
  EXPECT_EQ(engine_->memory_budget(), 4 * 16 * kPage + kPage);
  auto m = Compile(GrowerWat(16));
  ASSERT_TRUE(m);
  std::vector<std::shared_ptr<Instance>> live;
  for (int i = 0; i < 4; ++i) {
    auto inst = Make(m);
    ASSERT_TRUE(inst.ok()) << "instance " << i << ": " << inst.status().ToString();
    live.push_back(*inst);
  }
  EXPECT_EQ(engine_->memory_in_use(), 4 * 16 * kPage);
  auto refused = Make(m);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("memory 0 needs 1048576 bytes initially; the engine's memory budget of "
                        "4259840 bytes has 65536 left"));
  // The refused instantiation holds nothing.
  EXPECT_EQ(engine_->memory_in_use(), 4 * 16 * kPage);
}

TEST_P(MemoryBudgetTest, GrowPastTheBudgetFailsWhileASmallerGrowFits) {
  engine_->SetMemoryBudget(4 * kPage);
  auto m = Compile(GrowerWat(1));
  ASSERT_TRUE(m);
  auto inst = Make(m);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(engine_->memory_in_use(), kPage);
  EXPECT_EQ(Grow(**inst, 4), -1);
  EXPECT_EQ(Size(**inst), 1);
  EXPECT_EQ(engine_->memory_in_use(), kPage);
  EXPECT_EQ(Grow(**inst, 3), 1);
  EXPECT_EQ(Size(**inst), 4);
  EXPECT_EQ(engine_->memory_in_use(), 4 * kPage);
  EXPECT_EQ(Grow(**inst, 1), -1);
  EXPECT_EQ(Grow(**inst, 0), 4);  // growing by nothing always works
  // The grown pages are usable.
  auto mem = (*inst)->ExportedMemory("mem");
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->size(), 4 * kPage);
}

TEST_P(MemoryBudgetTest, FreeingAnInstanceGivesItsBytesBack) {
  engine_->SetMemoryBudget(2 * kPage);
  auto m = Compile(GrowerWat(1));
  ASSERT_TRUE(m);
  auto a = Make(m);
  auto b = Make(m);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(Make(m).ok());
  EXPECT_EQ(Grow(**b, 1), -1);
  a->reset();
  EXPECT_EQ(engine_->memory_in_use(), kPage);
  EXPECT_EQ(Grow(**b, 1), 1);  // a's page went back to the budget
  EXPECT_EQ(engine_->memory_in_use(), 2 * kPage);
  b->reset();
  EXPECT_EQ(engine_->memory_in_use(), 0U);
  auto c = Make(m);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(Grow(**c, 1), 1);
}

TEST_P(MemoryBudgetTest, ZeroIsUnlimitedAndUseIsStillCounted) {
  EXPECT_EQ(engine_->memory_budget(), 0U);
  auto m = Compile(GrowerWat(1));
  ASSERT_TRUE(m);
  auto inst = Make(m);
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(Grow(**inst, 100), 1);
  EXPECT_EQ(engine_->memory_in_use(), 101 * kPage);
  EXPECT_EQ(Grow(**inst, 27), 101);
  EXPECT_EQ(engine_->memory_in_use(), 128 * kPage);
  inst->reset();
  EXPECT_EQ(engine_->memory_in_use(), 0U);
}

TEST_P(MemoryBudgetTest, ImportedMemoryIsCountedOnceByItsOwner) {
  engine_->SetMemoryBudget(3 * kPage);
  auto owner_mod = Compile(GrowerWat(2));
  auto user_mod = Compile(
      "(module (import \"o\" \"mem\" (memory 1))"
      "  (func (export \"grow\") (param i32) (result i32) local.get 0 memory.grow))");
  ASSERT_TRUE(owner_mod && user_mod);
  auto owner = Make(owner_mod);
  ASSERT_TRUE(owner.ok());
  Linker linker;
  linker.DefineInstance("o", *owner);
  InstanceOptions with_owner;
  with_owner.store_with = owner->get();
  auto user = Instance::Create(user_mod, linker, with_owner);
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  EXPECT_EQ(engine_->memory_in_use(), 2 * kPage);
  EXPECT_EQ(Grow(**owner, 1), 2);
  EXPECT_EQ(Grow(**owner, 1), -1);
  EXPECT_EQ(engine_->memory_in_use(), 3 * kPage);
}

TEST_P(MemoryBudgetTest, ConcurrentGrowthNeverPassesTheBudget) {
  constexpr int kThreads = 8;
  constexpr uint64_t kBudgetPages = 40;
  engine_->SetMemoryBudget(kBudgetPages * kPage);
  auto m = Compile(GrowerWat(1));
  ASSERT_TRUE(m);
  std::vector<std::shared_ptr<Instance>> insts;
  for (int i = 0; i < kThreads; ++i) {
    auto inst = Make(m);
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    insts.push_back(*inst);
  }
  std::atomic<uint64_t> grown{0};
  std::atomic<uint64_t> over{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        if (Grow(*insts[t], 1) >= 0) grown.fetch_add(1);
        if (engine_->memory_in_use() > kBudgetPages * kPage) over.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(over.load(), 0U);
  EXPECT_LE(engine_->memory_in_use(), kBudgetPages * kPage);
  EXPECT_EQ(engine_->memory_in_use(), (kThreads + grown.load()) * kPage);
  uint64_t pages = 0;
  for (auto& inst : insts) pages += static_cast<uint64_t>(Size(*inst));
  EXPECT_EQ(pages, kThreads + grown.load());
  // The AOT tier charges each grow exactly, so all of the budget is used;
  // the interpreter may refuse a grow while another call holds the rest.
  if (GetParam() == Tier::kAot) {
    EXPECT_EQ(grown.load(), kBudgetPages - kThreads);
  }
}

TEST_P(MemoryBudgetTest, LoweringTheBudgetShrinksNothingButStopsGrowth) {
  auto m = Compile(GrowerWat(1));
  ASSERT_TRUE(m);
  auto inst = Make(m);
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(Grow(**inst, 9), 1);
  engine_->SetMemoryBudget(4 * kPage);
  EXPECT_EQ(engine_->memory_in_use(), 10 * kPage);
  EXPECT_EQ(Size(**inst), 10);
  EXPECT_EQ(Grow(**inst, 1), -1);
  EXPECT_FALSE(Make(m).ok());
  engine_->SetMemoryBudget(12 * kPage);
  EXPECT_EQ(Grow(**inst, 2), 10);
  EXPECT_EQ(Grow(**inst, 1), -1);
  EXPECT_EQ(engine_->memory_in_use(), 12 * kPage);
}

INSTANTIATE_TEST_SUITE_P(Tiers, MemoryBudgetTest, ::testing::Values(Tier::kAot, Tier::kInterp),
                         [](const auto& info) { return std::string(TierName(info.param)); });

}  // namespace
}  // namespace arcella::engine
