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
  CopyFile(ExamplesDir() + "/http-logger.wasm", dir + "/http-logger.wasm");
  CopyFile(ExamplesDir() + "/http-logger.component.toml", dir + "/http-logger.component.toml");
  ASSERT_EQ(d.Cli("install " + ShellQuote(dir + "/http-logger.wasm")).code, 0);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group a --replicas 1").code, 0);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group b --replicas 2").code, 0);

  // Nothing started: a clear refusal, exit code 5 (failed precondition).
  auto r = d.Cli("call http-logger@0.1.0 count");
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("not started"), std::string::npos) << r.out;

  ASSERT_EQ(d.Cli("start http-logger@0.1.0").code, 0);
  ASSERT_TRUE(WaitFor([&] {
    auto s = Request(d, "status");
    int ready = 0;
    for (const auto& x : s["deployments"]) ready += x.value("ready", 0);
    return ready == 3;
  }, 10'000));

  std::map<std::string, int> served;
  for (int i = 0; i < 8; ++i) {
    Json j = Request(d, "call", {{"target", "http-logger@0.1.0"}, {"export", "log_request"},
                                 {"args", {"200"}}});
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
