// Install refuses a module the platform cannot link before compiling it,
// listing every import; modules using exceptions install on the interpreter.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "platform/platform.h"
#include "platform/platform_fixture.h"
#include "test_util.h"

namespace arcella::platform {
namespace {

namespace fs = std::filesystem;

std::set<std::string> Listing(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    out.insert(it->path().string());
  return out;
}

class EarlyInstallTest : public PlatformFixture {
 protected:
  void SetUp() override { OpenPlatform("early-install-home"); }
};

TEST_F(EarlyInstallTest, UnlinkableModuleIsRefusedListingEveryImportWithoutACompile) {
  auto before = Listing(home_->cache_dir());
  auto r = platform_->Install(test::FixturePath("early_bad_imports.wasm"), false, Manifest("bad"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("3 imports cannot be resolved:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rb-js-abi-host.foo (func (param i32) (result i32)): not provided"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("env.log"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wasi_snapshot_preview1.proc_exit"), std::string::npos) << msg;
  EXPECT_EQ(Listing(home_->cache_dir()), before) << "nothing was compiled";
  EXPECT_FALSE(platform_->Inspect("bad@0.1.0").ok()) << "nothing was installed";
}

TEST_F(EarlyInstallTest, ExceptionHandlingModuleInstallsOnTheInterpreter) {
  auto r = platform_->Install(test::FixturePath("early_eh.wasm"), false, Manifest("eh"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->record.tier, "interp");
}

TEST_F(EarlyInstallTest, UnsupportedProposalIsNamedAtInstall) {
  auto r = platform_->Install(test::FixturePath("early_threads.wasm"), false, Manifest("thr"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("uses the threads proposal"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace arcella::platform
