// Linker: definitions, name checks, duplicates and the semver-compatible
// interface lookup.
#include "component/linker.h"

#include <gtest/gtest.h>

#include <string>

namespace arcella::component {
namespace {

HostFn Nop() {
  return [](std::vector<Val>) -> TrapOr<std::vector<Val>> { return std::vector<Val>{}; };
}

FuncType NoArgs() { return FuncType{{}, nullptr}; }

std::string Match(const Linker& l, const std::string& iface) {
  std::string matched;
  return l.FindInterface(iface, &matched) ? matched : "(none)";
}

TEST(LinkerTest, DefinesFunctionsAndResourcesByInterface) {
  Linker l;
  auto rt = std::make_shared<ResourceType>(ResourceType{"file"});
  ASSERT_TRUE(l.DefineFunc("my:app/log@1.2.0", "write", NoArgs(), Nop()).ok());
  ASSERT_TRUE(l.DefineResource("my:app/log@1.2.0", "file", rt).ok());
  ASSERT_TRUE(l.DefineFunc("my:app/log@1.2.0", "[method]file.read", NoArgs(), Nop()).ok());
  ASSERT_TRUE(l.DefineFunc("", "greet", NoArgs(), Nop()).ok());
  const Linker::Interface* i = l.FindInterface("my:app/log@1.2.0");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->funcs.size(), 2u);
  EXPECT_EQ(i->resources.at("file").type, rt);
  ASSERT_NE(l.FindInterface(""), nullptr);
  EXPECT_EQ(l.FindInterface("")->funcs.count("greet"), 1u);
  EXPECT_EQ(l.interfaces().size(), 2u);
}

TEST(LinkerTest, RefusesBadNamesAndDuplicates) {
  Linker l;
  ASSERT_TRUE(l.DefineFunc("my:app/log", "write", NoArgs(), Nop()).ok());
  Status dup = l.DefineFunc("my:app/log", "write", NoArgs(), Nop());
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.message().find("duplicate"), std::string::npos) << dup.ToString();
  auto rt = std::make_shared<ResourceType>(ResourceType{"write"});
  EXPECT_FALSE(l.DefineResource("my:app/log", "write", rt).ok());
  EXPECT_FALSE(l.DefineFunc("my app/log", "write", NoArgs(), Nop()).ok());
  EXPECT_FALSE(l.DefineFunc("my:app/log", "Not_Kebab", NoArgs(), Nop()).ok());
  EXPECT_FALSE(l.DefineFunc("my:app/log", "x", NoArgs(), HostFn()).ok());
  EXPECT_FALSE(l.DefineResource("my:app/log", "r", nullptr).ok());
  EXPECT_FALSE(l.DefineComponentInstance("my:app/x", nullptr, "").ok());
}

TEST(LinkerTest, SemverMatchesTheHighestProviderOnTheSameTrack) {
  Linker l;
  for (const char* v : {"wasi:io/streams@0.2.0", "wasi:io/streams@0.2.3", "wasi:io/streams@0.2.12",
                        "wasi:io/streams@0.3.0", "my:app/api@1.0.0", "my:app/api@1.4.2",
                        "my:app/api@2.0.1", "my:app/plain", "my:app/zero@0.0.3"})
    ASSERT_TRUE(l.DefineFunc(v, "f", NoArgs(), Nop()).ok()) << v;
  // Exact first.
  EXPECT_EQ(Match(l, "wasi:io/streams@0.2.3"), "wasi:io/streams@0.2.3");
  // Same 0.minor track: the highest.
  EXPECT_EQ(Match(l, "wasi:io/streams@0.2.1"), "wasi:io/streams@0.2.12");
  EXPECT_EQ(Match(l, "wasi:io/streams@0.2.20"), "wasi:io/streams@0.2.12");
  EXPECT_EQ(Match(l, "wasi:io/streams@0.3.5"), "wasi:io/streams@0.3.0");
  EXPECT_EQ(Match(l, "wasi:io/streams@0.4.0"), "(none)");
  EXPECT_EQ(Match(l, "wasi:io/poll@0.2.0"), "(none)");
  // Same major for >= 1.
  EXPECT_EQ(Match(l, "my:app/api@1.9.0"), "my:app/api@1.4.2");
  EXPECT_EQ(Match(l, "my:app/api@2.0.0"), "my:app/api@2.0.1");
  EXPECT_EQ(Match(l, "my:app/api@3.0.0"), "(none)");
  // Unversioned names only match exactly, both ways.
  EXPECT_EQ(Match(l, "my:app/plain"), "my:app/plain");
  EXPECT_EQ(Match(l, "my:app/plain@1.0.0"), "(none)");
  EXPECT_EQ(Match(l, "my:app/api"), "(none)");
  // 0.0.x is a track of its own; prereleases only match exactly.
  EXPECT_EQ(Match(l, "my:app/zero@0.0.3"), "my:app/zero@0.0.3");
  EXPECT_EQ(Match(l, "my:app/zero@0.0.2"), "(none)");
  EXPECT_EQ(Match(l, "my:app/api@1.0.0-rc1"), "(none)");
}

TEST(LinkerTest, CopiesShareTheHostFunctions) {
  Linker l;
  int calls = 0;
  ASSERT_TRUE(
      l.DefineFunc("", "f", NoArgs(), [&calls](std::vector<Val>) -> TrapOr<std::vector<Val>> {
         ++calls;
         return std::vector<Val>{};
       }).ok());
  Linker copy = l;
  ASSERT_TRUE(copy.DefineFunc("", "g", NoArgs(), Nop()).ok());
  EXPECT_EQ(l.FindInterface("")->funcs.size(), 1u);
  auto r = copy.FindInterface("")->funcs.at("f").fn({});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace arcella::component
