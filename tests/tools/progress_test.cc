// `arcella run` while it compiles: the progress line on a terminal (a real
// pseudo-terminal), none through a pipe, and Ctrl-C / SIGTERM cancelling the
// compile with the shell's exit codes and nothing left behind.
#include <gtest/gtest.h>

#include "e2e/e2e_util.h"
#include "e2e/progress_util.h"
#include "test_util.h"

namespace arcella::tools {
namespace {

using e2e::Child;

using e2e::kCancelFunctions;
using e2e::kProgressFunctions;
using e2e::RunToEnd;

// Small units (progress_util.h): a small module compiles in several.
struct Scratch {
  std::string home = test::TempDir("progress-run-home");
  std::string dir = test::TempDir("progress-run");
  std::vector<std::string> env{"ARCELLA_HOME=" + home, e2e::SmallUnitsEnv()};
};

// Needs split's branch for "units"; the line itself shows on main too.
TEST(RunProgress, TerminalShowsAnUpdatingLineThenTheGuestRuns) {
  Scratch s;
  std::string wasm = e2e::WriteBigModule(s.dir, "big.wasm", kProgressFunctions, 21);
  Child run({e2e::DaemonBin(), "run", "--tier", "aot", wasm}, s.env, /*terminal=*/true);
  EXPECT_EQ(RunToEnd(run), 0) << run.output();
  const std::string& out = run.output();
  EXPECT_NE(out.find("\rcompiling big.wasm"), std::string::npos) << out;
  EXPECT_NE(out.find(" units"), std::string::npos) << "units done/total: " << out;
  EXPECT_NE(out.find("\r\033[K"), std::string::npos) << "the line is erased: " << out;
  // A warm start (cache hit) draws nothing.
  Child warm({e2e::DaemonBin(), "run", "--tier", "aot", wasm}, s.env, /*terminal=*/true);
  EXPECT_EQ(RunToEnd(warm), 0) << warm.output();
  EXPECT_EQ(warm.output().find("compiling"), std::string::npos) << warm.output();
}

TEST(RunProgress, NoTerminalNoLineUnlessAsked) {
  Scratch s;
  std::string wasm = e2e::WriteBigModule(s.dir, "big.wasm", kProgressFunctions, 22);
  Child run({e2e::DaemonBin(), "run", "--tier", "aot", wasm}, s.env, /*terminal=*/false);
  EXPECT_EQ(RunToEnd(run), 0) << run.output();
  EXPECT_EQ(run.output(), "") << "nothing but the guest's output through a pipe";

  // --quiet on a terminal: nothing either (a new cache, so it compiles again).
  Scratch q;
  Child quiet({e2e::DaemonBin(), "run", "--quiet", "--tier", "aot", wasm}, q.env, true);
  EXPECT_EQ(RunToEnd(quiet), 0) << quiet.output();
  EXPECT_EQ(quiet.output().find("compiling"), std::string::npos) << quiet.output();

  // --progress through a pipe: the line.
  Scratch p;
  Child forced({e2e::DaemonBin(), "run", "--progress", "--tier", "aot", wasm}, p.env, false);
  EXPECT_EQ(RunToEnd(forced), 0) << forced.output();
  EXPECT_NE(forced.output().find("\rcompiling big.wasm"), std::string::npos) << forced.output();

  auto bad = e2e::Sh(e2e::ShellQuote(e2e::DaemonBin()) + " run --progress=yes x.wasm");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--progress takes no value"), std::string::npos) << bad.out;
}

// Signals the run once its compiler runs; checks the exit code, the message
// and that nothing is left (processes; temporary folders need split's branch,
// where the engine honours the cancel flag instead of being abandoned).
void CancelWith(int sig, int expected_code, int salt) {
  Scratch s;
  std::string wasm = e2e::WriteBigModule(s.dir, "big.wasm", kCancelFunctions, salt);
  Child run({e2e::DaemonBin(), "run", "--tier", "aot", wasm}, s.env, /*terminal=*/true);
  EXPECT_EQ(e2e::SignalDuringCompile(run, run.pid(), sig), expected_code) << run.output();
  EXPECT_NE(run.output().find("arcella run: " + wasm + ": compile cancelled"), std::string::npos)
      << run.output();
  // The compiler processes were the run's: none may outlive it (they are
  // re-parented when it exits, so they are found by the cache path they use).
  EXPECT_TRUE(e2e::WaitFor([&] { return e2e::ProcessesMentioning(s.home).empty(); }, 30'000))
      << "compiler processes left: " << e2e::Join(e2e::ProcessesMentioning(s.home));
  EXPECT_EQ(e2e::CacheTempEntries(s.home + "/cache"), std::vector<std::string>{})
      << "temporary files left in the cache";
}

TEST(RunProgress, CtrlCCancelsTheCompileWithExit130) { CancelWith(SIGINT, 130, 23); }

TEST(RunProgress, SigtermCancelsTheCompileWithExit143) { CancelWith(SIGTERM, 143, 24); }

}  // namespace
}  // namespace arcella::tools
