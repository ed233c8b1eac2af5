// The daemon process itself: kill -9 and restart with state intact, a second
// daemon on the same home refused, SIGTERM exits cleanly and removes the
// socket, and the CLI's message when no daemon runs.
#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

Json StatusJson(const Daemon& d) { return Request(d, "status"); }

TEST(DaemonLifecycle, KillNineAndRestartRestoresEverything) {
  Daemon d;
  const std::string wasm = CoreLoggerDir() + "/http-logger.wasm";
  std::string work = test::TempDir("arcella-e2e-work");
  CopyFile(wasm, work + "/http-logger.wasm");
  CopyFile(CoreLoggerDir() + "/http-logger.component.toml", work + "/http-logger.component.toml");
  CopyFile(test::FixturePath("cmd_loop.wasm"), work + "/loop@2.0.0.wasm");
  ASSERT_EQ(d.Cli("install " + work + "/http-logger.wasm").code, 0);
  ASSERT_EQ(d.Cli("install " + work + "/loop@2.0.0.wasm").code, 0);
  // web: started, scaled to 7. batch: never started. sleeper: a command
  // module started then stopped: it must stay stopped.
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group web --replicas 5").code, 0);
  ASSERT_EQ(d.Cli("start http-logger@0.1.0/web").code, 0);
  ASSERT_EQ(d.Cli("scale http-logger@0.1.0/web --replicas 7").code, 0);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group batch --replicas 3").code, 0);
  ASSERT_EQ(d.Cli("deploy loop@2.0.0 --group sleeper --replicas 2 --env MODE=sleep").code, 0);
  ASSERT_EQ(d.Cli("deploy loop@2.0.0 --group ticker --replicas 1 --env MODE=sleep").code, 0);
  ASSERT_EQ(d.Cli("start loop@2.0.0").code, 0);
  ASSERT_EQ(d.Cli("stop loop@2.0.0/sleeper").code, 0);

  Json before;
  ASSERT_TRUE(WaitFor(
      [&] {
        before = StateOf(StatusJson(d));
        for (const auto& dep : before)
          if (dep["state"] != "active" && dep["state"] != "resolved") return false;
        return before.size() == 4;
      },
      5000))
      << before.dump(1);
  Json mods_before = Request(d, "module.list");
  for (auto& m : mods_before["modules"]) m.erase("installed_at");

  d.Kill9();
  // The dead daemon's socket file is left behind; the new one replaces it.
  EXPECT_TRUE(Exists(d.socket()));
  d.Start();
  ASSERT_EQ(d.Cli("ping").code, 0);

  Json after;
  bool same = WaitFor(
      [&] {
        after = StateOf(StatusJson(d));
        return after == before;
      },
      8000);
  EXPECT_TRUE(same) << "before:\n" << before.dump(1) << "\nafter:\n" << after.dump(1);
  Json mods_after = Request(d, "module.list");
  for (auto& m : mods_after["modules"]) m.erase("installed_at");
  EXPECT_EQ(mods_after, mods_before);

  // Spot checks on what the comparison covers.
  for (const auto& dep : after) {
    if (dep["id"] == "http-logger@0.1.0/web") {
      EXPECT_EQ(dep["replicas"], 7);
      EXPECT_EQ(dep["desired"], "started");
      EXPECT_EQ(dep["state"], "active");
    }
    if (dep["id"] == "http-logger@0.1.0/batch" || dep["id"] == "loop@2.0.0/sleeper") {
      EXPECT_EQ(dep["desired"], "stopped") << dep.dump();
      EXPECT_EQ(dep["state"], "resolved") << dep.dump();
      for (const auto& rep : dep["replicas_detail"]) EXPECT_EQ(rep[1], "resolved") << dep.dump();
    }
    if (dep["id"] == "loop@2.0.0/ticker") {
      EXPECT_EQ(dep["state"], "active") << dep.dump();
    }
  }
  // The restored replicas serve calls; the command module prints again.
  auto c = d.Cli("call http-logger@0.1.0/web log_request 204");
  EXPECT_EQ(c.code, 0) << c.out;
  EXPECT_EQ(c.out, "1\n");
  EXPECT_TRUE(
      WaitFor([&] { return d.Cli("logs loop@2.0.0/ticker").out.find("tick") != std::string::npos; },
              3000));
  EXPECT_EQ(d.Stop(), 0);
  Sh("rm -rf " + ShellQuote(work));
}

TEST(DaemonLifecycle, SecondDaemonOnTheSameHomeRefused) {
  Daemon d;
  auto r = Sh("timeout 20 " + DaemonBin() + " --home " + ShellQuote(d.home()));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("another arcella daemon (pid " + std::to_string(d.pid()) + ")"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(d.home()), std::string::npos) << r.out;
  // The first one is untouched and still serving on its socket.
  EXPECT_EQ(d.Cli("ping").code, 0);
  EXPECT_TRUE(Exists(d.socket()));
}

TEST(DaemonLifecycle, SigtermExitsZeroAndRemovesTheSocket) {
  Daemon d;
  std::string work = test::TempDir("arcella-e2e-work");
  CopyFile(test::FixturePath("cmd_loop.wasm"), work + "/loop@1.0.0.wasm");
  ASSERT_EQ(d.Cli("install " + work + "/loop@1.0.0.wasm").code, 0);
  // A replica busy in a blocking WASI call must not hold up the shutdown.
  ASSERT_EQ(d.Cli("deploy loop@1.0.0 --replicas 2 --env MODE=sleep").code, 0);
  ASSERT_EQ(d.Cli("start loop@1.0.0").code, 0);
  std::string home = d.home();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(d.Stop(), 0);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  t0)
                .count();
  EXPECT_LT(ms, 10000);
  EXPECT_FALSE(Exists(home + "/alme"));
  auto log = Sh("cat " + ShellQuote(home + "/daemon.out")).out;
  EXPECT_NE(log.find("received SIGTERM"), std::string::npos) << log;

  // Without a daemon the CLI says so and exits 7.
  auto r = Sh(CliBin() + " --home " + ShellQuote(home) + " status");
  EXPECT_EQ(r.code, 7) << r.out;
  EXPECT_NE(r.out.find("is the daemon running?"), std::string::npos) << r.out;

  // `arcella-cli shutdown` is a clean stop as well.
  Daemon again(home);
  auto s = again.Cli("shutdown");
  EXPECT_EQ(s.code, 0) << s.out;
  int st = 0;
  bool exited = WaitFor([&] { return waitpid(again.pid(), &st, WNOHANG) == again.pid(); }, 10000);
  EXPECT_TRUE(exited);
  if (exited) {
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
    again.Forget();
  }
  EXPECT_FALSE(Exists(home + "/alme"));
  Sh("rm -rf " + ShellQuote(work));
}

}  // namespace
}  // namespace arcella::e2e
