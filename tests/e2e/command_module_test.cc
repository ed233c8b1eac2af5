// A WASI command module (`_start`) deployed with restart policies: a guest
// that prints and exits 1 is restarted on failure (restarts shown by
// `status`), `stop` ends it, and its stdout/stderr are captured in `logs`.
#include <regex>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

int CountOf(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

TEST(CommandModule, RestartOnFailureStopAndLogs) {
  Daemon d;
  std::string work = test::TempDir("arcella-e2e-work");
  // No component.toml: the manifest comes from the file name.
  CopyFile(test::FixturePath("cmd_hello.wasm"), work + "/hello-cmd@1.0.0.wasm");
  auto r = d.Cli("install " + work + "/hello-cmd@1.0.0.wasm");
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli(
      "deploy hello-cmd@1.0.0 --group crash --replicas 2 --env EXIT_CODE=1 --restart on-failure");
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli("deploy hello-cmd@1.0.0 --group once --env EXIT_CODE=1 --restart never");
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli("deploy hello-cmd@1.0.0 --group ok --env EXIT_CODE=0 --restart on-failure");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(d.Cli("start hello-cmd@1.0.0").code, 0);

  // on-failure: both replicas exit 1 and are restarted (backoff 100 ms, doubling).
  Json dep;
  bool restarted = WaitFor(
      [&] {
        dep = Request(d, "status", {{"target", "hello-cmd@1.0.0/crash"}})["deployments"][0];
        for (const auto& rep : dep["replicas_detail"])
          if (rep.value("restarts", 0) < 2) return false;
        return dep["replicas_detail"].size() == 2;
      },
      6000);
  EXPECT_TRUE(restarted) << dep.dump(1);
  for (const auto& rep : dep["replicas_detail"])
    EXPECT_EQ(rep.value("exit_code", -1), 1) << rep.dump();
  r = d.Cli("status hello-cmd@1.0.0/crash -v");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("RESTARTS"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(#0\s+\S+\s+[1-9]\d*\s+1)"))) << r.out;

  // never: the replica ends failed with exit code 1 and no restart; plain
  // `status` shows the replica details of a failed deployment by itself.
  Json once;
  EXPECT_TRUE(WaitFor(
      [&] {
        once = Request(d, "status", {{"target", "hello-cmd@1.0.0/once"}})["deployments"][0];
        return once["replicas_detail"].size() == 1 &&
               once["replicas_detail"][0]["state"] == "failed";
      },
      5000))
      << once.dump(1);
  EXPECT_EQ(once["replicas_detail"][0]["restarts"], 0);
  EXPECT_EQ(once["replicas_detail"][0].value("exit_code", -1), 1);
  r = d.Cli("status");
  EXPECT_NE(r.out.find("hello-cmd@1.0.0/once replicas:"), std::string::npos) << r.out;

  // on-failure with exit 0: runs once, never restarted.
  Json ok;
  EXPECT_TRUE(WaitFor(
      [&] {
        ok = Request(d, "status", {{"target", "hello-cmd@1.0.0/ok"}})["deployments"][0];
        return ok["replicas_detail"].size() == 1 && ok["replicas_detail"][0].contains("exit_code");
      },
      5000))
      << ok.dump(1);
  EXPECT_EQ(ok["replicas_detail"][0]["exit_code"], 0);
  EXPECT_EQ(ok["replicas_detail"][0]["restarts"], 0);

  // logs: stdout and stderr of every run, tagged per replica.
  r = d.Cli("logs hello-cmd@1.0.0/crash --tail 1000");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_GE(CountOf(r.out, "[hello-cmd@1.0.0/crash#0] hello from"), 3) << r.out;
  EXPECT_GE(CountOf(r.out, "[hello-cmd@1.0.0/crash#1] hello from"), 3) << r.out;
  EXPECT_NE(r.out.find("[hello-cmd@1.0.0/crash#0 stderr] to stderr, no newline"), std::string::npos)
      << r.out;
  // The daemon's own log file for the deployment exists too.
  EXPECT_NE(Sh("ls -R " + d.home() + "/log").out.find("crash"), std::string::npos)
      << Sh("ls -R " + d.home() + "/log").out;

  // stop: the restart loop ends; no more runs are logged afterwards.
  r = d.Cli("stop hello-cmd@1.0.0/crash");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(WaitFor(
      [&] {
        auto s = Request(d, "status", {{"target", "hello-cmd@1.0.0/crash"}})["deployments"][0];
        return s["state"] == "resolved" && s["desired"] == "stopped";
      },
      5000));
  int runs = CountOf(d.Cli("logs hello-cmd@1.0.0/crash --tail 1000").out, "hello from");
  // Not a synchronisation: no new run may appear during 1.5 s (the behaviour).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(CountOf(d.Cli("logs hello-cmd@1.0.0/crash --tail 1000").out, "hello from"), runs);
  EXPECT_EQ(d.Cli("ping").code, 0);
  Sh("rm -rf " + ShellQuote(work));
}

}  // namespace
}  // namespace arcella::e2e
