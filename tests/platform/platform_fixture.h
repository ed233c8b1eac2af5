// A Platform in a fresh temporary home, for the platform tests: its home,
// event bus and log hub live as long as the fixture.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "platform/platform.h"
#include "test_util.h"

namespace arcella::platform {

class PlatformFixture : public ::testing::Test {
 protected:
  // Opens platform_ in a new home named after `prefix` (default Config).
  void OpenPlatform(const std::string& prefix) {
    home_ = std::make_unique<Home>(arcella::test::TempDir(prefix));
    ASSERT_TRUE(home_->Create().ok());
    logs_ = std::make_unique<LogHub>(home_->log_dir());
    auto p = Platform::Open(*home_, Config{}, &events_, logs_.get());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    platform_ = std::move(*p);
  }
  // A manifest naming module `name`@0.1.0.
  static std::string Manifest(const std::string& name) {
    return "[component]\nname = \"" + name + "\"\nversion = \"0.1.0\"\n";
  }

  std::unique_ptr<Home> home_;
  EventBus events_;
  std::unique_ptr<LogHub> logs_;
  std::unique_ptr<Platform> platform_;
};

}  // namespace arcella::platform
