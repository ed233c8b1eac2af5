// `arcella run` refuses what it cannot run before compiling anything:
// unresolved imports (all of them listed) and proposals no tier runs; and it
// runs exception-handling and tail-call modules on the interpreter.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "e2e/e2e_util.h"
#include "test_util.h"

namespace arcella::tools {
namespace {

namespace fs = std::filesystem;
using e2e::CmdResult;
using e2e::ShellQuote;

struct RunResult {
  CmdResult result;
  std::string home;
};

RunResult RunArcellaCli(const std::string& args) {
  std::string home = test::TempDir("early-home");
  return {e2e::Sh("ARCELLA_HOME=" + home + " " + ShellQuote(e2e::DaemonBin()) + " run " + args +
                  " </dev/null"),
          home};
}

// Files the AOT tier left in the cache (its key, compile folders, objects).
size_t CacheFiles(const std::string& home) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(home + "/cache", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

std::string QuotedFixture(const std::string& name) { return ShellQuote(test::FixturePath(name)); }

TEST(EarlyErrorsTest, UnresolvedImportsAreAllListedAndNothingIsCompiled) {
  RunResult r = RunArcellaCli("--tier aot " + QuotedFixture("early_bad_imports.wasm"));
  EXPECT_EQ(r.result.code, 1) << r.result.out;
  const std::string& out = r.result.out;
  EXPECT_NE(out.find("3 imports cannot be resolved:"), std::string::npos) << out;
  EXPECT_NE(out.find("rb-js-abi-host.foo (func (param i32) (result i32)): not provided"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("env.log (func (param i64)): not provided"), std::string::npos) << out;
  EXPECT_NE(out.find("wasi_snapshot_preview1.proc_exit (func (param i64)): the host's function "
                     "is (func (param i32))"),
            std::string::npos)
      << out;
  EXPECT_EQ(CacheFiles(r.home), 0u) << "the AOT tier was never asked to compile";

  // The control: a linkable module on the same tier does fill the cache.
  RunResult ok = RunArcellaCli("--tier aot " + QuotedFixture("wasi_hello.wasm"));
  EXPECT_EQ(ok.result.code, 0) << ok.result.out;
  EXPECT_GT(CacheFiles(ok.home), 0u);
}

TEST(EarlyErrorsTest, CrubyFromNpmIsRefusedWithoutACompile) {
  const char* ruby = "/work/large/ruby-3.4-wasm-wasi-2.10.1/package/dist/ruby.wasm";
  if (!fs::exists(ruby)) GTEST_SKIP() << ruby << " not downloaded";
  RunResult r = RunArcellaCli("--tier aot " + ShellQuote(ruby) + " -e 'puts 1'");
  EXPECT_EQ(r.result.code, 1) << r.result.out.substr(0, 500);
  EXPECT_NE(r.result.out.find("imports cannot be resolved:"), std::string::npos)
      << r.result.out.substr(0, 500);
  EXPECT_NE(r.result.out.find("rb-js-abi-host.rb_wasm_throw_prohibit_rewind_exception"),
            std::string::npos);
  EXPECT_EQ(CacheFiles(r.home), 0u);
}

TEST(EarlyErrorsTest, UnsupportedProposalIsNamed) {
  RunResult r = RunArcellaCli(QuotedFixture("early_threads.wasm"));
  EXPECT_EQ(r.result.code, 1) << r.result.out;
  EXPECT_NE(r.result.out.find("uses the threads proposal (memory 0 is shared at offset 0x"),
            std::string::npos)
      << r.result.out;
  EXPECT_NE(r.result.out.find("not supported by this engine"), std::string::npos);
  EXPECT_EQ(CacheFiles(r.home), 0u);
}

TEST(EarlyErrorsTest, ExceptionsRunOnTheInterpreterAndAotSaysWhy) {
  RunResult r = RunArcellaCli("--invoke catch_callee " + QuotedFixture("early_eh.wasm") + " 5");
  EXPECT_EQ(r.result.code, 0) << r.result.out;
  EXPECT_EQ(r.result.out, "106\n");
  r = RunArcellaCli("--fuel 100000 --invoke rethrow_delegate " + QuotedFixture("early_eh.wasm"));
  EXPECT_EQ(r.result.out, "42\n");
  r = RunArcellaCli("--invoke uncaught " + QuotedFixture("early_eh.wasm"));
  EXPECT_EQ(r.result.code, 134) << r.result.out;
  EXPECT_NE(r.result.out.find("trap: host error: uncaught exception"), std::string::npos)
      << r.result.out;
  r = RunArcellaCli("--tier aot --invoke catch_callee " + QuotedFixture("early_eh.wasm") + " 5");
  EXPECT_EQ(r.result.code, 1) << r.result.out;
  EXPECT_NE(r.result.out.find("the AOT tier cannot run the exception-handling proposal code; "
                              "use --tier interp or --tier auto"),
            std::string::npos)
      << r.result.out;
  r = RunArcellaCli("--invoke count " + QuotedFixture("early_tail_call.wasm") + " 1000000 0");
  EXPECT_EQ(r.result.code, 0) << r.result.out;
  EXPECT_EQ(r.result.out, "1000000\n");
}

}  // namespace
}  // namespace arcella::tools
