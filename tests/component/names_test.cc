// Component Model names (component/names.h): kebab-case labels, extern and
// interface names with versions, semver, strong uniqueness.
#include "component/names.h"

#include <gtest/gtest.h>

namespace arcella::component {
namespace {

TEST(ComponentNames, KebabLabels) {
  for (const char* ok : {"a", "a-b-c", "a1-2-3", "A", "A-B-C", "A1-2-3", "a11-w0rds",
                         "A11-4CR0NYMS", "m1x3d-4CR0NYMS", "get-JSON"}) {
    EXPECT_TRUE(IsKebabLabel(ok)) << ok;
  }
  for (const char* bad : {"", "1-2-3", "-a", "a-", "a--b", "aBc", "a_b", "a.b", "Ab", "a-Bc"}) {
    EXPECT_FALSE(IsKebabLabel(bad)) << bad;
  }
}

TEST(ComponentNames, Semver) {
  EXPECT_EQ(CheckSemver("1.2.3"), "");
  EXPECT_EQ(CheckSemver("0.0.0-abcd.1.2+efg.4.ee.5"), "");
  EXPECT_EQ(CheckSemver(""), "empty string");
  EXPECT_EQ(CheckSemver("1."), "unexpected end of input");
  EXPECT_EQ(CheckSemver("a.2"), "unexpected character 'a'");
  EXPECT_EQ(CheckSemver("2.0x0"), "unexpected character 'x'");
  EXPECT_EQ(CheckSemver("2.0.0+"), "empty identifier segment");
  EXPECT_EQ(CheckSemver("01.0.0"), "invalid leading zero");
  EXPECT_TRUE(IsCanonVersion("1"));
  EXPECT_TRUE(IsCanonVersion("0.2"));
  EXPECT_TRUE(IsCanonVersion("0.0.3"));
  EXPECT_FALSE(IsCanonVersion("0.2.1"));
  EXPECT_FALSE(IsCanonVersion("01"));
}

TEST(ComponentNames, ParsesExternNames) {
  ExternName n;
  EXPECT_EQ(ParseExternName("wasi:http/types@0.2.10", &n), "");
  EXPECT_EQ(n.kind, ExternName::Kind::kInterface);
  EXPECT_EQ(n.ns, "wasi");
  EXPECT_EQ(n.package, "http");
  EXPECT_EQ(n.interface, "types");
  EXPECT_EQ(n.version, "0.2.10");
  EXPECT_EQ(ParseExternName("[method]output-stream.blocking-write", &n), "");
  EXPECT_EQ(n.kind, ExternName::Kind::kMethod);
  EXPECT_EQ(n.resource, "output-stream");
  EXPECT_EQ(n.label, "blocking-write");
  EXPECT_EQ(ParseExternName("[constructor]fields", &n), "");
  EXPECT_EQ(n.kind, ExternName::Kind::kConstructor);
  EXPECT_EQ(n.resource, "fields");
  EXPECT_EQ(ParseExternName("[static]r.make", &n), "");
  EXPECT_EQ(n.kind, ExternName::Kind::kStatic);
  EXPECT_EQ(ParseExternName("[method]r", &n), "failed to find `.` character");
  EXPECT_EQ(ParseExternName("foo:bar:baz/qux", &n), "expected `/` after package name");
  EXPECT_EQ(ParseExternName("foo:bar/baz/qux", &n), "trailing characters found: `/qux`");
  EXPECT_EQ(ParseExternName("WaSi:http/types", &n),
            "`WaSi` is not a valid namespace (lowercase kebab-case words)");
  EXPECT_EQ(ParseExternName("a:b/c@", &n), "empty string");
  EXPECT_EQ(ParseExternName("[oops]x", &n), "unknown annotation in `[oops]x`");
}

TEST(ComponentNames, StrongUniqueness) {
  auto key = [](const char* s) {
    ExternName n;
    EXPECT_EQ(ParseExternName(s, &n), "") << s;
    return StrongUniqueKey(n);
  };
  EXPECT_EQ(key("foo"), key("FOO"));
  EXPECT_EQ(key("foo-bar"), key("foo-BAR"));
  EXPECT_EQ(key("[method]foo.foo"), key("foo"));
  EXPECT_EQ(key("[static]foo.bar"), key("[method]foo.bar"));
  EXPECT_EQ(key("foo:bar/baz"), key("foo:bar/BAZ"));
  EXPECT_NE(key("[constructor]foo"), key("foo"));
  EXPECT_NE(key("[method]foo.bar"), key("[static]foo.baz"));
  EXPECT_NE(key("foo:bar/baz"), key("foo"));
}

}  // namespace
}  // namespace arcella::component
