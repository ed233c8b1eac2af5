// The component fixtures built from source (tests/fixtures/components/,
// build/fixtures/components/): each exists, is a component the decoder
// accepts, and does what it should under jco (`jco run` for the C command,
// `jco transpile` + node through tools/npm/call-component.mjs for the
// others). The jco side here is the reference side of the later
// differential tests (Arcella runs the same fixtures, compares output).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "component/decoder.h"
#include "component/npm_tools_util.h"
#include "test_util.h"

namespace arcella {
namespace {

std::string FixtureComponent(const std::string& name) {
  return std::string(ARCELLA_COMPONENT_FIXTURES) + "/" + name + ".component.wasm";
}

// Single-quoted for /bin/sh.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct ShellResult {
  std::string output;  // stdout and stderr
  int exit_code = -1;
};

ShellResult RunFixtureShell(const std::string& cmd) {
  ShellResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// node tools/npm/call-component.mjs FIXTURE WORKDIR EXPR...
ShellResult CallUnderNode(const std::string& fixture, const std::vector<std::string>& exprs) {
  std::string cmd = ShellQuote(ARCELLA_NODE) + " " +
                    ShellQuote(ARCELLA_NPM_TOOLS_DIR "/call-component.mjs") + " " +
                    ShellQuote(FixtureComponent(fixture)) + " " +
                    ShellQuote(test::TempDir("arcella-fixture-js"));
  for (const std::string& e : exprs) cmd += " " + ShellQuote(e);
  return RunFixtureShell(cmd);
}

TEST(ComponentFixtures, EachIsBuiltAndDecodes) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  for (const char* name : {"cli_command", "text_reactor", "host_import", "all_types"}) {
    SCOPED_TRACE(name);
    std::vector<uint8_t> bytes = test::ReadFile(FixtureComponent(name));
    ASSERT_FALSE(bytes.empty()) << FixtureComponent(name) << " missing: build component_fixtures";
    EXPECT_TRUE(component::IsComponentBinary(bytes));
    auto decoded = component::DecodeComponent(bytes);
    EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
  }
}

TEST(ComponentFixtures, JcoRunsTheCommandWithArgsEnvClocksRandomStdinAndFiles) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  std::string dir = test::TempDir("arcella-fixture-cmd");
  { std::ofstream(dir + "/input.txt") << "hello from the host\n"; }
  ShellResult r = RunFixtureShell(
      "printf 'some stdin\\n' | FIXTURE_GREETING='hi there' ARCELLA_JCO_PREOPENS=" +
      ShellQuote(dir + "::/data") + " " + ShellQuote(ARCELLA_JCO) + " run --jco-import " +
      ShellQuote(ARCELLA_NPM_TOOLS_DIR "/jco-run-setup.mjs") + " " +
      ShellQuote(FixtureComponent("cli_command")) + " /data one 'two words'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "args: 3\n"
                      "arg 1: /data\n"
                      "arg 2: one\n"
                      "arg 3: two words\n"
                      "env FIXTURE_GREETING: hi there\n"
                      "clock monotonic: ok\n"
                      "clock realtime: ok\n"
                      "random: ok\n"
                      "stdin: 11 bytes: SOME STDIN\n"
                      "input.txt: hello from the host\n"
                      "output.txt: 20 bytes read from input.txt\n"
                      "dir: input.txt output.txt\n");
  std::ifstream written(dir + "/output.txt");
  std::string line;
  std::getline(written, line);
  EXPECT_EQ(line, "20 bytes read from input.txt");  // through the preopen, on the host
}

TEST(ComponentFixtures, CommandWithoutItsDirectoryFailsWithAMessage) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  ShellResult r = RunFixtureShell(
      "FIXTURE_GREETING= " + ShellQuote(ARCELLA_JCO) + " run --jco-import " +
      ShellQuote(ARCELLA_NPM_TOOLS_DIR "/jco-run-setup.mjs") + " " +
      ShellQuote(FixtureComponent("cli_command")) + " /nowhere </dev/null");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot open /nowhere/input.txt"), std::string::npos) << r.output;
}

TEST(ComponentFixtures, ReactorExportsStringsAndListsUnderNode) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  ShellResult r = CallUnderNode("text_reactor",
                                {"text.shout(\"hello, world\")", "text.words(\"  a bb  ccc \")",
                                 "text.words(\"\")", "text.sum([1n, -2n, 3n])",
                                 "text.sum([9223372036854775807n, 1n])",
                                 "text.join([\"x\", \"y\"], \", \")", "text.shout(\"snow ☃\")"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "text.shout(\"hello, world\") => \"HELLO, WORLD\"\n"
                      "text.words(\"  a bb  ccc \") => [\"a\", \"bb\", \"ccc\"]\n"
                      "text.words(\"\") => []\n"
                      "text.sum([1n, -2n, 3n]) => 2n\n"
                      "text.sum([9223372036854775807n, 1n]) => -9223372036854775808n\n"
                      "text.join([\"x\", \"y\"], \", \") => \"x, y\"\n"
                      "text.shout(\"snow ☃\") => \"SNOW ☃\"\n");
}

TEST(ComponentFixtures, FreestandingComponentCallsTheHostItImports) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  ShellResult r = CallUnderNode("host_import", {"run(3)", "run(0)"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "host log: step 1: 1\n"
                      "host log: step 2: 3\n"
                      "host log: step 3: 6\n"
                      "run(3) => 6\n"
                      "run(0) => 0\n");
}

// componentize-js 0.23 itself gets two things wrong, found here: a u32 of
// 2^31 or more comes back corrupted (echo-u32(3000000000) => 3221225472) and
// a negative s64 traps (unreachable) and poisons the instance. The cases
// below stay clear of both; the differential tests must too (Arcella is the
// side to trust there).
TEST(ComponentFixtures, JsComponentExportsEveryWitTypeUnderNode) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  ShellResult r = CallUnderNode(
      "all_types",
      {"types.echoBool(true)",
       "types.echoS8(-128)",
       "types.echoU8(255)",
       "types.echoS16(-32768)",
       "types.echoU16(65535)",
       "types.echoS32(-2147483648)",
       "types.echoU32(2147483647)",
       "types.echoS64(9223372036854775807n)",
       "types.echoU64(18446744073709551615n)",
       "types.echoF32(1.5)",
       "types.echoF64(-0.1)",
       "types.echoChar(\"☃\")",
       "types.echoString(\"wörld\")",
       "types.echoList(new Uint16Array([1, 65535]))",
       "types.echoRecord({x: -1, y: 2, label: \"p\"})",
       "types.echoTuple([1, \"two\", 3.5])",
       "types.echoVariant({tag: \"rect\", val: {x: 1, y: 2, label: \"r\"}})",
       "types.echoVariant({tag: \"empty\"})",
       "types.echoEnum(\"blue\")",
       "types.echoOption(\"s\")",
       "types.echoOption(undefined)",
       "types.echoResult({tag: \"ok\", val: 7})",
       "types.echoResult({tag: \"err\", val: \"bad\"})",
       "types.echoFlags({read: true, write: false, exec: true})",
       "types.describe({x: 1, y: 2, label: \"p\"}, {tag: \"circle\", val: 2.5}, \"green\", "
       "{read: true, write: true, exec: false})",
       "types.sum([1n, 2n, 3n])",
       "types.greet(\"wörld\")",
       "types.parseU32(\"42\")",
       "types.parseU32(\"x\")",
       "types.many(1, -2, 3, 4n, 5.5, 6.25, \"z\", true, \"s\", new Uint8Array([1, 2]), 9, "
       "[7, 8], \"red\", {read: false, write: true, exec: false}, 1, 2, 3)",
       "(() => { const c = new types.Counter(5n); c.inc(2n); return [c.get(), "
       "types.countWith(c, 3), types.Counter.merge(new types.Counter(1n), c).get()]; })()"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const char* expected[] = {
      "types.echoBool(true) => true",
      "types.echoS8(-128) => -128",
      "types.echoU8(255) => 255",
      "types.echoS16(-32768) => -32768",
      "types.echoU16(65535) => 65535",
      "types.echoS32(-2147483648) => -2147483648",
      "types.echoU32(2147483647) => 2147483647",
      "types.echoS64(9223372036854775807n) => 9223372036854775807n",
      "types.echoU64(18446744073709551615n) => 18446744073709551615n",
      "types.echoF32(1.5) => 1.5",
      "types.echoF64(-0.1) => -0.1",
      "types.echoChar(\"☃\") => \"☃\"",
      "types.echoString(\"wörld\") => \"wörld\"",
      "types.echoList(new Uint16Array([1, 65535])) => Uint16Array[1, 65535]",
      "types.echoRecord({x: -1, y: 2, label: \"p\"}) => {x: -1, y: 2, label: \"p\"}",
      "types.echoTuple([1, \"two\", 3.5]) => [1, \"two\", 3.5]",
      "types.echoVariant({tag: \"rect\", val: {x: 1, y: 2, label: \"r\"}}) => "
      "{tag: \"rect\", val: {x: 1, y: 2, label: \"r\"}}",
      "types.echoVariant({tag: \"empty\"}) => {tag: \"empty\"}",
      "types.echoEnum(\"blue\") => \"blue\"",
      "types.echoOption(\"s\") => \"s\"",
      "types.echoOption(undefined) => undefined",
      "types.echoResult({tag: \"ok\", val: 7}) => 7",
      "types.echoResult({tag: \"err\", val: \"bad\"}) => throws \"bad\"",
      "types.echoFlags({read: true, write: false, exec: true}) => "
      "{read: true, write: false, exec: true}",
      "types.describe({x: 1, y: 2, label: \"p\"}, {tag: \"circle\", val: 2.5}, \"green\", "
      "{read: true, write: true, exec: false}) => \"p@(1,2) circle(2.5) green read|write\"",
      "types.sum([1n, 2n, 3n]) => 6n",
      "types.greet(\"wörld\") => {text: \"hello, wörld!\", length: 13}",
      "types.parseU32(\"42\") => 42",
      "types.parseU32(\"x\") => throws \"not a number: x\"",
      "types.many(1, -2, 3, 4n, 5.5, 6.25, \"z\", true, \"s\", new Uint8Array([1, 2]), 9, "
      "[7, 8], \"red\", {read: false, write: true, exec: false}, 1, 2, 3) => "
      "\"1 -2 3 4 5.5 6.25 z true s [1,2] 9 (7,8) red write 6\"",
      "(() => { const c = new types.Counter(5n); c.inc(2n); return [c.get(), "
      "types.countWith(c, 3), types.Counter.merge(new types.Counter(1n), c).get()]; })() => "
      "[7n, 10n, 11n]",
  };
  std::string want;
  for (const char* line : expected) want += std::string(line) + "\n";
  EXPECT_EQ(r.output, want);
}

}  // namespace
}  // namespace arcella
