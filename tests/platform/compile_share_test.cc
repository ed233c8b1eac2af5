// Two installs of the same bytes share one compile through the Engine's
// registry (the platform keeps no map of compiles in flight): cancelling
// one install does not cancel the other's wait, which then compiles itself.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "platform/platform_fixture.h"
#include "test_util.h"

namespace arcella::platform {
namespace {

// A module of `functions` chained functions with arithmetic and branches:
// enough C that its AOT compile takes seconds and is split into units.
std::vector<uint8_t> BigModule(int functions, int salt) {
  std::ostringstream w;
  w << "(module\n";
  for (int i = 0; i < functions; ++i) {
    w << "(func $f" << i << " (param i32) (result i32) (local $a i32)\n"
      << "  local.get 0 i32.const " << (i * 7 + salt) << " i32.add local.set $a\n";
    for (int k = 0; k < 12; ++k)
      w << "  local.get $a i32.const " << (k + 3) << " i32.mul i32.const " << (i ^ k)
        << " i32.xor local.set $a\n"
        << "  (if (i32.gt_u (local.get $a) (i32.const " << (1000 + k + salt)
        << ")) (then local.get $a i32.const 1 i32.shr_u local.set $a))\n";
    if (i > 0) w << "  local.get $a call $f" << (i - 1) << " return\n";
    w << "  local.get $a)\n";
  }
  w << "(func (export \"run\") (result i32) i32.const 1 call $f" << (functions - 1) << ")\n)\n";
  return test::Wat(w.str());
}

// Polls `pred` every 20 ms until it holds (true) or `limit` passes (false).
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class CompileShareTest : public PlatformFixture {
 protected:
  void SetUp() override { OpenPlatform("compile-share-home"); }
};

TEST_F(CompileShareTest, CancellingOneInstallDoesNotCancelAnothersWait) {
  const std::string path = test::TempDir("compile-share") + "/big.wasm";
  {
    auto bytes = BigModule(600, 7);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  // A starts the compile; B asks for the same bytes once A reports progress.
  std::atomic<bool> cancel_a{false}, a_progress{false}, b_compiling{false}, b_progress{false};
  Result<ModuleInfo> a = Status::Internal("unset"), b = Status::Internal("unset");
  InstallCompileHooks ha;
  ha.cancel = &cancel_a;
  ha.on_progress = [&](const engine::CompileProgress& p) {
    if (p.units_total > 0) a_progress = true;
  };
  std::thread ta([&] { a = platform_->Install(path, false, Manifest("a"), {}, ha); });
  ASSERT_TRUE(WaitUntil([&] { return a_progress.load(); }, std::chrono::minutes(2)))
      << "A never reported compile progress";
  std::atomic<bool> cancel_b{false};
  InstallCompileHooks hb;
  hb.cancel = &cancel_b;
  hb.on_progress = [&](const engine::CompileProgress&) { b_progress = true; };
  std::thread tb([&] {
    b = platform_->Install(
        path, false, Manifest("b"),
        [&](const std::string& stage) {
          if (stage == "compile") b_compiling = true;
        },
        hb);
  });
  // B enters the Engine's compile right after its "compile" stage.
  ASSERT_TRUE(WaitUntil([&] { return b_compiling.load(); }, std::chrono::minutes(1)));
  cancel_a = true;
  ta.join();
  tb.join();
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kCancelled) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->record.tier, "aot");
  EXPECT_TRUE(b_progress.load()) << "B compiled itself after A's compile was cancelled";
  EXPECT_FALSE(platform_->Inspect("a@0.1.0").ok()) << "a cancelled install stores nothing";
  EXPECT_TRUE(platform_->Inspect("b@0.1.0").ok());
}

}  // namespace
}  // namespace arcella::platform
