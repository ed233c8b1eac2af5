// Platform (the daemon's core) without the socket: all-or-nothing changes,
// and what a forced reinstall may replace.
#include "platform/platform.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "platform/platform_fixture.h"
#include "test_util.h"

namespace arcella::platform {
namespace {

class PlatformTest : public PlatformFixture {
 protected:
  void SetUp() override {
    OpenPlatform("platform-home");
    if (HasFatalFailure()) return;
    dir_ = test::TempDir("platform-files");
    std::string ex = test::FixturePath("http-logger-core/");
    ASSERT_EQ(system(("cp " + ex + "http-logger.wasm " + ex + "http-logger.component.toml " + dir_)
                         .c_str()),
              0);
    auto info = platform_->Install(dir_ + "/http-logger.wasm", false, "");
    ASSERT_TRUE(info.ok()) << info.status().ToString();
  }
  DeploymentSpec Spec(const std::string& group, uint32_t replicas, bool main = false) {
    DeploymentSpec s;
    s.module_id = "http-logger@0.1.0";
    s.group = group;
    s.replicas = replicas;
    if (main) s.overrides.isolation = Isolation::kMain;
    return s;
  }

  std::string dir_;
};

TEST_F(PlatformTest, ScaleOfAModuleTargetIsAllOrNothing) {
  ASSERT_TRUE(platform_->Deploy(Spec("a", 1, /*main=*/true), KeyStyle::kAlmeParams, "t").ok());
  ASSERT_TRUE(platform_->Deploy(Spec("b", 2), KeyStyle::kAlmeParams, "t").ok());
  auto r = platform_->Scale("http-logger@0.1.0", "", 3);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("requires replicas = 1"), std::string::npos);
  auto st = platform_->StatusOf("http-logger@0.1.0");
  ASSERT_TRUE(st.ok());
  for (const auto& v : *st) EXPECT_EQ(v.record.replicas, v.record.group == "a" ? 1u : 2u);
  // Narrowed to the worker group it works.
  ASSERT_TRUE(platform_->Scale("http-logger@0.1.0", "b", 3).ok());
}

TEST_F(PlatformTest, ForcedReinstallCannotTurnADeployedModuleIntoAComponent) {
  ASSERT_TRUE(platform_->Deploy(Spec("web", 1), KeyStyle::kAlmeParams, "t").ok());
  ASSERT_TRUE(platform_->Start("http-logger@0.1.0", "").ok());
  {
    std::ofstream f(dir_ + "/http-logger.wasm", std::ios::binary | std::ios::trunc);
    const char component[] = {0, 'a', 's', 'm', 0x0d, 0, 0x01, 0};
    f.write(component, sizeof component);
  }
  auto r = platform_->Install(dir_ + "/http-logger.wasm", /*force=*/true, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  auto info = platform_->Inspect("http-logger@0.1.0");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->record.kind, "core");
  // Still serving.
  auto call = platform_->Call("http-logger@0.1.0/web", "count", {});
  for (int i = 0; i < 100 && !call.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    call = platform_->Call("http-logger@0.1.0/web", "count", {});
  }
  EXPECT_TRUE(call.ok()) << call.status().ToString();
}

// Call resolves its target from what the store says now: a call after a
// stop, start, deploy or undeploy sees that change at once (the targets it
// resolved before are not reused once the store changed).
TEST_F(PlatformTest, CallsFollowEveryChangeOfTheirTarget) {
  auto serving = [&](const std::string& target) {
    auto call = platform_->Call(target, "count", {});
    for (int i = 0; i < 200 && !call.ok(); ++i) {  // replicas becoming active
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      call = platform_->Call(target, "count", {});
    }
    return call;
  };
  ASSERT_TRUE(platform_->Deploy(Spec("a", 1, /*main=*/true), KeyStyle::kAlmeParams, "t").ok());
  ASSERT_TRUE(platform_->Start("http-logger@0.1.0", "a").ok());
  auto r = serving("http-logger@0.1.0");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->replica, "http-logger@0.1.0/a#0");
  ASSERT_TRUE(platform_->Stop("http-logger@0.1.0", "a", false).ok());
  r = platform_->Call("http-logger@0.1.0", "count", {});
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("is not started"), std::string::npos);
  // A second deployment of the module, started: the module target reaches it.
  ASSERT_TRUE(platform_->Deploy(Spec("b", 1, /*main=*/true), KeyStyle::kAlmeParams, "t").ok());
  ASSERT_TRUE(platform_->Start("http-logger@0.1.0", "b").ok());
  r = serving("http-logger@0.1.0");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->replica, "http-logger@0.1.0/b#0");
  // Both started: calls of the module target alternate between them.
  ASSERT_TRUE(platform_->Start("http-logger@0.1.0", "a").ok());
  ASSERT_TRUE(serving("http-logger@0.1.0/a").ok());
  std::set<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    auto c = platform_->Call("http-logger@0.1.0", "count", {});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    seen.insert(c->replica);
  }
  EXPECT_EQ(seen.size(), 2u);
  // Undeployed: gone from the target at once.
  ASSERT_TRUE(platform_->Undeploy("http-logger@0.1.0", "b", false).ok());
  for (int i = 0; i < 4; ++i) {
    auto c = platform_->Call("http-logger@0.1.0", "count", {});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->replica, "http-logger@0.1.0/a#0");
  }
  r = platform_->Call("http-logger@0.1.0/b", "count", {});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
}

}  // namespace
}  // namespace arcella::platform
