// `call` targets: a deployment id balances over its replicas; a module id
// takes the module's started deployments in turn; stopped targets refuse.
#include <gtest/gtest.h>

#include <map>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

TEST(Call, ModuleTargetTakesStartedDeploymentsInTurn) {
  Daemon d;
  std::string dir = test::TempDir("call");
  CopyFile(CoreLoggerDir() + "/http-logger.wasm", dir + "/http-logger.wasm");
  CopyFile(CoreLoggerDir() + "/http-logger.component.toml", dir + "/http-logger.component.toml");
  ASSERT_EQ(d.Cli("install " + ShellQuote(dir + "/http-logger.wasm")).code, 0);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group a --replicas 1").code, 0);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group b --replicas 2").code, 0);

  // Nothing started: a clear refusal, exit code 5 (failed precondition).
  auto r = d.Cli("call http-logger@0.1.0 count");
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("not started"), std::string::npos) << r.out;

  ASSERT_EQ(d.Cli("start http-logger@0.1.0").code, 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = Request(d, "status");
        int ready = 0;
        for (const auto& x : s["deployments"]) ready += x.value("ready", 0);
        return ready == 3;
      },
      10'000));

  std::map<std::string, int> served;
  for (int i = 0; i < 8; ++i) {
    Json j = Request(
        d, "call", {{"target", "http-logger@0.1.0"}, {"export", "log_request"}, {"args", {"200"}}});
    ASSERT_FALSE(j.contains("error")) << j.dump();
    ++served[j["replica"].get<std::string>()];
  }
  // Deployments alternate (4 calls each); b's two replicas share its half.
  EXPECT_EQ(served["http-logger@0.1.0/a#0"], 4);
  EXPECT_EQ(served["http-logger@0.1.0/b#0"], 2);
  EXPECT_EQ(served["http-logger@0.1.0/b#1"], 2);

  // A stopped deployment is skipped by a module target.
  ASSERT_EQ(d.Cli("stop http-logger@0.1.0/a").code, 0);
  for (int i = 0; i < 3; ++i) {
    Json j = Request(d, "call", {{"target", "http-logger@0.1.0"}, {"export", "count"}});
    ASSERT_FALSE(j.contains("error")) << j.dump();
    EXPECT_EQ(j["replica"].get<std::string>().rfind("http-logger@0.1.0/b#", 0), 0u) << j.dump();
  }
}

}  // namespace
}  // namespace arcella::e2e

namespace arcella::e2e {
namespace {

// SIGTERM while a call is running: the call is interrupted and answered, the
// daemon exits 0 promptly and removes its socket.
TEST(Call, ShutdownInterruptsARunningCall) {
  Daemon d;
  std::string dir = test::TempDir("call-spin");
  CopyFile(test::FixturePath("reactor_counter.wasm"), dir + "/counter@1.0.0.wasm");
  ASSERT_EQ(d.Cli("install " + ShellQuote(dir + "/counter@1.0.0.wasm")).code, 0);
  ASSERT_EQ(d.Cli("deploy counter@1.0.0 --group g --replicas 1").code, 0);
  ASSERT_EQ(d.Cli("start counter@1.0.0").code, 0);
  ASSERT_TRUE(WaitFor([&] { return Request(d, "status")["deployments"][0].value("ready", 0) == 1; },
                      10'000));
  std::thread caller([&] { (void)d.Cli("call counter@1.0.0/g spin"); });
  // A head start for the call (status shows no in-flight calls to wait on).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto t0 = std::chrono::steady_clock::now();
  int code = d.Stop();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  t0)
                .count();
  caller.join();
  EXPECT_EQ(code, 0);
  EXPECT_LT(ms, 5000);
  EXPECT_FALSE(Exists(d.socket()));
}

}  // namespace
}  // namespace arcella::e2e
