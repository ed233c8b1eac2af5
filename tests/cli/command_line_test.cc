// arcella-cli's command line -> ALME request (method + params), including
// every line of the seed README's quick start, verbatim.
#include "cli/command_line.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/exit_codes.h"
#include "test_util.h"

namespace arcella::cli {
namespace {

// "arcella-cli a b c" -> {"a", "b", "c"} (the program name dropped).
std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  std::string s;
  while (in >> s) w.push_back(s);
  EXPECT_EQ(w.at(0), "arcella-cli");
  w.erase(w.begin());
  return w;
}

struct Parsed {
  ParseOutcome outcome;
  std::string out, err;
};

Parsed ParseLine(const std::string& line) {
  std::ostringstream out, err;
  Parsed p{ParseCommandLine(Words(line), out, err), "", ""};
  p.out = out.str();
  p.err = err.str();
  return p;
}

Invocation Ok(const std::string& line) {
  Parsed p = ParseLine(line);
  EXPECT_TRUE(p.outcome.invocation.has_value()) << line << "\n" << p.err;
  return p.outcome.invocation.value_or(Invocation{});
}

class CwdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = std::filesystem::current_path();
    dir_ = std::filesystem::canonical(test::TempDir("cli-cwd")).string();
    std::filesystem::current_path(dir_);
  }
  void TearDown() override {
    std::filesystem::current_path(old_);
    std::filesystem::remove_all(dir_);
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::filesystem::path old_;
  std::string dir_;
};

using SeedQuickStart = CwdTest;

TEST_F(SeedQuickStart, InstallSendsAbsolutePath) {
  Write("http-logger.wasm", "\0asm");
  Invocation inv = Ok("arcella-cli install ./http-logger.wasm");
  EXPECT_EQ(inv.method, "module.install");
  EXPECT_EQ(inv.params, (Json{{"path", dir_ + "/http-logger.wasm"}, {"force", false}}));
}

TEST_F(SeedQuickStart, Deploy) {
  Invocation inv = Ok("arcella-cli deploy http-logger@0.1.0 --group web --replicas 10");
  EXPECT_EQ(inv.method, "deployment.create");
  EXPECT_EQ(inv.params,
            (Json{{"module_id", "http-logger@0.1.0"}, {"group", "web"}, {"replicas", 10}}));
}

TEST_F(SeedQuickStart, StartScaleStatusStop) {
  Invocation start = Ok("arcella-cli start http-logger@0.1.0");
  EXPECT_EQ(start.method, "deployment.start");
  EXPECT_EQ(start.params, (Json{{"target", "http-logger@0.1.0"}}));

  Invocation scale = Ok("arcella-cli scale http-logger@0.1.0 --group web --replicas 20");
  EXPECT_EQ(scale.method, "deployment.scale");
  EXPECT_EQ(scale.params,
            (Json{{"target", "http-logger@0.1.0"}, {"group", "web"}, {"replicas", 20}}));

  Invocation status = Ok("arcella-cli status");
  EXPECT_EQ(status.method, "status");
  EXPECT_EQ(status.params, Json::object());

  Invocation stop = Ok("arcella-cli stop http-logger@0.1.0");
  EXPECT_EQ(stop.method, "deployment.stop");
  EXPECT_EQ(stop.params, (Json{{"target", "http-logger@0.1.0"}}));
}

TEST_F(CwdTest, DeployFileSendsTextAndAbsolutePath) {
  const std::string toml =
      "[deployment]\nmodule_id = \"http-logger@0.1.0\"\ngroup = \"web\"\nreplicas = 10\n\n"
      "[deployment.overrides]\nisolation = \"worker\"\nasync = true\n";
  Write("web.deployment.toml", toml);
  Invocation inv = Ok("arcella-cli deploy -f web.deployment.toml");
  EXPECT_EQ(inv.method, "deployment.create");
  EXPECT_EQ(inv.params, (Json{{"toml", toml}, {"file", dir_ + "/web.deployment.toml"}}));
}

TEST_F(CwdTest, InstallWithForceAndManifest) {
  Write("m.wasm", "x");
  Write("m.component.toml", "[component]\nname = \"m\"\nversion = \"1.0.0\"\n");
  Invocation inv = Ok("arcella-cli install m.wasm --force --manifest m.component.toml");
  EXPECT_EQ(inv.params["path"], dir_ + "/m.wasm");
  EXPECT_EQ(inv.params["force"], true);
  EXPECT_EQ(inv.params["manifest"], "[component]\nname = \"m\"\nversion = \"1.0.0\"\n");
}

TEST_F(CwdTest, MissingLocalFilesAreInvalidInputNamingTheFile) {
  Parsed a = ParseLine("arcella-cli install ./nope.wasm");
  EXPECT_FALSE(a.outcome.invocation);
  EXPECT_EQ(a.outcome.exit_code, kExitInvalid);
  EXPECT_EQ(a.err, "arcella-cli: ./nope.wasm: no such file\n");

  Parsed b = ParseLine("arcella-cli deploy -f missing.deployment.toml");
  EXPECT_EQ(b.outcome.exit_code, kExitInvalid);
  EXPECT_NE(b.err.find("deployment file missing.deployment.toml: no such file"), std::string::npos);

  Write("m.wasm", "x");
  Parsed c = ParseLine("arcella-cli install m.wasm --manifest nope.toml");
  EXPECT_EQ(c.outcome.exit_code, kExitInvalid);
  EXPECT_NE(c.err.find("manifest nope.toml"), std::string::npos);
}

// Special and huge local files are refused by type and size, never read whole
// (the CLI would hang on a FIFO or fill its memory from /dev/zero).
TEST_F(CwdTest, SpecialAndHugeLocalFilesAreRefused) {
  Parsed z = ParseLine("arcella-cli deploy -f /dev/zero");
  EXPECT_EQ(z.outcome.exit_code, kExitInvalid);
  EXPECT_NE(z.err.find("/dev/zero: not a regular file (a character device)"), std::string::npos)
      << z.err;
  ASSERT_EQ(::mkfifo((dir_ + "/f.toml").c_str(), 0600), 0);
  Parsed f = ParseLine("arcella-cli deploy -f f.toml");
  EXPECT_EQ(f.outcome.exit_code, kExitInvalid);
  EXPECT_NE(f.err.find("not a regular file (a FIFO)"), std::string::npos) << f.err;
  Write("big.toml", "");
  ASSERT_EQ(::truncate((dir_ + "/big.toml").c_str(), 6ll << 30), 0);  // sparse 6 GiB
  Parsed b = ParseLine("arcella-cli deploy -f big.toml");
  EXPECT_EQ(b.outcome.exit_code, kExitInvalid);
  EXPECT_NE(b.err.find("6442450944 bytes; at most 1048576"), std::string::npos) << b.err;
}

TEST(CommandLine, DeployOverrides) {
  Invocation inv = Ok(
      "arcella-cli deploy app@1.2.3 --isolation main --trusted --fuel 1000 --max-memory 64MiB "
      "--timeout 2s --dir /data::/data:ro --dir /tmp::/scratch --env A=1 --env B=x=y "
      "--restart always");
  EXPECT_EQ(inv.params, (Json{{"module_id", "app@1.2.3"},
                              {"overrides",
                               {{"isolation", "main"},
                                {"trusted", true},
                                {"fuel", 1000},
                                {"max_memory", "64MiB"},
                                {"timeout", "2s"},
                                {"dirs", {"/data::/data:ro", "/tmp::/scratch"}},
                                {"env", {{"A", "1"}, {"B", "x=y"}}},
                                {"restart", "always"}}}}));
  // Plain digits are bytes, sent as an integer.
  EXPECT_EQ(Ok("arcella-cli deploy a@1.0.0 --max-memory 65536").params["overrides"]["max_memory"],
            65536);
  // A repeated --dir takes one value each: the module id stays positional.
  EXPECT_EQ(Ok("arcella-cli deploy --dir /a::/a a@1.0.0").params["module_id"], "a@1.0.0");
}

TEST(CommandLine, TargetsGroupsAndRemaining) {
  EXPECT_EQ(Ok("arcella-cli undeploy a@1.0.0 --group web").method, "deployment.remove");
  EXPECT_EQ(Ok("arcella-cli undeploy a@1.0.0 --group web").params,
            (Json{{"target", "a@1.0.0"}, {"group", "web"}}));
  EXPECT_EQ(Ok("arcella-cli start a@1.0.0/web").params, (Json{{"target", "a@1.0.0/web"}}));
  EXPECT_EQ(Ok("arcella-cli status a@1.0.0").params, (Json{{"target", "a@1.0.0"}}));
  EXPECT_TRUE(Ok("arcella-cli status -v").verbose);
  EXPECT_EQ(Ok("arcella-cli list").method, "module.list");
  EXPECT_EQ(Ok("arcella-cli inspect a@1.0.0").params, (Json{{"id", "a@1.0.0"}}));
  EXPECT_EQ(Ok("arcella-cli remove a@1.0.0").method, "module.remove");
  EXPECT_EQ(Ok("arcella-cli events").method, "events.watch");
  EXPECT_EQ(Ok("arcella-cli ping").method, "ping");
  EXPECT_EQ(Ok("arcella-cli shutdown").method, "daemon.shutdown");
  EXPECT_EQ(Ok("arcella-cli logs a@1.0.0 -f --tail 5").params,
            (Json{{"target", "a@1.0.0"}, {"follow", true}, {"tail", 5}}));
  EXPECT_EQ(Ok("arcella-cli logs a@1.0.0").params,
            (Json{{"target", "a@1.0.0"}, {"follow", false}, {"tail", 100}}));
}

TEST(CommandLine, CallArgumentsIncludingNegativeNumbers) {
  Invocation inv = Ok("arcella-cli call calc@1.0.0 add 2 -5");
  EXPECT_EQ(inv.method, "call");
  EXPECT_EQ(inv.params, (Json{{"target", "calc@1.0.0"}, {"export", "add"}, {"args", {"2", "-5"}}}));
  EXPECT_EQ(Ok("arcella-cli call calc@1.0.0 run").params["args"], Json::array());
  EXPECT_EQ(Ok("arcella-cli call calc@1.0.0 neg -- -inf").params["args"], (Json{"-inf"}));
}

TEST(CommandLine, GlobalOptionsBeforeOrAfterTheCommand) {
  Invocation a = Ok("arcella-cli --json -q --home /h status");
  EXPECT_TRUE(a.global.json);
  EXPECT_TRUE(a.global.quiet);
  EXPECT_EQ(a.global.home, "/h");
  Invocation b = Ok("arcella-cli status --json --socket /s/alme");
  EXPECT_TRUE(b.global.json);
  EXPECT_EQ(b.global.socket, "/s/alme");
}

TEST(CommandLine, SocketPathResolution) {
  GlobalOptions g;
  g.socket = "/explicit";
  g.home = "/h";
  EXPECT_EQ(ResolveSocketPath(g), "/explicit");
  g.socket.clear();
  EXPECT_EQ(ResolveSocketPath(g), "/h/alme");
  g.home.clear();
  setenv("ARCELLA_HOME", "/env-home", 1);
  EXPECT_EQ(ResolveSocketPath(g), "/env-home/alme");
  unsetenv("ARCELLA_HOME");
  std::string home = getenv("HOME") ? getenv("HOME") : "";
  setenv("HOME", "/u", 1);
  EXPECT_EQ(ResolveSocketPath(g), "/u/.arcella/alme");
  setenv("HOME", home.c_str(), 1);
}

TEST(CommandLine, UsageErrorsExitTwoWithAMessage) {
  for (const char* line : {
           "arcella-cli",
           "arcella-cli frobnicate",
           "arcella-cli install",
           "arcella-cli deploy",
           "arcella-cli deploy a@1.0.0 -f x.toml",
           "arcella-cli deploy -f x.toml --replicas 2",
           "arcella-cli deploy a@1.0.0 --isolation sideways",
           "arcella-cli deploy a@1.0.0 --restart sometimes",
           "arcella-cli deploy a@1.0.0 --replicas ten",
           "arcella-cli deploy a@1.0.0 --env NOEQUALS",
           "arcella-cli deploy a@1.0.0 --dir /only-host",
           "arcella-cli scale a@1.0.0",
           "arcella-cli start",
           "arcella-cli logs a@1.0.0 --tail -3",
           "arcella-cli status a b",
           "arcella-cli ping --bogus",
       }) {
    Parsed p = ParseLine(line);
    EXPECT_FALSE(p.outcome.invocation) << line;
    EXPECT_EQ(p.outcome.exit_code, kExitUsage) << line;
    EXPECT_EQ(p.err.rfind("arcella-cli", 0), 0u) << line << ": " << p.err;
  }
  EXPECT_NE(
      ParseLine("arcella-cli deploy a@1.0.0 --env NOEQUALS").err.find("KEY=VALUE, got 'NOEQUALS'"),
      std::string::npos);
  EXPECT_NE(ParseLine("arcella-cli deploy -f x.toml --replicas 2").err.find("--replicas"),
            std::string::npos);
}

TEST(CommandLine, HelpAndVersionExitZero) {
  Parsed h = ParseLine("arcella-cli --help");
  EXPECT_EQ(h.outcome.exit_code, kExitOk);
  EXPECT_FALSE(h.outcome.invocation);
  EXPECT_NE(h.out.find("deploy"), std::string::npos);
  Parsed d = ParseLine("arcella-cli deploy --help");
  EXPECT_EQ(d.outcome.exit_code, kExitOk);
  EXPECT_NE(d.out.find("--isolation"), std::string::npos);
  Parsed v = ParseLine("arcella-cli --version");
  EXPECT_EQ(v.outcome.exit_code, kExitOk);
  EXPECT_EQ(v.out.rfind("arcella-cli ", 0), 0u);
}

}  // namespace
}  // namespace arcella::cli
