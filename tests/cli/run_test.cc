// arcella-cli against a real alme::Server (Unix socket, frames, streams) with
// a Handler that records every request and answers like the daemon would.
// Runs the CLI both in-process (cli::Run) and as the built binary.
#include "cli/run.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "alme/server.h"
#include "cli/exit_codes.h"
#include "test_util.h"

namespace arcella::cli {
namespace {

using alme::ErrorCode;
using Json = nlohmann::json;

Json Deployment(const std::string& id, int replicas, const char* state) {
  Json detail = Json::array();
  for (int i = 0; i < replicas; ++i)
    detail.push_back({{"index", i},
                      {"state", std::string(state) == "active" ? "active" : "resolved"},
                      {"restarts", 0}});
  std::string module = id.substr(0, id.find('/'));
  return {{"id", id},
          {"module_id", module},
          {"group", id.substr(id.find('/') + 1)},
          {"replicas", replicas},
          {"desired", "started"},
          {"state", state},
          {"isolation", "worker"},
          {"replicas_detail", detail}};
}

// Answers like the daemon for the seed's http-logger; records requests.
class RecordingHandler : public alme::Handler {
 public:
  struct Request {
    std::string method;
    Json params;
  };
  std::vector<Request> Requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

  void Handle(const std::string& method, const Json& params,
              std::shared_ptr<alme::Responder> r) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      requests_.push_back({method, params});
    }
    if (method == "ping")
      return r->Finish({{"protocol", 1}, {"version", "0.1.0"}, {"pid", 1}, {"uptime_ms", 5}});
    if (method == "module.install") {
      for (const char* s : {"validate", "store", "compile", "done"}) r->Stream({{"stage", s}});
      return r->Finish(
          {{"id", "http-logger@0.1.0"}, {"kind", "core"}, {"size", 2048}, {"tier", "aot"}});
    }
    if (method == "module.inspect")
      return r->Fail(ErrorCode::kNotFound,
                     "module " + params.value("id", "") + " is not installed");
    if (method == "module.remove")
      return r->Fail(ErrorCode::kFailedPrecondition,
                     "module http-logger@0.1.0 is deployed: http-logger@0.1.0/web");
    if (method == "deployment.create") {
      if (params.value("replicas", 1) < 1)
        return r->Fail(ErrorCode::kInvalidParams, "replicas: must be >= 1, got 0");
      return r->Finish(
          Deployment(params.value("module_id", "") + "/" + params.value("group", "default"),
                     params.value("replicas", 1), "resolved"));
    }
    if (method == "deployment.start" || method == "deployment.scale")
      return r->Finish(
          {{"deployments",
            {Deployment("http-logger@0.1.0/web", params.value("replicas", 10), "active")}}});
    if (method == "deployment.stop")
      return r->Finish({{"deployments", {Deployment("http-logger@0.1.0/web", 10, "resolved")}}});
    if (method == "status")
      return r->Finish({{"daemon", {{"pid", 1}, {"uptime_ms", 5}, {"home", "/h"}}},
                        {"deployments", {Deployment("http-logger@0.1.0/web", 2, "active")}}});
    if (method == "call") {
      if (params.value("export", "") == "boom")
        return r->Fail(ErrorCode::kTrapped, "unreachable in boom");
      return r->Finish({{"replica", "calc@1.0.0/default#0"}, {"results", {"3"}}});
    }
    if (method == "logs") {
      r->Stream(
          {{"replica", "h@0.1.0/web#0"}, {"stream", "stdout"}, {"ts_ms", 1}, {"line", "hello"}});
      r->Stream(
          {{"replica", "h@0.1.0/web#1"}, {"stream", "stderr"}, {"ts_ms", 2}, {"line", "oops"}});
      return r->Finish({{"lines", 2}});
    }
    if (method == "events.watch") {
      r->Stream(
          {{"ts_ms", 1000}, {"kind", "deployment"}, {"id", "h@0.1.0/web"}, {"state", "starting"}});
      r->Stream({{"ts_ms", 2000},
                 {"kind", "replica"},
                 {"id", "h@0.1.0/web#0"},
                 {"state", "failed"},
                 {"message", "exit code 1"}});
      return r->Finish({{"cancelled", true}});  // the real watch runs until cancelled
    }
    if (method == "daemon.shutdown") return r->Finish({{"shutting_down", true}});
    r->Fail(ErrorCode::kUnknownMethod, "unknown method " + method);
  }

 private:
  std::mutex mu_;
  std::vector<Request> requests_;
};

class CliServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = test::TempDir("cli-home");
    socket_ = home_ + "/alme";
    handler_ = std::make_shared<RecordingHandler>();
    alme::ServerOptions o;
    o.socket_path = socket_;
    auto s = alme::Server::Start(o, handler_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s.value());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    std::filesystem::remove_all(home_);
  }

  struct Output {
    int code;
    std::string out, err;
  };
  Output Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", socket_});
    std::ostringstream out, err;
    int code = cli::Run(args, out, err);
    return {code, out.str(), err.str()};
  }

  std::string home_, socket_;
  std::shared_ptr<RecordingHandler> handler_;
  std::unique_ptr<alme::Server> server_;
};

TEST_F(CliServerTest, InstallShowsProgressAndSendsAbsolutePath) {
  std::string wasm = home_ + "/http-logger.wasm";
  std::ofstream(wasm) << "x";
  Output o = Cli({"install", wasm});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.err, "validating...\nstoring...\ncompiling...\n");
  EXPECT_EQ(o.out, "installed http-logger@0.1.0 (core, 2.0 KiB, tier aot)\n");
  auto reqs = handler_->Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "module.install");
  EXPECT_EQ(reqs[0].params, (Json{{"path", wasm}, {"force", false}}));

  Output q = Cli({"-q", "install", wasm});
  EXPECT_EQ(q.code, 0);
  EXPECT_EQ(q.out + q.err, "");
  Output j = Cli({"--json", "install", wasm});
  EXPECT_EQ(
      j.out,
      "{\"stage\":\"validate\"}\n{\"stage\":\"store\"}\n{\"stage\":\"compile\"}\n{\"stage\":\"done\"}\n"
      "{\"id\":\"http-logger@0.1.0\",\"kind\":\"core\",\"size\":2048,\"tier\":\"aot\"}\n");
}

TEST_F(CliServerTest, DaemonErrorsMapToExitCodes) {
  Output nf = Cli({"inspect", "nope@1.0.0"});
  EXPECT_EQ(nf.code, kExitNotFound);
  EXPECT_EQ(nf.err, "arcella-cli: module nope@1.0.0 is not installed\n");
  EXPECT_EQ(nf.out, "");
  Output pre = Cli({"remove", "http-logger@0.1.0"});
  EXPECT_EQ(pre.code, kExitConflict);
  EXPECT_NE(pre.err.find("http-logger@0.1.0/web"), std::string::npos);
  Output inv = Cli({"deploy", "a@1.0.0", "--replicas", "0"});
  EXPECT_EQ(inv.code, kExitInvalid);
  EXPECT_EQ(inv.err, "arcella-cli: replicas: must be >= 1, got 0\n");
  Output trap = Cli({"call", "calc@1.0.0", "boom"});
  EXPECT_EQ(trap.code, kExitTrapped);
  EXPECT_EQ(trap.err, "arcella-cli: unreachable in boom\n");
  Output unk = Cli({"list"});  // the test handler does not know module.list
  EXPECT_EQ(unk.code, kExitError);
  EXPECT_EQ(unk.err, "arcella-cli: unknown method module.list\n");
}

TEST_F(CliServerTest, StatusTableAndJson) {
  Output o = Cli({"status"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "DEPLOYMENT             MODULE             GROUP  STATE   REPLICAS  ISOLATION\n"
                   "http-logger@0.1.0/web  http-logger@0.1.0  web    active  2/2       worker\n");
  Output j = Cli({"status", "--json"});
  Json parsed = Json::parse(j.out);
  EXPECT_EQ(parsed["deployments"][0]["id"], "http-logger@0.1.0/web");
  EXPECT_EQ(j.out.find('\n'), j.out.size() - 1);  // one object, one line
}

TEST_F(CliServerTest, LogsStreamAndCall) {
  Output l = Cli({"logs", "h@0.1.0", "--tail", "2"});
  EXPECT_EQ(l.code, 0) << l.err;
  EXPECT_EQ(l.out, "[h@0.1.0/web#0] hello\n[h@0.1.0/web#1 stderr] oops\n");
  Output c = Cli({"call", "calc@1.0.0", "add", "1", "-2"});
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.out, "3\n");
  auto reqs = handler_->Requests();
  EXPECT_EQ(reqs.back().params,
            (Json{{"target", "calc@1.0.0"}, {"export", "add"}, {"args", {"1", "-2"}}}));
}

TEST_F(CliServerTest, EventsPingShutdown) {
  Output e = Cli({"events"});
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("  deployment  h@0.1.0/web  starting\n"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("  replica  h@0.1.0/web#0  failed  exit code 1\n"), std::string::npos)
      << e.out;
  Output ej = Cli({"--json", "events"});
  EXPECT_EQ(std::count(ej.out.begin(), ej.out.end(), '\n'), 3);  // 2 items + the result
  Output p = Cli({"ping"});
  EXPECT_EQ(p.out, "arcella 0.1.0 (protocol 1), pid 1, up 5ms\n");
  EXPECT_EQ(Cli({"shutdown"}).out, "daemon shutting down\n");
  EXPECT_EQ(handler_->Requests().back().method, "daemon.shutdown");
}

// The built binary, as a user runs it: exit status, stdout, stderr.
struct Proc {
  int code;
  std::string out, err;
};
// $ARCELLA_CLI_BIN, else arcella-cli beside this test binary (the build dir).
std::string CliBin() {
  if (const char* b = getenv("ARCELLA_CLI_BIN"); b != nullptr && *b != '\0') return b;
  std::error_code ec;
  auto beside = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "arcella-cli";
  return !ec && std::filesystem::exists(beside) ? beside.string() : "";
}

Proc RunBinary(const std::string& args, const std::string& env = "") {
  std::string bin = CliBin();
  if (bin.empty()) return {-1, "", "arcella-cli not found (set ARCELLA_CLI_BIN)"};
  std::string dir = test::TempDir("cli-proc");
  std::string cmd = env + " " + bin + " " + args + " >" + dir + "/out 2>" + dir + "/err";
  int st = system(cmd.c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  Proc p{WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(dir + "/out"), slurp(dir + "/err")};
  std::filesystem::remove_all(dir);
  return p;
}

TEST_F(CliServerTest, SeedQuickStartVerbatimWithTheBinary) {
  if (CliBin().empty()) GTEST_SKIP() << "arcella-cli not built (set ARCELLA_CLI_BIN)";
  std::ofstream(home_ + "/http-logger.wasm") << "x";
  const std::string env = "cd " + home_ + " && ARCELLA_HOME=" + home_;
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"install ./http-logger.wasm", "module.install"},
      {"deploy http-logger@0.1.0 --group web --replicas 10", "deployment.create"},
      {"start http-logger@0.1.0", "deployment.start"},
      {"scale http-logger@0.1.0 --group web --replicas 20", "deployment.scale"},
      {"status", "status"},
      {"stop http-logger@0.1.0", "deployment.stop"},
  };
  for (const auto& [line, method] : lines) {
    Proc p = RunBinary(line, env);
    EXPECT_EQ(p.code, 0) << line << "\n" << p.err;
    EXPECT_FALSE(p.out.empty()) << line;
  }
  auto reqs = handler_->Requests();
  ASSERT_EQ(reqs.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(reqs[i].method, lines[i].second);
  EXPECT_EQ(reqs[0].params["path"], home_ + "/http-logger.wasm");
  EXPECT_EQ(reqs[1].params,
            (Json{{"module_id", "http-logger@0.1.0"}, {"group", "web"}, {"replicas", 10}}));
  EXPECT_EQ(reqs[3].params,
            (Json{{"target", "http-logger@0.1.0"}, {"group", "web"}, {"replicas", 20}}));
  Proc deployed = RunBinary("deploy http-logger@0.1.0 --group web --replicas 10", env);
  EXPECT_EQ(deployed.out, "deployed http-logger@0.1.0/web (10 replicas, resolved); start it with "
                          "`arcella-cli start http-logger@0.1.0/web`\n");
}

TEST(CliProcess, DaemonNotRunning) {
  if (CliBin().empty()) GTEST_SKIP() << "arcella-cli not built (set ARCELLA_CLI_BIN)";
  Proc p = RunBinary("--socket /nonexistent/arcella/alme status");
  EXPECT_EQ(p.code, kExitUnreachable);
  EXPECT_EQ(p.out, "");
  EXPECT_EQ(
      p.err,
      "arcella-cli: cannot connect to /nonexistent/arcella/alme: no such socket; is the daemon "
      "running? start it with `arcella`\n");
  Proc h = RunBinary("--home /nonexistent/h ping");
  EXPECT_EQ(h.code, kExitUnreachable);
  EXPECT_NE(h.err.find("start it with `arcella --home /nonexistent/h`"), std::string::npos)
      << h.err;

  // A socket file nobody listens on: the OS reason is shown.
  std::string dir = test::TempDir("cli-stale");
  std::ofstream(dir + "/alme") << "";  // a stale file, nobody listening
  Proc stale = RunBinary("--socket " + dir + "/alme ping");
  EXPECT_EQ(stale.code, kExitUnreachable);
  EXPECT_NE(stale.err.find("is the daemon running?"), std::string::npos) << stale.err;
  std::filesystem::remove_all(dir);
}

TEST(CliProcess, UsageErrorsExitTwo) {
  if (CliBin().empty()) GTEST_SKIP() << "arcella-cli not built (set ARCELLA_CLI_BIN)";
  for (const char* args :
       {"", "nosuchcommand", "deploy", "scale a@1.0.0", "deploy a@1.0.0 --isolation x"}) {
    Proc p = RunBinary(args);
    EXPECT_EQ(p.code, kExitUsage) << args;
    EXPECT_NE(p.err.find("arcella-cli"), std::string::npos) << args;
  }
  EXPECT_EQ(RunBinary("--help").code, 0);
}

}  // namespace
}  // namespace arcella::cli
