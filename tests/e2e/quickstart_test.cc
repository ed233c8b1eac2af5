// The seed README's quick start, verbatim, against a real daemon, with the
// seed's http-logger (examples/http-logger: a component serving
// wasi:http/incoming-handler and exporting logger:log/log@1.0.0, with the
// seed's manifests); then the rest of the module/deployment commands
// (deploy -f, list, inspect, call, logs, undeploy, remove) and their --json
// forms. Skipped when the component examples were not built.
#include <algorithm>
#include <regex>
#include <set>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

// A temp working directory holding copies of the example files (the seed's
// commands are run from there, with ARCELLA_HOME set and arcella-cli on PATH).
class QuickStart : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Exists(ExamplesDir() + "/http-logger.wasm"))
      GTEST_SKIP()
          << "the component examples were not built (npm tools; examples/components.cmake)";
    work_ = test::TempDir("arcella-e2e-work");
    for (const char* f : {"http-logger.wasm", "http-logger.component.toml", "web.deployment.toml"})
      CopyFile(ExamplesDir() + "/" + f, work_ + "/" + f);
  }
  void TearDown() override { Sh("rm -rf " + ShellQuote(work_)); }

  // `line` exactly as a user types it, e.g. "arcella-cli status".
  CmdResult Seed(const Daemon& d, const std::string& line) {
    std::string cli = CliBin();
    std::string dir = cli.substr(0, cli.rfind('/'));
    return Sh("cd " + ShellQuote(work_) + " && ARCELLA_HOME=" + ShellQuote(d.home()) +
              " PATH=" + ShellQuote(dir) + ":\"$PATH\" " + line);
  }
  Json JsonOf(const Daemon& d, const std::string& args) {
    auto r = Sh("cd " + ShellQuote(work_) + " && " + CliBin() + " --home " + ShellQuote(d.home()) +
                " --json " + args + " 2>/dev/null");
    EXPECT_EQ(r.code, 0) << args << ": " << r.out;
    auto lines = JsonLines(r.out);
    EXPECT_FALSE(lines.empty()) << args << " printed no JSON: " << r.out;
    return lines.empty() ? Json() : lines.back();
  }

  std::string work_;
};

TEST_F(QuickStart, SeedCommandsVerbatim) {
  Daemon d;
  auto r = Seed(d, "arcella-cli install ./http-logger.wasm");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("installed http-logger@0.1.0"), std::string::npos) << r.out;

  r = Seed(d, "arcella-cli deploy http-logger@0.1.0 --group web --replicas 10");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("deployed http-logger@0.1.0/web (10 replicas"), std::string::npos) << r.out;

  r = Seed(d, "arcella-cli start http-logger@0.1.0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("started http-logger@0.1.0/web"), std::string::npos) << r.out;

  r = Seed(d, "arcella-cli scale http-logger@0.1.0 --group web --replicas 20");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("scaled http-logger@0.1.0/web"), std::string::npos) << r.out;

  // status: one row, active, 20 of 20 replicas ready (reactors instantiate
  // quickly; allow a moment for the last ones).
  std::regex row(
      R"(http-logger@0\.1\.0/web\s+http-logger@0\.1\.0\s+web\s+active\s+20/20\s+worker)");
  bool ok = WaitFor(
      [&] {
        r = Seed(d, "arcella-cli status");
        return r.code == 0 && std::regex_search(r.out, row);
      },
      5000);
  EXPECT_TRUE(ok) << r.out;
  EXPECT_NE(r.out.find("DEPLOYMENT"), std::string::npos) << r.out;
  Json st = JsonOf(d, "status");
  ASSERT_EQ(st["deployments"].size(), 1u) << st.dump();
  EXPECT_EQ(st["deployments"][0]["replicas"], 20);
  EXPECT_EQ(st["deployments"][0]["desired"], "started");
  ASSERT_EQ(st["deployments"][0]["replicas_detail"].size(), 20u);
  for (const auto& rep : st["deployments"][0]["replicas_detail"]) EXPECT_EQ(rep["state"], "active");

  r = Seed(d, "arcella-cli stop http-logger@0.1.0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("stopped http-logger@0.1.0/web"), std::string::npos) << r.out;
  st = JsonOf(d, "status");
  EXPECT_EQ(st["deployments"][0]["desired"], "stopped");
  EXPECT_EQ(st["deployments"][0]["state"], "resolved") << st.dump();
  EXPECT_EQ(st["deployments"][0]["replicas"], 20);  // the count is kept for the next start

  // install --json: one line per progress item, then the module object.
  r = Sh("cd " + ShellQuote(work_) + " && " + CliBin() + " --home " + ShellQuote(d.home()) +
         " --json install --force ./http-logger.wasm 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  auto lines = JsonLines(r.out);
  ASSERT_GE(lines.size(), 2u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), long(lines.size()))
      << "non-JSON line in:\n"
      << r.out;
  EXPECT_TRUE(lines[0].contains("stage")) << r.out;
  EXPECT_EQ(lines.back()["id"], "http-logger@0.1.0");
  EXPECT_EQ(lines.back()["deployments"], Json::array({"http-logger@0.1.0/web"}));
}

TEST_F(QuickStart, DeploymentFileAndTheOtherCommands) {
  Daemon d;
  auto r = Seed(d, "arcella-cli install ./http-logger.wasm");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Seed(d, "arcella-cli deploy -f web.deployment.toml");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("deployed http-logger@0.1.0/web (10 replicas"), std::string::npos) << r.out;
  r = Seed(d, "arcella-cli start http-logger@0.1.0/web");
  ASSERT_EQ(r.code, 0) << r.out;

  // The file's overrides (isolation = "worker", async = true) are kept.
  Json st = JsonOf(d, "status http-logger@0.1.0/web");
  ASSERT_EQ(st["deployments"].size(), 1u);
  EXPECT_EQ(st["deployments"][0]["isolation"], "worker");
  EXPECT_EQ(st["deployments"][0]["async"], true);
  EXPECT_TRUE(
      WaitFor([&] { return JsonOf(d, "status")["deployments"][0]["state"] == "active"; }, 5000));

  // list, table and JSON.
  r = Seed(d, "arcella-cli list");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex(R"(http-logger@0\.1\.0\s+component\s+\S+\s+.*\s1\s*\n)")))
      << r.out;
  Json list = JsonOf(d, "list");
  ASSERT_EQ(list["modules"].size(), 1u);
  EXPECT_EQ(list["modules"][0]["id"], "http-logger@0.1.0");
  EXPECT_EQ(list["modules"][0]["kind"], "component");
  EXPECT_EQ(list["modules"][0]["deployments"], 1);
  EXPECT_EQ(list["modules"][0]["hash"].get<std::string>().size(), 64u) << list.dump();

  // inspect: manifest and the module's real exports with types.
  r = Seed(d, "arcella-cli inspect http-logger@0.1.0");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* s : {"logger:log@1.0", "wasi:http/incoming-handler@0.2.0",
                        "logger:log/log@1.0.0", "count", "http-logger@0.1.0/web"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " missing in:\n" << r.out;
  Json ins = JsonOf(d, "inspect http-logger@0.1.0");
  std::set<std::string> exports;
  for (const auto& e : ins["exports"]) exports.insert(e["name"].get<std::string>());
  EXPECT_TRUE(exports.count("logger:log/log@1.0.0") &&
              exports.count("wasi:http/incoming-handler@0.2.12"))
      << ins.dump();

  // call: round robin over the 10 replicas; each counts its own lines.
  std::set<std::string> replicas;
  for (int i = 0; i < 10; ++i) {
    Json c = JsonOf(d, "call http-logger@0.1.0 log '\"info\"' '\"hello\"'");
    replicas.insert(c.value("replica", ""));
    EXPECT_EQ(c["results"].size(), 0u) << c.dump();
  }
  EXPECT_EQ(replicas.size(), 10u);
  r = Seed(d, "arcella-cli call http-logger@0.1.0 count");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "1\n");

  // logs: the guest's printed line, tagged with its replica.
  bool seen = WaitFor(
      [&] {
        r = Seed(d, "arcella-cli logs http-logger@0.1.0");
        return r.out.find("[info] hello") != std::string::npos;
      },
      3000);
  EXPECT_TRUE(seen) << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex(R"(\[http-logger@0\.1\.0/web#\d+\] \[info\] hello)")))
      << r.out;
  r = Sh(CliBin() + " --home " + ShellQuote(d.home()) +
         " --json logs http-logger@0.1.0 2>/dev/null");
  auto items = JsonLines(r.out);
  ASSERT_GE(items.size(), 11u) << r.out;  // 10 lines, then {"lines": N}
  EXPECT_EQ(items[0]["stream"], "stdout");
  EXPECT_TRUE(items.back().contains("lines")) << items.back().dump();

  // remove is refused while deployed, naming the deployment.
  r = Seed(d, "arcella-cli remove http-logger@0.1.0");
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("http-logger@0.1.0/web"), std::string::npos) << r.out;

  r = Seed(d, "arcella-cli undeploy http-logger@0.1.0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("undeployed http-logger@0.1.0/web"), std::string::npos) << r.out;
  EXPECT_EQ(JsonOf(d, "status")["deployments"].size(), 0u);
  r = Seed(d, "arcella-cli remove http-logger@0.1.0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("removed http-logger@0.1.0"), std::string::npos) << r.out;
  EXPECT_EQ(JsonOf(d, "list")["modules"].size(), 0u);
  r = Seed(d, "arcella-cli list");
  EXPECT_NE(r.out.find("no modules installed"), std::string::npos) << r.out;

  // Every --json output is one JSON document per line.
  r = Sh(CliBin() + " --home " + ShellQuote(d.home()) + " --json ping 2>/dev/null");
  auto ping = JsonLines(r.out);
  ASSERT_EQ(ping.size(), 1u) << r.out;
  EXPECT_EQ(ping[0]["protocol"], 1);
  EXPECT_EQ(ping[0]["pid"], d.pid());
}

}  // namespace
}  // namespace arcella::e2e
