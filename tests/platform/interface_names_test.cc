#include "platform/interface_names.h"

#include <gtest/gtest.h>

namespace arcella::platform {
namespace {

TEST(InterfaceNames, PackageAndPartialVersionsMatchLikeTheSeedManifest) {
  EXPECT_TRUE(InterfaceNameMatches("logger:log@1.0", "logger:log/api@1.0.3"));
  EXPECT_TRUE(InterfaceNameMatches("logger:log", "logger:log/api@2.0.0"));
  EXPECT_TRUE(InterfaceNameMatches("logger:log/api", "logger:log/api@0.1.0"));
  EXPECT_TRUE(InterfaceNameMatches("logger:log@1", "logger:log/api@1.7.0"));
  EXPECT_FALSE(InterfaceNameMatches("logger:log@1.0", "logger:log/api@1.1.0"));
  EXPECT_FALSE(InterfaceNameMatches("logger:log@1.0", "logger:logs/api@1.0.0"));
  EXPECT_FALSE(InterfaceNameMatches("logger:log/api", "logger:log/other@1.0.0"));
  EXPECT_FALSE(InterfaceNameMatches("logger:log@1.0", "logger:log/api"));  // no version
}

TEST(InterfaceNames, FullVersionsFollowTheLinkersSemverTracks) {
  EXPECT_TRUE(
      InterfaceNameMatches("wasi:http/incoming-handler@0.2.0", "wasi:http/incoming-handler@0.2.3"));
  EXPECT_FALSE(InterfaceNameMatches("wasi:http/incoming-handler@0.2.3",
                                    "wasi:http/incoming-handler@0.2.0"));  // older
  EXPECT_FALSE(
      InterfaceNameMatches("wasi:http/incoming-handler@0.2.0", "wasi:http/incoming-handler@0.3.0"));
  EXPECT_TRUE(InterfaceNameMatches("a:b/c@1.2.0", "a:b/c@1.9.1"));
  EXPECT_FALSE(InterfaceNameMatches("a:b/c@1.2.0", "a:b/c@2.0.0"));
  EXPECT_TRUE(InterfaceNameMatches("a:b/c@0.0.1", "a:b/c@0.0.1"));
  EXPECT_FALSE(InterfaceNameMatches("a:b/c@0.0.1", "a:b/c@0.0.2"));
  EXPECT_TRUE(InterfaceNameMatches("a:b/c@1.0.0-rc1", "a:b/c@1.0.0"));
}

TEST(InterfaceNames, PlainNamesMatchOnlyThemselvesAndJunkMatchesNothing) {
  EXPECT_TRUE(InterfaceNameMatches("greet", "greet"));
  EXPECT_FALSE(InterfaceNameMatches("greet", "a:greet/x@1.0.0"));
  EXPECT_FALSE(InterfaceNameMatches("a:b@x.y", "a:b/c@1.0.0"));
  EXPECT_FALSE(InterfaceNameMatches("", "a:b/c@1.0.0"));
  EXPECT_FALSE(InterfaceNameMatches("a:b@", "a:b/c@1.0.0") &&
               !InterfaceNameMatches("a:b", "a:b/c@1.0.0"));
}

}  // namespace
}  // namespace arcella::platform
