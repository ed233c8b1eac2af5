// Compiles nobody wants any more are cancelled, against a real daemon: a
// SIGTERM during an install's compile, and a hot-deploy file deleted or
// replaced while its compile runs. Cancelled means the compiler processes
// are gone, no temporary compile folder is left and nothing is installed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <thread>

#include "common/sha256.h"
#include "e2e/e2e_util.h"
#include "e2e/progress_util.h"
#include "test_util.h"

namespace arcella::e2e {
namespace {

// Enough code that the AOT compile takes seconds (several units).
constexpr int kFunctions = 1200;
// Deadlines, not delays: sanitizer builds compile slowly.
constexpr int kStartMs = 60'000;
constexpr int kSettleMs = 30'000;

std::string DaemonLog(const Daemon& d) {
  return Sh("cat " + ShellQuote(d.home() + "/daemon.out")).out;
}

Json ModuleList(const Daemon& d) {
  Json out = Json::array();
  for (const auto& m : Request(d, "module.list").value("modules", Json::array()))
    out.push_back(m.value("id", ""));
  return out;
}

// Copies into deploy/ under a hidden name, then renames into place.
void Drop(const std::string& from, const std::string& deploy, const std::string& name) {
  CopyFile(from, deploy + "/." + name);
  ASSERT_EQ(rename((deploy + "/." + name).c_str(), (deploy + "/" + name).c_str()), 0);
}

// Once a compiler runs below `pid` (within kStartMs), sends it SIGTERM and
// reaps it (SIGKILL after kSettleMs if it has not exited).
struct TermResult {
  bool compiling = false;  // a compiler process was seen before the signal
  bool exited = false;     // it exited on its own after SIGTERM
  int status = 0;          // waitpid status
};
TermResult TermWhileCompiling(pid_t pid) {
  TermResult r;
  r.compiling = WaitFor([&] { return !Descendants(pid).empty(); }, kStartMs);
  if (r.compiling) kill(pid, SIGTERM);
  r.exited = WaitFor([&] { return waitpid(pid, &r.status, WNOHANG) == pid; }, kSettleMs);
  if (!r.exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &r.status, 0);
  }
  return r;
}

// No compiler outlives the compile (their command lines name the cache) and no
// temporary compile folder is left in it.
void ExpectNoCompilerOrTempLeft(const std::string& cache) {
  EXPECT_TRUE(WaitFor([&] { return ProcessesMentioning(cache).empty(); }, kSettleMs))
      << Join(ProcessesMentioning(cache));
  EXPECT_EQ(CacheTempEntries(cache), std::vector<std::string>{});
}

// SIGTERM while an ALME install compiles: the daemon cancels the compile
// (rather than waiting for it or abandoning its compilers) and exits 0.
// (Closing the client's connection cancelled it before CancelCompiles too.)
TEST(CompileCancelE2E, SigtermDuringInstallCompileCancelsItAndExits) {
  Daemon d;
  std::string dir = test::TempDir("cancel-e2e");
  std::string wasm = WriteBigModule(dir, "big@1.0.0.wasm", kFunctions, 41);
  Json reply;
  std::thread installer([&] { reply = Request(d, "module.install", {{"path", wasm}}); });
  const pid_t pid = d.pid();
  d.Forget();
  const TermResult r = TermWhileCompiling(pid);
  installer.join();
  ASSERT_TRUE(r.compiling) << "no compiler process seen:\n" << DaemonLog(d);
  ASSERT_TRUE(r.exited) << "the daemon did not exit after SIGTERM:\n" << DaemonLog(d);
  ASSERT_TRUE(WIFEXITED(r.status)) << "killed by signal " << WTERMSIG(r.status);
  EXPECT_EQ(WEXITSTATUS(r.status), 0) << DaemonLog(d);
  const std::string log = DaemonLog(d);
  EXPECT_NE(log.find("install of " + wasm + " cancelled during the compile"), std::string::npos)
      << "the compile was not cancelled:\n"
      << log;
  EXPECT_TRUE(reply.contains("error")) << reply.dump();
  ExpectNoCompilerOrTempLeft(d.home() + "/cache");
}

// SIGTERM while the hot-deploy folder's install compiles: the scanner is not
// waited for; its compile is cancelled and the daemon exits 0 at once.
TEST(CompileCancelE2E, SigtermDuringHotDeployCompileCancelsItAndExits) {
  Daemon d;
  std::string dir = test::TempDir("cancel-e2e");
  std::string wasm = WriteBigModule(dir, "big@1.0.0.wasm", kFunctions, 45);
  Drop(wasm, d.home() + "/deploy", "big@1.0.0.wasm");
  const pid_t pid = d.pid();
  d.Forget();
  const TermResult r = TermWhileCompiling(pid);
  ASSERT_TRUE(r.compiling) << "no compiler process seen:\n" << DaemonLog(d);
  ASSERT_TRUE(r.exited) << "the daemon did not exit after SIGTERM:\n" << DaemonLog(d);
  ASSERT_TRUE(WIFEXITED(r.status)) << "killed by signal " << WTERMSIG(r.status);
  const std::string log = DaemonLog(d);
  EXPECT_EQ(WEXITSTATUS(r.status), 0) << log;
  EXPECT_NE(log.find("cancelled during the compile"), std::string::npos)
      << "the compile was not cancelled:\n"
      << log;
  EXPECT_EQ(log.find("hot-deploy: installed big@1.0.0"), std::string::npos) << log;
  ExpectNoCompilerOrTempLeft(d.home() + "/cache");
}

// A .wasm deleted from deploy/ while its compile runs: the compile is
// cancelled and nothing is installed.
TEST(CompileCancelE2E, HotDeployFileDeletedDuringCompileCancelsIt) {
  Daemon d;
  const std::string deploy = d.home() + "/deploy";
  std::string dir = test::TempDir("cancel-e2e");
  std::string wasm = WriteBigModule(dir, "big@1.0.0.wasm", kFunctions, 42);
  Drop(wasm, deploy, "big@1.0.0.wasm");
  ASSERT_TRUE(WaitFor([&] { return !Descendants(d.pid()).empty(); }, kStartMs))
      << "the hot-deploy compile did not start:\n"
      << DaemonLog(d);
  ASSERT_EQ(unlink((deploy + "/big@1.0.0.wasm").c_str()), 0);
  EXPECT_TRUE(WaitFor(
      [&] {
        return DaemonLog(d).find("hot-deploy: install of " + deploy +
                                 "/big@1.0.0.wasm cancelled") != std::string::npos;
      },
      kSettleMs))
      << DaemonLog(d);
  const std::string log = DaemonLog(d);
  EXPECT_NE(log.find("was deleted during its compile"), std::string::npos) << log;
  EXPECT_NE(log.find("cancelled during the compile"), std::string::npos)
      << "the engine finished the compile instead of stopping it:\n"
      << log;
  EXPECT_TRUE(Descendants(d.pid()).empty()) << Join(Descendants(d.pid()));
  EXPECT_EQ(CacheTempEntries(d.home() + "/cache"), std::vector<std::string>{});
  EXPECT_EQ(ModuleList(d), Json::array());
  EXPECT_EQ(log.find("hot-deploy: installed big@1.0.0"), std::string::npos) << log;
  EXPECT_EQ(d.Stop(), 0);
}

// A .wasm replaced in deploy/ while its compile runs: that compile is
// cancelled and the replacement is installed instead.
TEST(CompileCancelE2E, HotDeployFileReplacedDuringCompileInstallsTheNewOne) {
  Daemon d;
  const std::string deploy = d.home() + "/deploy";
  std::string dir = test::TempDir("cancel-e2e");
  std::string big = WriteBigModule(dir, "big@1.0.0.wasm", kFunctions, 43);
  std::string small_dir = test::TempDir("cancel-e2e");
  std::string small = WriteBigModule(small_dir, "big@1.0.0.wasm", 3, 44);
  Drop(big, deploy, "big@1.0.0.wasm");
  ASSERT_TRUE(WaitFor([&] { return !Descendants(d.pid()).empty(); }, kStartMs))
      << "the hot-deploy compile did not start:\n"
      << DaemonLog(d);
  Drop(small, deploy, "big@1.0.0.wasm");
  std::string hash;
  EXPECT_TRUE(WaitFor(
      [&] {
        Json info = Request(d, "module.inspect", {{"id", "big@1.0.0"}});
        hash = info.value("hash", "");
        return !hash.empty();
      },
      kSettleMs))
      << DaemonLog(d);
  auto bytes = test::ReadFile(small);
  EXPECT_EQ(hash, Sha256Hex(bytes)) << "the replacement is what got installed";
  const std::string log = DaemonLog(d);
  EXPECT_NE(log.find("was replaced during its compile"), std::string::npos) << log;
  EXPECT_NE(log.find("cancelled during the compile"), std::string::npos) << log;
  EXPECT_EQ(CacheTempEntries(d.home() + "/cache"), std::vector<std::string>{});
  EXPECT_EQ(d.Stop(), 0);
}

// SIGTERM while the daemon's start-up Reconcile compiles a started
// deployment's module (its cache entry is gone): the compile is cancelled
// and the daemon exits 0 without finishing it.
TEST(CompileCancelE2E, SigtermDuringReconcileCompileCancelsIt) {
  std::string home;
  {
    Daemon d;
    home = d.home();
    std::string dir = test::TempDir("cancel-e2e");
    std::string wasm = WriteBigModule(dir, "big@1.0.0.wasm", kFunctions / 3, 46);
    Drop(wasm, home + "/deploy", "big@1.0.0.wasm");  // installed, deployed, started
    ASSERT_TRUE(WaitFor(
        [&] { return DaemonLog(d).find("hot-deploy: installed big@1.0.0") != std::string::npos; },
        kStartMs * 3))
        << DaemonLog(d);
    ASSERT_TRUE(WaitFor(
        [&] {
          Json st = Request(d, "status");
          for (const auto& dep : st.value("deployments", Json::array()))
            if (dep.value("desired", "") == "started") return true;
          return false;
        },
        kSettleMs))
        << DaemonLog(d);
    ASSERT_EQ(d.Stop(), 0);
  }
  // Every compiled entry and unit object gone: the next start compiles.
  ASSERT_EQ(Sh("rm -f " + ShellQuote(home + "/cache") + "/*.so " + ShellQuote(home + "/cache") +
               "/*.o")
                .code,
            0);
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = freopen((home + "/daemon.out").c_str(), "a", stdout);
    (void)f;
    dup2(fileno(stdout), 2);
    execl(DaemonBin().c_str(), "arcella", "--home", home.c_str(), (char*)nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  const TermResult r = TermWhileCompiling(pid);
  const std::string log = Sh("cat " + ShellQuote(home + "/daemon.out")).out;
  ASSERT_TRUE(r.compiling) << "Reconcile did not compile:\n" << log;
  ASSERT_TRUE(r.exited) << log;
  ASSERT_TRUE(WIFEXITED(r.status)) << "killed by signal " << WTERMSIG(r.status);
  EXPECT_EQ(WEXITSTATUS(r.status), 0) << log;
  EXPECT_NE(log.find("received SIGTERM while reconciling"), std::string::npos) << log;
  EXPECT_EQ(Sh("ls " + ShellQuote(home + "/cache") + " | grep -c '\\.so$'").out, "0\n")
      << "the compile ran to its end";
  ExpectNoCompilerOrTempLeft(home + "/cache");
}

}  // namespace
}  // namespace arcella::e2e
