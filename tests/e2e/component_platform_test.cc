// Components on the platform (issue 10): install with the manifest checked
// against the binary, inspect (world, WIT), deploy, start, call with WAVE
// arguments and results, commands with captured output, deny-by-default
// imports. Real daemon processes and components built by real toolchains
// (tests/fixtures/components).
#include <gtest/gtest.h>

#include <fstream>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

bool Ready(const Daemon& d, const std::string& id, int n) {
  Json status = Request(d, "status");
  for (const auto& x : status["deployments"])
    if (x.value("id", "") == id) return x.value("ready", 0) == n;
  return false;
}

TEST(ComponentPlatform, ReactorInstallsInspectsDeploysAndServesWaveCalls) {
  Daemon d;
  std::string wasm = StageComponent("text_reactor", "text@0.1.0.wasm");
  auto r = d.Cli("install " + ShellQuote(wasm));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("installed text@0.1.0 (component"), std::string::npos) << r.out;

  // inspect: its world from the binary; --wit prints it as WIT.
  r = d.Cli("inspect text@0.1.0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("arcella:fixtures/text@0.1.0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shout, words, sum, join"), std::string::npos) << r.out;
  r = d.Cli("inspect text@0.1.0 --wit");
  EXPECT_NE(r.out.find("export arcella:fixtures/text@0.1.0;"), std::string::npos) << r.out;

  ASSERT_EQ(d.Cli("deploy text@0.1.0 --isolation main").code, 0);
  ASSERT_EQ(d.Cli("start text@0.1.0").code, 0);
  ASSERT_TRUE(WaitFor([&] { return Ready(d, "text@0.1.0/default", 1); }, 10'000))
      << Request(d, "status").dump();

  // Names: short, IFACE.f (WAVE style), full IFACE#f; WAVE in and out.
  r = d.Cli("call text@0.1.0 shout '\"hello\"'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "\"HELLO\"\n");
  r = d.Cli("call text@0.1.0 arcella:fixtures/text.words '\"a bb  ccc\"'");
  EXPECT_EQ(r.out, "[\"a\", \"bb\", \"ccc\"]\n");
  r = d.Cli("call text@0.1.0 'arcella:fixtures/text@0.1.0#join' '[\"x\", \"y\"]' '\"-\"'");
  EXPECT_EQ(r.out, "\"x-y\"\n");
  // Typed --json: the WAVE text and the value.
  r = d.Cli("--json call text@0.1.0 text.sum '[1, 2, -10]'");
  ASSERT_EQ(r.code, 0) << r.out;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["results"][0], "-7");
  EXPECT_EQ(j["value"], -7);

  // Bad input: named, and the daemon keeps serving.
  r = d.Cli("call text@0.1.0 sum '[1, 2'");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("argument 1 (xs): line 1, column"), std::string::npos) << r.out;
  r = d.Cli("call text@0.1.0 sum '[\"x\"]'");
  EXPECT_NE(r.code, 0);
  r = d.Cli("call text@0.1.0 join '[]'");
  EXPECT_NE(r.out.find("takes 2 argument(s)"), std::string::npos) << r.out;
  r = d.Cli("call text@0.1.0 nope");
  EXPECT_NE(r.out.find("exports no function `nope`"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("arcella:fixtures/text@0.1.0#shout"), std::string::npos) << r.out;
  r = d.Cli("call text@0.1.0 shout '\"still here\"'");
  EXPECT_EQ(r.out, "\"STILL HERE\"\n");
}

TEST(ComponentPlatform, ManifestInterfacesAreCheckedAgainstTheBinary) {
  Daemon d;
  std::string wasm = StageComponent("text_reactor", "text.wasm");
  std::string dir = wasm.substr(0, wasm.rfind('/'));
  // The seed's form: a package and a partial version.
  WriteText(dir + "/text.component.toml", "[component]\nname = \"text\"\nversion = \"1.2.3\"\n"
                                          "exports = [\"arcella:fixtures@0.1\"]\n");
  auto r = d.Cli("install " + ShellQuote(wasm));
  ASSERT_EQ(r.code, 0) << r.out;

  WriteText(dir + "/text.component.toml", "[component]\nname = \"text\"\nversion = \"1.2.4\"\n"
                                          "exports = [\"logger:log@1.0\"]\n");
  r = d.Cli("install " + ShellQuote(wasm));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("the manifest's exports lists \"logger:log@1.0\" but the component "
                       "exports arcella:fixtures/text@0.1.0"),
            std::string::npos)
      << r.out;
  WriteText(dir + "/text.component.toml", "[component]\nname = \"text\"\nversion = \"1.2.5\"\n"
                                          "imports = [\"wasi:http/incoming-handler@0.2.0\"]\n");
  r = d.Cli("install " + ShellQuote(wasm));
  EXPECT_NE(r.out.find("imports lists \"wasi:http/incoming-handler@0.2.0\" but the component "
                       "imports none"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(d.Cli("inspect text@1.2.4").code, 3) << "nothing stored for a refused install";
}

TEST(ComponentPlatform, CommandRunsWithOutputCapturedAndItsExitCode) {
  Daemon d;
  std::string wasm = StageComponent("cli_command", "cli@0.3.0.wasm");
  ASSERT_EQ(d.Cli("install " + ShellQuote(wasm)).code, 0);
  ASSERT_EQ(d.Cli("deploy cli@0.3.0 --isolation main --restart never").code, 0);
  ASSERT_EQ(d.Cli("start cli@0.3.0").code, 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        Json st = Request(d, "status");
        const Json& s = st["deployments"][0];
        return s["replicas_detail"][0].value("state", "") == "resolved" &&
               s["replicas_detail"][0].contains("exit_code");
      },
      10'000));
  auto s = Request(d, "status")["deployments"][0];
  EXPECT_EQ(s["replicas_detail"][0]["exit_code"], 0) << s.dump();
  auto r = d.Cli("logs cli@0.3.0");
  EXPECT_NE(r.out.find("clock monotonic: ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exited with code 0"), std::string::npos) << r.out;
  // A command serves no calls.
  r = d.Cli("call cli@0.3.0 run");
  EXPECT_NE(r.code, 0);
}

TEST(ComponentPlatform, ImportsNoneProvidesAreRefusedAtDeployWithTheList) {
  Daemon d;
  std::string wasm = StageComponent("host_import", "hosted@0.1.0.wasm");
  ASSERT_EQ(d.Cli("install " + ShellQuote(wasm)).code, 0);
  auto r = d.Cli("deploy hosted@0.1.0 --isolation main");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("unresolved imports: arcella:fixtures/host@0.1.0"), std::string::npos)
      << r.out;
  EXPECT_EQ(Request(d, "status")["deployments"].size(), 0u);
}

TEST(ComponentPlatform, FuelPerCallAndATrapLeaveTheReplicaServing) {
  Daemon d;
  std::string wasm = StageComponent("text_reactor", "text@0.1.0.wasm");
  ASSERT_EQ(d.Cli("install " + ShellQuote(wasm)).code, 0);
  ASSERT_EQ(d.Cli("deploy text@0.1.0 --isolation main --fuel 200000").code, 0);
  ASSERT_EQ(d.Cli("start text@0.1.0").code, 0);
  ASSERT_TRUE(WaitFor([&] { return Ready(d, "text@0.1.0/default", 1); }, 10'000));
  std::string big = "\"" + std::string(500'000, 'a') + "\"";
  Json j = Request(d, "call", {{"target", "text@0.1.0"}, {"export", "shout"}, {"args", {big}}});
  ASSERT_TRUE(j.contains("error")) << j.dump().substr(0, 300);
  EXPECT_NE(j["error"]["message"].get<std::string>().find("out of fuel"), std::string::npos)
      << j.dump();
  auto r = d.Cli("call text@0.1.0 shout '\"ok\"'");
  // Fuel is per call, and the trapped instance is replaced: the next call works.
  for (int i = 0; i < 3; ++i) {
    r = d.Cli("call text@0.1.0 shout '\"ok\"'");
    EXPECT_EQ(r.out, "\"OK\"\n");
  }
}

TEST(ComponentPlatform, DeploymentComesBackAfterTheDaemonIsKilled) {
  std::string home = test::TempDir("comp-restart");
  std::string wasm = StageComponent("text_reactor", "text@0.1.0.wasm");
  {
    Daemon d(home);
    ASSERT_EQ(d.Cli("install " + ShellQuote(wasm)).code, 0);
    ASSERT_EQ(d.Cli("deploy text@0.1.0 --isolation main --replicas 1").code, 0);
    ASSERT_EQ(d.Cli("start text@0.1.0").code, 0);
    ASSERT_TRUE(WaitFor([&] { return Ready(d, "text@0.1.0/default", 1); }, 10'000));
    d.Kill9();
  }
  Daemon d(home);
  ASSERT_TRUE(WaitFor([&] { return Ready(d, "text@0.1.0/default", 1); }, 20'000));
  auto r = d.Cli("call text@0.1.0 shout '\"back\"'");
  EXPECT_EQ(r.out, "\"BACK\"\n");
}

}  // namespace
}  // namespace arcella::e2e
