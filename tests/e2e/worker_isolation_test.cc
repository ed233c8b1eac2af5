// Hybrid isolation through the daemon: worker deployments run in their
// group's arcella-worker, main deployments in the daemon; kill -9 of a worker
// under a steady call load leaves the daemon, other groups and in-daemon
// deployments serving, and the group recovers by itself.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

using Clock = std::chrono::steady_clock;

Json WorkerOf(const Daemon& d, const std::string& group) {
  Json s = Request(d, "status");
  for (const auto& w : s.value("workers", Json::array()))
    if (w.value("group", "") == group) return w;
  return Json::object();
}

struct Tally {
  std::atomic<int> ok{0}, unavailable{0}, other{0};
  std::string other_error;
};

// Calls log_request on `target` in a loop until `stop`.
void CallLoop(const Daemon& d, const std::string& target, std::atomic<bool>* stop, Tally* t) {
  auto c = Connect(d);
  if (!c) return;
  while (!stop->load()) {
    alme::RemoteError remote{};
    auto r = c->Call("call", Json{{"target", target}, {"export", "log_request"}, {"args", {"200"}}},
                     &remote);
    if (r.ok()) {
      ++t->ok;
    } else if (remote.code == alme::ErrorCode::kUnavailable) {
      ++t->unavailable;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
      if (t->other++ == 0) t->other_error = r.status().message() + " / " + remote.message;
    }
  }
}

TEST(WorkerIsolation, KillNineUnderLoadRecoversTheGroupAndTouchesNothingElse) {
  Daemon d;
  std::string dir = test::TempDir("worker-e2e");
  CopyFile(CoreLoggerDir() + "/http-logger.wasm", dir + "/http-logger.wasm");
  CopyFile(CoreLoggerDir() + "/http-logger.component.toml", dir + "/http-logger.component.toml");
  ASSERT_EQ(d.Cli("install " + ShellQuote(dir + "/http-logger.wasm")).code, 0);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group a --replicas 4").code, 0);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group b --replicas 2").code, 0);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group m --isolation main").code, 0);
  ASSERT_EQ(d.Cli("start http-logger@0.1.0").code, 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        int ready = 0;
        Json s = Request(d, "status");
        for (const auto& x : s["deployments"]) ready += x.value("ready", 0);
        return ready == 7;
      },
      20'000))
      << Request(d, "status").dump();
  // Two workers (groups a and b), none for the main deployment; each its own process.
  Json wa = WorkerOf(d, "a"), wb = WorkerOf(d, "b");
  int64_t pa = wa.value("pid", 0), pb = wb.value("pid", 0);
  ASSERT_GT(pa, 0) << Request(d, "status").dump();
  ASSERT_GT(pb, 0);
  EXPECT_NE(pa, pb);
  EXPECT_NE(pa, d.pid());
  EXPECT_TRUE(WorkerOf(d, "m").empty());
  EXPECT_EQ(wa.value("state", ""), "running");
  EXPECT_GT(wa.value("rss_bytes", 0), 0);
  auto table = d.Cli("status");
  EXPECT_NE(table.out.find("WORKER PID"), std::string::npos) << table.out;

  std::atomic<bool> stop{false};
  Tally ta, tb, tm;
  std::thread la(CallLoop, std::cref(d), "http-logger@0.1.0/a", &stop, &ta);
  std::thread lb(CallLoop, std::cref(d), "http-logger@0.1.0/b", &stop, &tb);
  std::thread lm(CallLoop, std::cref(d), "http-logger@0.1.0/m", &stop, &tm);
  ASSERT_TRUE(WaitFor([&] { return ta.ok > 50 && tb.ok > 50 && tm.ok > 50; }, 20'000));

  ASSERT_EQ(kill(static_cast<pid_t>(pa), SIGKILL), 0);
  auto killed = Clock::now();
  const int a_before = ta.ok;
  // Group a comes back by itself: a new worker serving calls again.
  ASSERT_TRUE(WaitFor([&] { return ta.ok > a_before + 50; }, 20'000));
  auto recovered_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count();
  const int b_mid = tb.ok, m_mid = tm.ok;
  ASSERT_TRUE(WaitFor([&] { return tb.ok > b_mid + 50 && tm.ok > m_mid + 50; }, 20'000));
  stop = true;
  la.join();
  lb.join();
  lm.join();
  // Only group a saw failures, and only `unavailable` ones; b and m never failed.
  EXPECT_EQ(ta.other, 0) << ta.other_error;
  EXPECT_EQ(tb.unavailable + tb.other, 0) << tb.other_error;
  EXPECT_EQ(tm.unavailable + tm.other, 0) << tm.other_error;
  Json after = WorkerOf(d, "a");
  EXPECT_NE(after.value("pid", 0), pa);
  EXPECT_EQ(after.value("restarts", 0), 1);
  EXPECT_EQ(after.value("last_exit", ""), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(WorkerOf(d, "b").value("pid", 0), pb);
  EXPECT_EQ(Request(d, "ping").value("protocol", 0), 1);
  std::printf("kill -9 of a worker under load: calls served again after %lld ms (%d calls failed "
              "unavailable meanwhile)\n",
              static_cast<long long>(recovered_ms), ta.unavailable.load());

  // Stopping every worker deployment stops the workers.
  ASSERT_EQ(d.Cli("stop http-logger@0.1.0/a").code, 0);
  ASSERT_EQ(d.Cli("stop http-logger@0.1.0/b").code, 0);
  EXPECT_TRUE(WaitFor([&] { return kill(static_cast<pid_t>(pb), 0) != 0; }, 10'000));
}

}  // namespace
}  // namespace arcella::e2e
