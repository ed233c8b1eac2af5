// TOML bounded before toml++ sees it (toml_shape.h): depth, key count and
// size, with FILE:LINE:COL; the shapes that overflowed toml++'s stack.
#include "platform/toml_shape.h"

#include <gtest/gtest.h>

#include "platform/config.h"
#include "platform/manifest.h"

namespace arcella::platform {
namespace {

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(InputTomlShape, DeepDottedKeyRefusedAtTheSegmentThatCrossesTheBound) {
  // The 400 KB file that segfaulted inside toml++.
  std::string text = "[deployment]\nmodule_id = \"m@1.0.0\"\n" + Repeat("a.", 200000) + "a = 1\n";
  auto r = ParseDeploymentSpec(text, "deep.deployment.toml");
  ASSERT_FALSE(r.ok());
  // [deployment] is one level; the 32nd segment of the key (line 3) crosses.
  EXPECT_EQ(r.status().message(),
            "deep.deployment.toml:3:62: TOML nested deeper than 32 levels (table header and dotted "
            "key segments, arrays and inline tables count); refused before parsing");
}

TEST(InputTomlShape, DeepArraysAndInlineTablesRefused) {
  for (const std::string& text :
       {"x = " + Repeat("[", 100000) + Repeat("]", 100000) + "\n",
        "x = " + Repeat("{a=", 100000) + "1" + Repeat("}", 100000) + "\n",
        "x = [" + Repeat("{a=[", 50000) + "\n",  // unterminated too
        "[" + Repeat("a.", 100000) + "a]\n", "[[" + Repeat("a.", 100000) + "a]]\n"}) {
    Status s = CheckTomlShape(text, "f.toml");
    ASSERT_FALSE(s.ok()) << text.substr(0, 40);
    EXPECT_EQ(s.message().rfind("f.toml:1:", 0), 0u) << s.message();
    EXPECT_NE(s.message().find("nested deeper than 32"), std::string::npos) << s.message();
    // And the readers refuse it as well, without crashing.
    EXPECT_FALSE(ParseComponentManifest(text, "f.toml").ok());
    EXPECT_FALSE(ApplyConfigText(Config(), text, "f.toml").ok());
  }
}

TEST(InputTomlShape, DepthAddsHeaderKeyAndBrackets) {
  // [a.b] (2) + c.d (2) + [ (1) + { (1) + e (1) = 7.
  EXPECT_TRUE(CheckTomlShape("[a.b]\nc.d = [{e = 1}]\n", "f").ok());
  std::string at32 = "x = " + Repeat("[", 31) + Repeat("]", 31) + "\n";  // 1 + 31
  std::string at33 = "x = " + Repeat("[", 32) + Repeat("]", 32) + "\n";  // 1 + 32
  EXPECT_TRUE(CheckTomlShape(at32, "f").ok());
  EXPECT_FALSE(CheckTomlShape(at33, "f").ok());
  std::string key32 = Repeat("a.", 31) + "a = 1\n";
  EXPECT_TRUE(CheckTomlShape(key32, "f").ok());
  EXPECT_FALSE(CheckTomlShape("[b]\n" + key32, "f").ok());
  // Siblings do not add up: depth is per path.
  EXPECT_TRUE(CheckTomlShape(Repeat("x = [[[1]]]\n", 100), "f").ok());
}

TEST(InputTomlShape, StringsAndCommentsDoNotCount) {
  std::string deep = Repeat("[{.", 2000);
  EXPECT_TRUE(CheckTomlShape("a = \"" + deep + "\"\n", "f").ok());
  EXPECT_TRUE(CheckTomlShape("a = '" + deep + "'\n", "f").ok());
  EXPECT_TRUE(CheckTomlShape("a = \"\"\"\n" + deep + "\n\\\"\"\"\n" + deep + "\"\"\"\n", "f").ok());
  EXPECT_TRUE(CheckTomlShape("a = '''\n" + deep + "'''\n", "f").ok());
  EXPECT_TRUE(CheckTomlShape("# " + deep + "\na = 1 # " + deep + "\n", "f").ok());
  EXPECT_TRUE(CheckTomlShape("\"" + deep + "\" = 1\n", "f").ok());       // a quoted key
  EXPECT_TRUE(CheckTomlShape("a = \"x\\\"" + deep + "\"\n", "f").ok());  // escaped quote
  // The line and column of a later problem are still right.
  Status s = CheckTomlShape("a = \"[[[\"\n# [[[\nb = " + Repeat("[", 40) + "\n", "f.toml");
  EXPECT_EQ(s.message().substr(0, 12), "f.toml:3:36:") << s.message();
}

TEST(InputTomlShape, KeyCountAndSizeBounded) {
  std::string many;
  for (int i = 0; i < 10001; ++i) many += "k" + std::to_string(i) + " = 1\n";
  Status s = CheckTomlShape(many, "f.toml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "f.toml:10001:1: more than 10000 TOML keys; refused before parsing");
  std::string big = "a = \"" + std::string(kMaxTomlBytes, 'x') + "\"\n";
  s = CheckTomlShape(big, "big.toml");
  EXPECT_EQ(s.message(), "big.toml: TOML text is " + std::to_string(big.size()) +
                             " bytes, over the limit of 1048576 bytes; refused before parsing");
}

TEST(InputTomlShape, RealFilesStillParse) {
  auto m = ParseComponentManifest(
      "[component]\nname = \"a\"\nversion = \"1.0.0\"\nexports = [\"x\", \"y\"]\n"
      "[component.capabilities]\nenv = { K = \"v.{[\" }\n",
      "c.toml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->env.at("K"), "v.{[");
  auto c = ApplyConfigText(Config(), DefaultConfigText(), "arcella.toml");
  EXPECT_TRUE(c.ok()) << c.status().message();
}

}  // namespace
}  // namespace arcella::platform
