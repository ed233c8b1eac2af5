// CompileOptions::cached_only: asking the AOT cache without compiling. A miss
// is NotFound with no decode and nothing written to the cache folder; a
// module being compiled by someone else is AlreadyExists; a hit is the AOT
// module, made from the cache, that runs; interpreter compiles ignore it.
#include <dirent.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "engine/module_meta.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

constexpr const char* kCachedOnlyWat = R"((module
  (func (export "mix") (param i32 i32) (result i32)
    local.get 0 i32.const 7 i32.mul local.get 1 i32.xor)))";

// Every name in `dir` (the cache folder), with its size: a write shows.
std::set<std::string> CachedOnlyListing(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat st;
    if (stat((dir + "/" + n).c_str(), &st) != 0) continue;
    out.insert(n + ":" + std::to_string(st.st_size));
  }
  closedir(d);
  return out;
}

std::shared_ptr<Engine> CachedOnlyEngine(const std::string& cache_dir,
                                         const std::string& cc = "cc") {
  EngineConfig c;
  c.cache_dir = cache_dir;
  c.cc = cc;
  auto e = Engine::Create(c);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

CompileOptions CachedOnly(Tier tier = Tier::kAuto) {
  CompileOptions o;
  o.tier = tier;
  o.cached_only = true;
  return o;
}

int32_t CallMix(const std::shared_ptr<const Module>& m, int32_t a, int32_t b) {
  auto inst = Instance::Create(m, Linker{}, InstanceOptions{});
  EXPECT_TRUE(inst.ok()) << inst.status().ToString();
  if (!inst.ok()) return -1;
  auto out = (*inst)->Call("mix", std::vector<Value>{Value::I32(a), Value::I32(b)});
  EXPECT_TRUE(out.ok() && out->ok());
  if (!out.ok() || !out->ok()) return -1;
  return static_cast<int32_t>(out->results.at(0).i32);
}

TEST(CachedOnlyTest, MissIsNotFoundWithoutDecodeOrAnyWrite) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string cache = test::TempDir("cached-only-miss") + "/cache";
  auto engine = CachedOnlyEngine(cache);
  ASSERT_TRUE(engine);
  const auto wasm = test::Wat(kCachedOnlyWat);
  const auto before = CachedOnlyListing(cache);
  const uint64_t decodes = ModuleDecodeCount();
  for (Tier t : {Tier::kAuto, Tier::kAot}) {
    auto m = engine->Compile(wasm, CachedOnly(t));
    ASSERT_FALSE(m.ok()) << TierName(t);
    EXPECT_EQ(m.status().code(), StatusCode::kNotFound) << m.status().ToString();
  }
  EXPECT_EQ(ModuleDecodeCount(), decodes) << "a lookup decodes nothing";
  EXPECT_EQ(CachedOnlyListing(cache), before) << "a lookup writes nothing to the cache";
  EXPECT_EQ(engine->registry_size(), 0u);

  // No AOT tier at all (no cache folder): a miss too, not a compile.
  auto no_aot = Engine::Create(EngineConfig{});
  ASSERT_TRUE(no_aot.ok());
  auto m = (*no_aot)->Compile(wasm, CachedOnly());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ModuleDecodeCount(), decodes);
}

TEST(CachedOnlyTest, AfterACompileTheLookupReturnsTheAotModuleFromTheCache) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string cache = test::TempDir("cached-only-hit") + "/cache";
  const auto wasm = test::Wat(kCachedOnlyWat);
  {
    auto compiler = CachedOnlyEngine(cache);
    ASSERT_TRUE(compiler);
    CompileOptions aot;
    aot.tier = Tier::kAot;
    auto m = compiler->Compile(wasm, aot);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    // In the compiling Engine, the registry answers.
    auto again = compiler->Compile(wasm, CachedOnly());
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->get(), m->get());
  }
  // Another Engine (another process, in effect) on the same folder: from disk.
  auto engine = CachedOnlyEngine(cache);
  ASSERT_TRUE(engine);
  const uint64_t decodes = ModuleDecodeCount();
  auto m = engine->Compile(wasm, CachedOnly());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->tier(), Tier::kAot);
  EXPECT_EQ(ModuleDecodeCount(), decodes) << "a hit decodes nothing";
  EXPECT_EQ(CallMix(*m, 5, 3), (5 * 7) ^ 3);
  // A plain compile now finds the same Module in the registry.
  CompileOptions aot;
  aot.tier = Tier::kAot;
  auto plain = engine->Compile(wasm, aot);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->get(), m->get());
}

TEST(CachedOnlyTest, InterpreterCompilesIgnoreIt) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string cache = test::TempDir("cached-only-interp") + "/cache";
  auto engine = CachedOnlyEngine(cache);
  ASSERT_TRUE(engine);
  const auto wasm = test::Wat(kCachedOnlyWat);
  const auto before = CachedOnlyListing(cache);
  auto m = engine->Compile(wasm, CachedOnly(Tier::kInterp));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->tier(), Tier::kInterp);
  EXPECT_EQ(CallMix(*m, 2, 9), (2 * 7) ^ 9);
  EXPECT_EQ(CachedOnlyListing(cache), before);
  // And the AOT cache still does not have it.
  auto aot = engine->Compile(wasm, CachedOnly(Tier::kAot));
  ASSERT_FALSE(aot.ok());
  EXPECT_EQ(aot.status().code(), StatusCode::kNotFound);
}

// While a compile of the module runs (its compiler held at a gate), a lookup
// says AlreadyExists; once it is done, the lookup hits.
TEST(CachedOnlyTest, WhileAnotherCompileRunsTheLookupSaysSo) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string dir = test::TempDir("cached-only-busy");
  const std::string gate = dir + "/open";
  const std::string cc = dir + "/gated-cc";
  {
    std::ofstream f(cc);
    f << "#!/bin/sh\nwhile [ ! -e '" << gate << "' ]; do sleep 0.05; done\nexec cc \"$@\"\n";
  }
  ASSERT_EQ(chmod(cc.c_str(), 0755), 0);
  auto engine = CachedOnlyEngine(dir + "/cache", cc);
  ASSERT_TRUE(engine);
  const auto wasm = test::Wat(kCachedOnlyWat);
  Result<std::shared_ptr<const Module>> compiled = Status::Internal("not run");
  std::thread compile([&] {
    CompileOptions aot;
    aot.tier = Tier::kAot;
    compiled = engine->Compile(wasm, aot);
  });
  StatusCode seen = StatusCode::kOk;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < end) {
    auto m = engine->Compile(wasm, CachedOnly());
    ASSERT_FALSE(m.ok()) << "hit before the compiler could run";
    seen = m.status().code();
    if (seen == StatusCode::kAlreadyExists) break;
    EXPECT_EQ(seen, StatusCode::kNotFound) << m.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition
  }
  EXPECT_EQ(seen, StatusCode::kAlreadyExists) << "the compile's lock was never seen held";
  std::ofstream(gate).put('\n');
  compile.join();
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  auto m = engine->Compile(wasm, CachedOnly());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->tier(), Tier::kAot);
  EXPECT_EQ(CallMix(*m, 1, 1), 7 ^ 1);
}

}  // namespace
}  // namespace arcella::engine
