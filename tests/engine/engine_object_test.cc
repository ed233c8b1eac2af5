// engine::Engine: configuration checks, several engines in one process (each
// with its own cache folder), the code registry (one Module per bytes and
// tier, one compile for concurrent requests), and one compiled artefact that
// serves instances with fuel, without fuel and with a deadline.
#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

using test::Wat;

constexpr const char* kCountWat = R"((module
  (func (export "count") (param $n i32) (local $i i32)
    (loop $l
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l))
  (func (export "spin") (loop $l br $l))))";

// Names in `dir` other than the cache's key file.
std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && n != "key") out.insert(n);
  }
  closedir(d);
  return out;
}

std::shared_ptr<Engine> MakeEngine(const std::string& cache_dir,
                                   Metering metering = Metering::kFuel) {
  auto e = Engine::Create({.cache_dir = cache_dir, .metering = metering});
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

bool HaveCc() { return AotAvailable("cc"); }

TEST(EngineObjectTest, SeveralEnginesFillOnlyTheirOwnCacheFolders) {
  if (!HaveCc()) GTEST_SKIP() << "no C compiler";
  std::string a_dir = test::TempDir("engine-a") + "/cache";
  std::string b_dir = test::TempDir("engine-b") + "/cache";
  auto a = MakeEngine(a_dir);
  auto b = MakeEngine(b_dir);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(Entries(a_dir).empty());
  EXPECT_TRUE(Entries(b_dir).empty());

  auto wasm = Wat(kCountWat);
  auto ma = a->Compile(wasm, {.tier = Tier::kAot});
  ASSERT_TRUE(ma.ok()) << ma.status().ToString();
  EXPECT_FALSE(Entries(a_dir).empty()) << "engine a cached nothing in its folder";
  EXPECT_TRUE(Entries(b_dir).empty()) << "engine a wrote into engine b's folder";

  auto mb = b->Compile(wasm, {.tier = Tier::kAot});
  ASSERT_TRUE(mb.ok()) << mb.status().ToString();
  EXPECT_FALSE(Entries(b_dir).empty());
  // Shared within one engine, not across engines.
  EXPECT_NE(ma->get(), mb->get());
  EXPECT_EQ((*ma)->engine(), a);
  EXPECT_EQ((*mb)->engine(), b);
  auto again = a->Compile(wasm, {.tier = Tier::kAot});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), ma->get());

  // Both run, each with its engine's watchdog.
  for (const auto& m : {*ma, *mb}) {
    InstanceOptions o;
    o.limits.deadline = std::chrono::milliseconds(30);
    auto inst = Instance::Create(m, Linker(), o);
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    auto r = (*inst)->Call("spin", {});
    ASSERT_TRUE(r.ok() && r->trap);
    EXPECT_EQ(r->trap->kind, TrapKind::kDeadline);
  }
}

TEST(EngineObjectTest, RegistrySharesOneModulePerBytesAndTier) {
  auto e = MakeEngine(test::TempDir("engine-reg") + "/cache");
  ASSERT_TRUE(e);
  auto wasm = Wat(kCountWat);
  auto m1 = e->Compile(wasm, {.tier = Tier::kInterp});
  auto m2 = e->Compile(wasm, {.tier = Tier::kInterp});
  ASSERT_TRUE(m1.ok() && m2.ok());
  EXPECT_EQ(m1->get(), m2->get());
  EXPECT_EQ(e->registry_size(), 1u);

  // Other bytes: another module.
  auto other = e->Compile(Wat("(module (func (export \"f\")))"), {.tier = Tier::kInterp});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->get(), m1->get());
  EXPECT_EQ(e->registry_size(), 2u);

  if (HaveCc()) {
    // Another tier: another module; kAuto finds the module of the tier it
    // resolves to.
    auto aot = e->Compile(wasm, {.tier = Tier::kAot});
    ASSERT_TRUE(aot.ok()) << aot.status().ToString();
    EXPECT_NE(aot->get(), m1->get());
    auto autom = e->Compile(wasm);
    ASSERT_TRUE(autom.ok());
    EXPECT_EQ((*autom)->tier(), Tier::kAot);
    auto aot2 = e->Compile(wasm, {.tier = Tier::kAot});
    ASSERT_TRUE(aot2.ok());
    EXPECT_EQ(aot2->get(), aot->get());
  }

  // The registry does not keep modules alive: once nobody holds one, the
  // next compile makes a fresh one that works.
  std::weak_ptr<const Module> weak = *m1;
  m1 = Status::Cancelled("dropped");
  m2 = Status::Cancelled("dropped");
  EXPECT_TRUE(weak.expired());
  auto m3 = e->Compile(wasm, {.tier = Tier::kInterp});
  ASSERT_TRUE(m3.ok());
  auto inst = Instance::Create(*m3, Linker(), {});
  ASSERT_TRUE(inst.ok());
  EXPECT_TRUE((*inst)->Call("count", std::vector<Value>{Value::I32(3)})->ok());
}

TEST(EngineObjectTest, ConcurrentCompilesOfTheSameBytesMakeOneModule) {
  auto e = MakeEngine(test::TempDir("engine-conc") + "/cache");
  ASSERT_TRUE(e);
  // Fresh bytes for a fresh cache: the AOT tier really compiles (seconds),
  // so the eight requests overlap.
  auto wasm = Wat(kCountWat);
  Tier tier = HaveCc() ? Tier::kAot : Tier::kInterp;
  constexpr int kThreads = 8;
  std::vector<std::shared_ptr<const Module>> got(kThreads);
  std::latch go(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      auto m = e->Compile(wasm, {.tier = tier});
      EXPECT_TRUE(m.ok()) << m.status().ToString();
      if (m.ok()) got[i] = *m;
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(got[0]);
  for (int i = 1; i < kThreads; ++i) EXPECT_EQ(got[i].get(), got[0].get()) << i;
  EXPECT_EQ(e->registry_size(), 1u);
}

TEST(EngineObjectTest, CreateRejectsBadConfigurations) {
  auto no_cc = Engine::Create({.cache_dir = "", .cc = ""});
  ASSERT_FALSE(no_cc.ok());
  EXPECT_NE(no_cc.status().message().find("C compiler"), std::string::npos);

  auto relative = Engine::Create({.cache_dir = "relative/cache"});
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.status().message().find("\"relative/cache\" is not an absolute path"),
            std::string::npos)
      << relative.status().message();

  std::string shared = test::TempDir("engine-shared") + "/cache";
  ASSERT_EQ(mkdir(shared.c_str(), 0700), 0);
  ASSERT_EQ(chmod(shared.c_str(), 0777), 0);
  auto open = Engine::Create({.cache_dir = shared});
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find(shared), std::string::npos) << open.status().message();

  auto aot_without_cache = Engine::Create({.cache_dir = "", .default_tier = Tier::kAot});
  ASSERT_FALSE(aot_without_cache.ok());
  EXPECT_NE(aot_without_cache.status().message().find("cache folder"), std::string::npos);

  // No cache folder: an interpreter-only engine; an AOT request says why.
  auto interp_only = Engine::Create({});
  ASSERT_TRUE(interp_only.ok()) << interp_only.status().ToString();
  EXPECT_FALSE((*interp_only)->AotAvailable());
  auto wasm = Wat(kCountWat);
  auto aot = (*interp_only)->Compile(wasm, {.tier = Tier::kAot});
  ASSERT_FALSE(aot.ok());
  EXPECT_NE(aot.status().message().find("cache folder"), std::string::npos);
  auto autom = (*interp_only)->Compile(wasm);
  ASSERT_TRUE(autom.ok());
  EXPECT_EQ((*autom)->tier(), Tier::kInterp);

  // Engine settings are not per-compile options.
  CompileOptions per_call;
  per_call.cache_dir = "/elsewhere";
  auto bad = (*interp_only)->Compile(wasm, per_call);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);

  // Limits an engine's metering cannot give are refused at instance creation.
  auto none = Engine::Create({.metering = Metering::kNone});
  ASSERT_TRUE(none.ok());
  auto plain = (*none)->Compile(wasm);
  ASSERT_TRUE(plain.ok());
  InstanceOptions fuel;
  fuel.limits.fuel = 10;
  auto refused = Instance::Create(*plain, Linker(), fuel);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("fuel metering"), std::string::npos);
}

TEST(EngineObjectTest, ModulesKeepTheirEngineAlive) {
  std::shared_ptr<const Module> m;
  {
    auto e = MakeEngine("");
    ASSERT_TRUE(e);
    auto c = e->Compile(Wat(kCountWat));
    ASSERT_TRUE(c.ok());
    m = *c;
  }  // the caller's engine reference is gone; the module holds the engine
  InstanceOptions o;
  o.limits.deadline = std::chrono::milliseconds(20);
  auto inst = Instance::Create(m, Linker(), o);
  ASSERT_TRUE(inst.ok());
  auto r = (*inst)->Call("spin", {});
  ASSERT_TRUE(r.ok() && r->trap);
  EXPECT_EQ(r->trap->kind, TrapKind::kDeadline);
}

class OneArtefactTest : public ::testing::TestWithParam<Tier> {};

// One compiled module (default engine: fuel + interrupt, switchable per
// instance) serves an instance with fuel, one without, and one with a
// deadline; fuel counts are exact (count(n) costs 7n, see engine_test.cc).
TEST_P(OneArtefactTest, FuelNoFuelAndDeadlineFromOneModule) {
  if (GetParam() == Tier::kAot && !HaveCc()) GTEST_SKIP() << "no C compiler";
  auto e = MakeEngine(test::TempDir("engine-one") + "/cache");
  ASSERT_TRUE(e);
  auto compiled = e->Compile(Wat(kCountWat), {.tier = GetParam()});
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  std::shared_ptr<const Module> m = *compiled;
  EXPECT_EQ(m->tier(), GetParam());
  EXPECT_EQ(m->metering(), Metering::kFuel);

  // With fuel: exactly 7 per iteration; one unit short traps out of fuel.
  {
    InstanceOptions o;
    o.limits.fuel = 700;
    auto inst = Instance::Create(m, Linker(), o);
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    auto r = (*inst)->Call("count", std::vector<Value>{Value::I32(100)});
    ASSERT_TRUE(r.ok() && r->ok());
    EXPECT_EQ((*inst)->fuel(), 0u);
    EXPECT_EQ((*inst)->fuel_consumed(), 700u);
    o.limits.fuel = 699;
    inst = Instance::Create(m, Linker(), o);
    ASSERT_TRUE(inst.ok());
    r = (*inst)->Call("count", std::vector<Value>{Value::I32(100)});
    ASSERT_TRUE(r.ok() && r->trap);
    EXPECT_EQ(r->trap->kind, TrapKind::kOutOfFuel);
    // Spin traps after at most one more loop iteration's charge.
    o.limits.fuel = 100'000;
    inst = Instance::Create(m, Linker(), o);
    r = (*inst)->Call("spin", {});
    ASSERT_TRUE(r.ok() && r->trap);
    EXPECT_EQ(r->trap->kind, TrapKind::kOutOfFuel);
    EXPECT_GE((*inst)->fuel_consumed(), 100'000u);
    EXPECT_LE((*inst)->fuel_consumed(), 100'002u);
  }
  // Without fuel: runs as long as it needs, never asks for more, fuel() is 0.
  {
    int asked = 0;
    InstanceOptions o;
    o.on_out_of_fuel = [&](Instance&) -> uint64_t {
      ++asked;
      return 0;
    };
    auto inst = Instance::Create(m, Linker(), o);
    ASSERT_TRUE(inst.ok());
    auto r = (*inst)->Call("count", std::vector<Value>{Value::I32(2'000'000)});
    ASSERT_TRUE(r.ok() && r->ok());
    EXPECT_EQ(asked, 0);
    EXPECT_EQ((*inst)->fuel(), 0u);
    // Interrupt() from another thread still stops a runaway loop.
    std::thread stopper([&] {
      while (!(*inst)->InterruptPending()) (*inst)->Interrupt();
    });
    r = (*inst)->Call("spin", {});
    stopper.join();
    ASSERT_TRUE(r.ok() && r->trap);
    EXPECT_EQ(r->trap->kind, TrapKind::kInterrupted);
    // Fuel switched on later for the same instance.
    ASSERT_TRUE((*inst)->SetFuel(70).ok());
    r = (*inst)->Call("count", std::vector<Value>{Value::I32(10)});
    ASSERT_TRUE(r.ok() && r->ok());
    r = (*inst)->Call("count", std::vector<Value>{Value::I32(1)});
    ASSERT_TRUE(r.ok() && r->trap);
    EXPECT_EQ(r->trap->kind, TrapKind::kOutOfFuel);
  }
  // With a deadline: the infinite loop is interrupted.
  {
    InstanceOptions o;
    o.limits.deadline = std::chrono::milliseconds(30);
    auto inst = Instance::Create(m, Linker(), o);
    ASSERT_TRUE(inst.ok());
    auto r = (*inst)->Call("spin", {});
    ASSERT_TRUE(r.ok() && r->trap);
    EXPECT_EQ(r->trap->kind, TrapKind::kDeadline);
    r = (*inst)->Call("count", std::vector<Value>{Value::I32(5)});
    ASSERT_TRUE(r.ok() && r->ok());
  }
  // All of the above came from the one module: nothing else was compiled.
  EXPECT_EQ(e->registry_size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Tiers, OneArtefactTest, ::testing::Values(Tier::kAot, Tier::kInterp),
                         [](const auto& info) { return std::string(TierName(info.param)); });

}  // namespace
}  // namespace arcella::engine
