// `arcella run` as a user runs it: a real process, real guests, exit codes,
// stdout/stderr, capabilities, limits, typed --invoke, bad input.
#include <gtest/gtest.h>

#include <fstream>

#include "e2e/e2e_util.h"
#include "test_util.h"

namespace arcella::tools {
namespace {

using e2e::CmdResult;
using e2e::ShellQuote;

CmdResult ArcellaRun(const std::string& args) {
  std::string home = test::TempDir("run-home");
  return e2e::Sh("ARCELLA_HOME=" + home + " " + ShellQuote(e2e::DaemonBin()) + " run " + args +
                 " </dev/null");
}

std::string Fixture(const std::string& name) { return ShellQuote(test::FixturePath(name)); }

class RunTest : public ::testing::TestWithParam<const char*> {
 protected:
  std::string Tier() const { return std::string("--tier ") + GetParam() + " "; }
};

TEST_P(RunTest, CommandGetsArgsEnvAndExitCode) {
  auto r = ArcellaRun(Tier() + "--env GREETING=hi " + Fixture("wasi_hello.wasm") + " exit 7");
  EXPECT_EQ(r.code, 7) << r.out;
  EXPECT_NE(r.out.find("argv[1]=exit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GREETING=hi"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("envc=1"), std::string::npos) << "nothing else is inherited: " << r.out;
  EXPECT_NE(r.out.find("to-stderr"), std::string::npos) << r.out;
  r = ArcellaRun(Tier() + Fixture("wasi_hello.wasm") + " return 3");
  EXPECT_EQ(r.code, 3) << r.out;
  r = ArcellaRun(Tier() + Fixture("wasi_hello.wasm"));
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST_P(RunTest, DirectoriesAreGrantedExplicitly) {
  std::string dir = test::TempDir("run-dir");
  { std::ofstream(dir + "/greeting.txt") << "from the host\n"; }
  // The example reads /data/greeting.txt and tries /etc/passwd.
  std::string example = test::FixturePath("../examples/hello.wasm");
  auto r = ArcellaRun(Tier() + "--dir " + ShellQuote(dir + "::/data") + " " + ShellQuote(example) +
                      " you");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("read /data/greeting.txt: from the host"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("out of reach"), std::string::npos) << r.out;
  r = ArcellaRun(Tier() + ShellQuote(example));
  EXPECT_NE(r.out.find("no /data granted"), std::string::npos) << r.out;
}

TEST_P(RunTest, LimitsTrapWithKindAndFunction) {
  auto r = ArcellaRun(Tier() + "--fuel 1000 " + Fixture("cmd_loop.wasm"));
  EXPECT_EQ(r.code, 134) << r.out;
  EXPECT_NE(r.out.find("trap: out of fuel in "), std::string::npos) << r.out;
  r = ArcellaRun(Tier() + "--timeout 200ms " + Fixture("cmd_loop.wasm"));
  EXPECT_EQ(r.code, 134) << r.out;
  EXPECT_NE(r.out.find("trap: deadline exceeded"), std::string::npos) << r.out;
}

TEST_P(RunTest, InvokeParsesTypedArgumentsAndPrintsResults) {
  std::string wat = test::TempDir("run-wat") + "/m.wasm";
  {
    auto bytes = test::Wat(R"((module
      (func (export "add") (param i32 i64) (result i64) local.get 0 i64.extend_i32_s local.get 1 i64.add)
      (func (export "half") (param f64) (result f64) local.get 0 f64.const 2 f64.div)
      (func (export "boom") (result i32) i32.const 1 i32.const 0 i32.div_u)))");
    std::ofstream(wat, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  auto r = ArcellaRun(Tier() + "--invoke add " + ShellQuote(wat) + " -5 0x10");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "11\n");
  r = ArcellaRun(Tier() + "--invoke half " + ShellQuote(wat) + " 3");
  EXPECT_EQ(r.out, "1.5\n");
  r = ArcellaRun(Tier() + "--invoke add " + ShellQuote(wat) + " 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("expected 2 argument(s), got 1"), std::string::npos) << r.out;
  r = ArcellaRun(Tier() + "--invoke add " + ShellQuote(wat) + " x 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("expected i32, got \"x\""), std::string::npos) << r.out;
  r = ArcellaRun(Tier() + "--invoke boom " + ShellQuote(wat));
  EXPECT_EQ(r.code, 134) << r.out;
  EXPECT_NE(r.out.find("integer divide by zero in boom"), std::string::npos) << r.out;
  r = ArcellaRun(Tier() + "--invoke nope " + ShellQuote(wat));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("functions: add, half, boom"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Tiers, RunTest, ::testing::Values("aot", "interp"));

TEST(Run, BadInputIsACleanError) {
  std::string dir = test::TempDir("run-bad");
  { std::ofstream(dir + "/junk.wasm") << "this is not wasm"; }
  auto r = ArcellaRun(ShellQuote(dir + "/junk.wasm"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("magic"), std::string::npos) << r.out;
  r = ArcellaRun(ShellQuote(dir + "/missing.wasm"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("cannot open"), std::string::npos) << r.out;
  // Special files are refused by type, before reading (was: /dev/zero read
  // until memory ran out).
  r = ArcellaRun("/dev/zero");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("/dev/zero is a character device, not a regular file"), std::string::npos)
      << r.out;
  r = ArcellaRun("--fuel lots x.wasm");
  EXPECT_EQ(r.code, 2) << r.out;
  r = ArcellaRun("--tier fast x.wasm");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("expected aot, interp or auto"), std::string::npos) << r.out;
  r = ArcellaRun("--max-memory 12parsecs x.wasm");
  EXPECT_EQ(r.code, 2) << r.out;
  r = ArcellaRun("");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("missing FILE.wasm"), std::string::npos) << r.out;
}

TEST(Wast, CountsPassesAndFailuresAndExitsNonZeroOnFailure) {
  std::string dir = test::TempDir("wast");
  {
    std::ofstream(dir + "/ok.wast") << "(module (func (export \"f\") (result i32) i32.const 2))\n"
                                       "(assert_return (invoke \"f\") (i32.const 2))\n";
    std::ofstream(dir + "/bad.wast") << "(module (func (export \"f\") (result i32) i32.const 2))\n"
                                        "(assert_return (invoke \"f\") (i32.const 3))\n";
  }
  std::string home = test::TempDir("wast-home");
  auto r = e2e::Sh("ARCELLA_HOME=" + home + " " + ShellQuote(e2e::DaemonBin()) + " wast " +
                   ShellQuote(dir + "/ok.wast"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("2 passed, 0 failed"), std::string::npos) << r.out;
  r = e2e::Sh("ARCELLA_HOME=" + home + " " + ShellQuote(e2e::DaemonBin()) + " wast --tier interp " +
              ShellQuote(dir + "/bad.wast"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("1 passed, 1 failed"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace arcella::tools
