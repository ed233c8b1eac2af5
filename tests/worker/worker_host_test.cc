// WorkerHost with real arcella-worker processes: calls, logs, status, kill -9
// recovery, in-flight calls failing `unavailable`, crash loops, memory
// budgets, grants, and the worker going away with its group.
#include "worker/worker_host.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "../platform/runtime_test_util.h"

namespace arcella::worker {
namespace {

using namespace platform::testing;  // NOLINT
using platform::State;
using std::chrono::milliseconds;

constexpr char kId[] = "counter@1.0.0/web";

bool Alive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

class WorkerHostTest : public ::testing::Test {
 protected:
  WorkerHostTest() : logs_(test::TempDir("worker-logs")) {}
  void SetUp() override {
    counter_ = LoadFixture("reactor_counter.wasm");
    ASSERT_NE(counter_, nullptr);
  }
  WorkerHostOptions Options() {
    WorkerHostOptions o;
    o.worker_path = ARCELLA_WORKER_BIN_PATH;
    o.grace = milliseconds(500);
    return o;
  }
  void Open(WorkerHostOptions o) {
    host_ = std::make_unique<WorkerHost>(&TestCode(), &logs_, &events_, std::move(o));
  }
  void StartCounter(uint32_t n, const std::string& id = kId) {
    auto plan = MakePlan(id, counter_, n);
    plan.isolation = platform::Isolation::kWorker;
    Status st = host_->Apply(plan, true);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, id, State::kActive, n); }));
  }
  // The group's worker is no longer `old` and its `n` replicas of `id` are
  // all active again (waited for).
  bool ReplacedAndActive(pid_t old, uint32_t n, const std::string& id = kId) {
    return WaitFor([&] {
      pid_t p = host_->WorkerPid("web");
      return p > 0 && p != old && AllInState(*host_, id, State::kActive, n);
    });
  }
  std::string CallAdd(const std::string& id = kId) {
    auto r = host_->Call(id, "add", {"2", "40"});
    if (!r.ok()) return "error: " + r.status().ToString();
    if (r->trap) return "trap: " + r->trap->ToString();
    return r->results.empty() ? "" : r->results[0];
  }

  platform::EventBus events_;
  platform::LogHub logs_;
  std::unique_ptr<WorkerHost> host_;
  std::shared_ptr<const engine::Module> counter_;
};

TEST_F(WorkerHostTest, ReactorRunsInASeparateSandboxedProcess) {
  Open(Options());
  StartCounter(2);
  pid_t pid = host_->WorkerPid("web");
  ASSERT_GT(pid, 0);
  EXPECT_NE(pid, getpid());
  EXPECT_EQ(CallAdd(), "42");
  // Per-instance state lives in the worker: two replicas, round robin.
  auto a = host_->Call(kId, "next", {});
  auto b = host_->Call(kId, "next", {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->replica, b->replica);
  // Traps and bad arguments come back typed.
  auto t = host_->Call(kId, "boom", {});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE(t->trap.has_value());
  EXPECT_EQ(t->trap->kind, engine::TrapKind::kUnreachable);
  auto bad = host_->Call(kId, "add", {"x", "1"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument) << bad.status().ToString();
  auto missing = host_->Call(kId, "nope", {});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto workers = host_->Workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].group, "web");
  EXPECT_EQ(workers[0].pid, pid);
  EXPECT_EQ(workers[0].state, "running");
  EXPECT_EQ(workers[0].replicas, 2u);
  EXPECT_GT(workers[0].rss_bytes, 0u);
  EXPECT_NE(workers[0].sandbox.find("seccomp"), std::string::npos) << workers[0].sandbox;
}

TEST_F(WorkerHostTest, OutputAndEventsReachTheDaemon) {
  Open(Options());
  std::mutex mu;
  std::vector<std::string> states;
  uint64_t token = events_.Subscribe([&](const platform::Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (e.kind == "replica") states.push_back(e.id + " " + e.state);
  });
  StartCounter(1);
  auto r = host_->Call(kId, "say", {"7"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& l : logs_.Tail(kId, 10))
      if (l.line == "say 7") return true;
    return false;
  }));
  events_.Unsubscribe(token);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_NE(std::find(states.begin(), states.end(), std::string(kId) + "#0 active"), states.end());
}

TEST_F(WorkerHostTest, KillNineRestartsTheWorkerAndItsReplicas) {
  Open(Options());
  StartCounter(3);
  pid_t first = host_->WorkerPid("web");
  ASSERT_GT(first, 0);
  // A call in flight when the worker dies fails `unavailable`, naming the signal.
  auto spinning = std::async(std::launch::async, [&] { return host_->Call(kId, "spin", {}); });
  std::this_thread::sleep_for(milliseconds(100));
  ASSERT_EQ(kill(first, SIGKILL), 0);
  auto r = spinning.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("killed by signal 9 (SIGKILL)"), std::string::npos)
      << r.status().message();
  // The group comes back by itself: a new worker, every replica active.
  ASSERT_TRUE(ReplacedAndActive(first, 3));
  EXPECT_EQ(CallAdd(), "42");
  auto workers = host_->Workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].restarts, 1u);
  EXPECT_EQ(workers[0].last_exit, "killed by signal 9 (SIGKILL)");
}

TEST_F(WorkerHostTest, GroupsHaveTheirOwnWorkersAndDieAlone) {
  Open(Options());
  StartCounter(1, "counter@1.0.0/a");
  StartCounter(1, "counter@1.0.0/b");
  pid_t a = host_->WorkerPid("a"), b = host_->WorkerPid("b");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  EXPECT_NE(a, b);
  ASSERT_EQ(kill(a, SIGKILL), 0);
  // Group b never notices.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(CallAdd("counter@1.0.0/b"), "42");
  EXPECT_EQ(host_->WorkerPid("b"), b);
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, "counter@1.0.0/a", State::kActive, 1); }));
}

TEST_F(WorkerHostTest, ACrashLoopingWorkerBacksOffAndLeavesItsDeploymentsFailed) {
  auto o = Options();
  o.max_quick_crashes = 3;
  o.backoff.initial = milliseconds(5);
  Open(o);
  StartCounter(1);
  // Kill every worker the group gets, as soon as it is there.
  pid_t last = 0;
  for (int kills = 0; kills < 4; ++kills) {
    ASSERT_TRUE(WaitFor([&] {
      pid_t p = host_->WorkerPid("web");
      return p > 0 && p != last;
    })) << "kill "
        << kills;
    last = host_->WorkerPid("web");
    kill(last, SIGKILL);
  }
  ASSERT_TRUE(WaitFor([&] {
    auto st = host_->GetStatus(kId);
    return st.ok() && st->state == State::kFailed;
  }));
  auto st = host_->GetStatus(kId);
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->replicas.size(), 1u);
  EXPECT_NE(st->replicas[0].last_error.find("crashed 4 times in a row"), std::string::npos)
      << st->replicas[0].last_error;
  EXPECT_EQ(host_->WorkerPid("web"), 0);
  auto call = host_->Call(kId, "add", {"1", "2"});
  EXPECT_EQ(call.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(host_->Workers().at(0).state, "failed");
  // The next deploy (apply) tries again.
  StartCounter(1);
  EXPECT_EQ(CallAdd(), "42");
}

TEST_F(WorkerHostTest, TheWorkerStopsWithItsLastDeployment) {
  Open(Options());
  StartCounter(1);
  pid_t pid = host_->WorkerPid("web");
  ASSERT_TRUE(Alive(pid));
  // Stopped (not removed): no replicas wanted, no worker.
  auto plan = MakePlan(kId, counter_, 1);
  ASSERT_TRUE(host_->Apply(plan, false).ok());
  EXPECT_EQ(host_->WorkerPid("web"), 0);
  EXPECT_TRUE(WaitFor([&] { return !Alive(pid); }));
  auto st = host_->GetStatus(kId);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->started);
  EXPECT_EQ(host_->Call(kId, "add", {"1", "2"}).status().code(), StatusCode::kFailedPrecondition);
  StartCounter(1);
  pid = host_->WorkerPid("web");
  ASSERT_TRUE(host_->Remove(kId).ok());
  EXPECT_TRUE(WaitFor([&] { return !Alive(pid); }));
  EXPECT_EQ(host_->GetStatus(kId).status().code(), StatusCode::kNotFound);
}

TEST_F(WorkerHostTest, AMemoryBombFailsOnlyInsideItsWorkersBudget) {
  auto o = Options();
  o.memory_cap_bytes = 16u << 20;
  Open(o);
  auto grow = LoadFixture("platcore_grow.wasm");
  ASSERT_NE(grow, nullptr);
  auto plan = MakePlan("grow@1.0.0/bomb", grow, 1);
  plan.max_memory_bytes = 1ull << 30;  // the replica's own cap would allow 1 GiB
  ASSERT_TRUE(host_->Apply(plan, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, plan.id, State::kActive, 1); }));
  auto pages = host_->Call(plan.id, "pages", {});
  ASSERT_TRUE(pages.ok()) << pages.status().ToString();
  // The worker's budget (16 MiB) stopped the growth, not the 1 GiB cap.
  EXPECT_LE(std::stoul(pages->results.at(0)), 256u);
  EXPECT_GE(std::stoul(pages->results.at(0)), 1u);
  StartCounter(1);  // another group is untouched
  EXPECT_EQ(CallAdd(), "42");
  // Where the daemon can create memory cgroups, the worker is in one of its
  // own, limited to the budget cap plus room for the worker itself.
  std::string cg;
  for (const auto& w : host_->Workers())
    if (w.group == "bomb") cg = w.cgroup;
  if (cg.empty()) {
    std::printf("no memory cgroup here; the engine's budget alone applied\n");
    return;
  }
  std::string limit;
  std::ifstream(cg + "/memory.limit_in_bytes") >> limit;
  if (limit.empty()) std::ifstream(cg + "/memory.max") >> limit;
  EXPECT_EQ(limit, std::to_string((16ull << 20) + (512ull << 20)));
  std::string procs;
  std::ifstream(cg + "/cgroup.procs") >> procs;
  EXPECT_EQ(procs, std::to_string(host_->WorkerPid("bomb")));
  ASSERT_TRUE(host_->Remove(plan.id).ok());
  EXPECT_TRUE(WaitFor([&] { return access(cg.c_str(), F_OK) != 0; }));
}

TEST_F(WorkerHostTest, RunawayCallPastItsDeadlineIsStoppedByInterruptOrByEndingTheWorker) {
  Open(Options());
  auto plan = MakePlan(kId, counter_, 1);
  plan.timeout = milliseconds(100);
  ASSERT_TRUE(host_->Apply(plan, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, kId, State::kActive, 1); }));
  auto r = host_->Call(kId, "spin", {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->trap.has_value());
  EXPECT_EQ(r->trap->kind, engine::TrapKind::kDeadline);
}

// Every call slot of the worker (here 2) busy with a call that ends only
// when cancelled, one more call waiting: status is still answered (an
// unanswered one would end the worker), every cancel is processed, and the
// waiting call runs once a slot frees.
TEST_F(WorkerHostTest, StatusAndCancelAreServedWhileEveryCallSlotIsBusy) {
  constexpr size_t kSlots = 2;
  auto o = Options();
  o.max_calls_per_worker = kSlots;
  Open(o);
  StartCounter(kSlots + 1);
  const pid_t pid = host_->WorkerPid("web");
  std::vector<platform::CallControl> controls(kSlots);
  std::atomic<int> ended{0};
  std::vector<std::future<Result<platform::CallResult>>> spins;
  for (size_t i = 0; i < kSlots; ++i) {
    spins.push_back(std::async(std::launch::async, [&, i] {
      auto r = host_->Call(kId, "spin", {}, &controls[i]);
      ++ended;
      return r;
    }));
  }
  auto extra = std::async(std::launch::async, [&] { return CallAdd(); });
  for (int i = 0; i < 3; ++i) {
    auto st = host_->GetStatus(kId);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (st.ok()) {
      EXPECT_EQ(st->replicas.size(), kSlots + 1);
    }
  }
  EXPECT_EQ(ended.load(), 0);  // a spin ends only when cancelled
  for (auto& c : controls) c.Cancel();
  for (auto& f : spins) {
    auto r = f.get();
    if (r.ok()) {
      ASSERT_TRUE(r->trap.has_value());
      EXPECT_EQ(r->trap->kind, engine::TrapKind::kInterrupted);
    } else {  // cancelled while waiting for its replica
      EXPECT_NE(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
    }
  }
  EXPECT_EQ(extra.get(), "42");
  EXPECT_EQ(host_->WorkerPid("web"), pid);
}

TEST_F(WorkerHostTest, AGrantTheWorkersUidCannotUseIsRefusedWithTheReason) {
  if (geteuid() != 0) GTEST_SKIP() << "the worker keeps the daemon's uid unless it is root";
  Open(Options());
  std::string dir = test::TempDir("worker-grant");  // 0700, owned by root
  auto plan = MakePlan(kId, counter_, 1);
  plan.dirs.push_back({std::filesystem::canonical(dir).string(), "/data", false});
  Status st = host_->Apply(plan, true);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("is not writable by the worker's uid 65534 (owner uid 0, mode 0700)"),
            std::string::npos)
      << st.message();
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  st = host_->Apply(plan, true);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, kId, State::kActive, 1); }));
}

// A guest in a worker trying every way out of its grant — `..`, absolute
// paths, symlinks to / and to a parent, chains — while the host swaps a
// directory inside the grant with a symlink to / back and forth (a `..`
// race): nothing outside is read or written, in 6 runs.
TEST_F(WorkerHostTest, AGuestCannotLeaveItsGrantThroughSymlinksOrRaces) {
  Open(Options());
  std::string root = std::filesystem::canonical(test::TempDir("worker-escape")).string();
  std::string box = root + "/box";
  ASSERT_EQ(mkdir(box.c_str(), 0777), 0);
  ASSERT_EQ(chmod(box.c_str(), 0777), 0);  // the worker's uid (65534 under root) writes here
  ASSERT_EQ(chmod(root.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((box + "/sub").c_str(), 0777), 0);
  std::ofstream(root + "/secret") << "SECRET";
  std::ofstream(box + "/inside") << "INSIDE";
  ASSERT_EQ(chmod((box + "/inside").c_str(), 0644), 0);
  ASSERT_EQ(symlink("/etc", (box + "/etc_link").c_str()), 0);
  ASSERT_EQ(symlink("../secret", (box + "/up_link").c_str()), 0);
  ASSERT_EQ(symlink("../../secret", (box + "/sub/up2").c_str()), 0);
  ASSERT_EQ(symlink("sub/up2", (box + "/chain1").c_str()), 0);
  ASSERT_EQ(symlink("/", (box + "/flip").c_str()), 0);
  auto escape = LoadFixture("wasi_escape.wasm");
  ASSERT_NE(escape, nullptr);
  auto plan = MakePlan("escape@1.0.0/jail", escape, 1);
  plan.dirs.push_back({box, "/sandbox", false});
  plan.restart = platform::RestartPolicy::kAlways;
  std::atomic<bool> stop{false};
  std::thread racer([&] {
    // `sub` (a real directory) and `flip` (a symlink to /) trade places.
    while (!stop) {
      syscall(SYS_renameat2, AT_FDCWD, (box + "/sub").c_str(), AT_FDCWD, (box + "/flip").c_str(),
              RENAME_EXCHANGE);
    }
  });
  ASSERT_TRUE(host_->Apply(plan, true).ok());
  std::string out;
  bool done = WaitFor(
      [&] {
        auto st = host_->GetStatus(plan.id);
        return st.ok() && !st->replicas.empty() && st->replicas[0].restarts >= 5;
      },
      std::chrono::seconds(60));
  stop = true;
  racer.join();
  ASSERT_TRUE(done);
  for (const auto& l : logs_.Tail(plan.id, 100000)) out += l.line + "\n";
  ASSERT_TRUE(host_->Remove(plan.id).ok());
  EXPECT_EQ(out.find("LEAK"), std::string::npos) << out;
  EXPECT_NE(out.find("leaks=0"), std::string::npos) << out;
  EXPECT_NE(out.find("inside=INSIDE"), std::string::npos) << out;
  EXPECT_EQ(access((root + "/stolen").c_str(), F_OK), -1);
  EXPECT_EQ(access((root + "/evil_dir").c_str(), F_OK), -1);
  EXPECT_EQ(access("/evil_dir", F_OK), -1);
  std::ifstream secret(root + "/secret");
  std::string text;
  secret >> text;
  EXPECT_EQ(text, "SECRET");
}

// A worker keeps the code and the directories its deployments use: scaling
// (1 -> 5 -> 2), stopping and starting, and a second deployment of the same
// code and grant send neither again; a worker restarted after kill -9 holds
// nothing, gets both once more, and its replicas come back.
TEST_F(WorkerHostTest, AppliesSendCodeAndDirectoriesOnlyToAWorkerWithoutThem) {
  Open(Options());
  std::string dir = std::filesystem::canonical(test::TempDir("worker-held")).string();
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);  // the worker's uid (65534 under root) may use it
  auto plan = MakePlan(kId, counter_, 1);
  plan.dirs.push_back({dir, "/data", false});
  for (uint32_t n : {1u, 5u, 2u}) {
    plan.replicas = n;
    Status st = host_->Apply(plan, true);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, kId, State::kActive, n); })) << n;
    EXPECT_EQ(CallAdd(), "42");
  }
  const pid_t first = host_->WorkerPid("web");
  auto sent = host_->SentTo("web");
  EXPECT_EQ(sent.code, 1u);
  EXPECT_EQ(sent.dirs, 1u);
  // The same code and directory for a second deployment of the group.
  auto twin = plan;
  twin.id = "twin@1.0.0/web";
  ASSERT_TRUE(host_->Apply(twin, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, twin.id, State::kActive, 2); }));
  EXPECT_EQ(host_->WorkerPid("web"), first);
  sent = host_->SentTo("web");
  EXPECT_EQ(sent.code, 1u);
  EXPECT_EQ(sent.dirs, 1u);
  // Removing the first deployment keeps both held for the second.
  ASSERT_TRUE(host_->Remove(kId).ok());
  twin.replicas = 3;
  ASSERT_TRUE(host_->Apply(twin, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, twin.id, State::kActive, 3); }));
  EXPECT_EQ(CallAdd(twin.id), "42");
  sent = host_->SentTo("web");
  EXPECT_EQ(sent.code, 1u);
  EXPECT_EQ(sent.dirs, 1u);
  // A restarted worker holds nothing: sent once more, and everything comes back.
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(ReplacedAndActive(first, 3, twin.id));
  EXPECT_EQ(CallAdd(twin.id), "42");
  sent = host_->SentTo("web");
  EXPECT_EQ(sent.code, 2u);
  EXPECT_EQ(sent.dirs, 2u);
  twin.replicas = 1;
  ASSERT_TRUE(host_->Apply(twin, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, twin.id, State::kActive, 1); }));
  EXPECT_EQ(host_->SentTo("web").code, 2u);
  std::filesystem::remove_all(dir);
}

// The status of many deployments: one round trip per worker.
TEST_F(WorkerHostTest, StatusOfAGroupsDeploymentsIsOneRoundTrip) {
  Open(Options());
  const std::vector<std::string> web = {"c1@1.0.0/web", "c2@1.0.0/web", "c3@1.0.0/web"};
  for (size_t i = 0; i < web.size(); ++i) StartCounter(static_cast<uint32_t>(i + 1), web[i]);
  StartCounter(2, "c4@1.0.0/other");
  auto plan = MakePlan("c5@1.0.0/web", counter_, 1);
  ASSERT_TRUE(host_->Apply(plan, false).ok());  // stopped: known to the host
  const uint64_t web_before = host_->SentTo("web").status_requests;
  const uint64_t other_before = host_->SentTo("other").status_requests;
  auto all = host_->GetStatuses(
      {web[0], "nobody@1.0.0/web", web[1], "c4@1.0.0/other", web[2], "c5@1.0.0/web"});
  ASSERT_EQ(all.size(), 6u);
  for (size_t i : {0u, 2u, 4u}) {
    ASSERT_TRUE(all[i].ok()) << all[i].status().ToString();
    EXPECT_EQ(all[i]->state, State::kActive);
  }
  EXPECT_EQ(all[0]->id, web[0]);
  EXPECT_EQ(all[2]->replicas.size(), 2u);
  EXPECT_EQ(all[4]->replicas.size(), 3u);
  EXPECT_EQ(all[1].status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(all[3].ok());
  EXPECT_EQ(all[3]->replicas.size(), 2u);
  ASSERT_TRUE(all[5].ok()) << all[5].status().ToString();
  EXPECT_FALSE(all[5]->started);
  EXPECT_EQ(host_->SentTo("web").status_requests, web_before + 1);
  EXPECT_EQ(host_->SentTo("other").status_requests, other_before + 1);
}

// A worker that stops answering (here: frozen with SIGSTOP, as a guest
// stuck where no interrupt check reaches would leave it; the WASI layer's
// own blocking calls are interruptible, docs/WASI.md): past the call's
// deadline plus the grace the daemon ends the worker, the call fails
// `unavailable` naming the kill, and the group comes back.
TEST_F(WorkerHostTest, AWorkerThatStopsAnsweringIsEndedAfterTheGrace) {
  auto o = Options();
  o.grace = milliseconds(300);
  Open(o);
  auto plan = MakePlan(kId, counter_, 1);
  plan.timeout = milliseconds(100);
  ASSERT_TRUE(host_->Apply(plan, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, kId, State::kActive, 1); }));
  pid_t before = host_->WorkerPid("web");
  ASSERT_EQ(kill(before, SIGSTOP), 0);
  auto t0 = std::chrono::steady_clock::now();
  auto r = host_->Call(kId, "add", {"1", "2"});
  double ms = MsSince(t0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("killed by signal 9 (SIGKILL)"), std::string::npos)
      << r.status().message();
  EXPECT_GE(ms, 400.0);  // deadline 100 ms + grace 300 ms, not before
  ASSERT_TRUE(WaitFor([&] {
    pid_t p = host_->WorkerPid("web");
    return p > 0 && p != before && CallAdd() == "42";
  }));
}

// 1,000 replicas of one deployment live in one worker process.
TEST_F(WorkerHostTest, ThousandReplicasInOneWorker) {
  Open(Options());
  auto plan = MakePlan(kId, counter_, 1000);
  ASSERT_TRUE(host_->Apply(plan, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, kId, State::kActive, 1000); },
                      std::chrono::seconds(60)));
  std::set<std::string> served;
  for (int i = 0; i < 1000; ++i) {
    auto r = host_->Call(kId, "add", {"1", "2"});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    served.insert(r->replica);
  }
  EXPECT_EQ(served.size(), 1000u);  // round robin reached every replica
  auto w = host_->Workers();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].replicas, 1000u);
  // Scale down to 10 in place: the same worker, survivors kept.
  pid_t pid = host_->WorkerPid("web");
  plan.replicas = 10;
  ASSERT_TRUE(host_->Apply(plan, true).ok());
  EXPECT_TRUE(AllInState(*host_, kId, State::kActive, 10));
  EXPECT_EQ(host_->WorkerPid("web"), pid);
}

// ---- the call ring (call_ring.h) ----

// What a call gives, as text: the same through the ring and the socket.
std::string Outcome(const Result<platform::CallResult>& r) {
  if (!r.ok()) return "error " + std::string(StatusCodeName(r.status().code()));
  if (r->trap) return "trap " + std::string(engine::TrapKindName(r->trap->kind));
  std::string out = "ok";
  for (const auto& v : r->results) out += " " + v;
  return out;
}

TEST_F(WorkerHostTest, RingAndSocketGiveTheSameResultsTrapsAndErrors) {
  std::vector<std::vector<std::string>> seen;
  for (bool ring : {true, false}) {
    auto o = Options();
    o.call_ring = ring;
    Open(o);
    StartCounter(2);
    std::vector<std::string> got;
    got.push_back(Outcome(host_->Call(kId, "add", {"2", "40"})));
    got.push_back(Outcome(host_->Call(kId, "add", {"-7", "3"})));
    got.push_back(Outcome(host_->Call(kId, "boom", {})));
    got.push_back(Outcome(host_->Call(kId, "add", {"x", "1"})));
    got.push_back(Outcome(host_->Call(kId, "add", {"1"})));
    got.push_back(Outcome(host_->Call(kId, "nope", {})));
    platform::CallControl control;
    auto spin = std::async(std::launch::async,
                           [&] { return host_->Call(kId, "spin", {}, &control); });
    std::this_thread::sleep_for(milliseconds(50));
    control.Cancel();
    got.push_back(Outcome(spin.get()));
    got.push_back(Outcome(host_->Call(kId, "add", {"2", "40"})));
    seen.push_back(got);
    host_->Shutdown();
  }
  EXPECT_EQ(seen[0], seen[1]);
  EXPECT_EQ(seen[0][0], "ok 42");
  EXPECT_EQ(seen[0][1], "ok -4");
  EXPECT_EQ(seen[0][2], "trap unreachable");
  EXPECT_EQ(seen[0][3], "error invalid argument");
  EXPECT_EQ(seen[0][5], "error not found");
  EXPECT_EQ(seen[0][6], "trap interrupted");
}

// Frames over a slot (4,032 bytes): a big call goes on the socket, a big
// reply to a ring call comes back on the socket, and the ring goes on.
TEST_F(WorkerHostTest, BigArgumentsAndResultsFallBackToTheSocket) {
  Open(Options());
  auto wide = LoadFixture("reactor_wide.wasm");
  ASSERT_NE(wide, nullptr);
  const std::string id = "wide@1.0.0/web";
  auto plan = MakePlan(id, wide, 2);
  ASSERT_TRUE(host_->Apply(plan, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, id, State::kActive, 2); }));
  StartCounter(1);
  std::vector<std::string> args;
  for (int i = 0; i < 300; ++i) args.push_back(std::to_string(INT64_MIN + i));
  for (int round = 0; round < 3; ++round) {
    auto in = host_->Call(id, "wide_in", args);  // ~6 KiB call, small reply
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    EXPECT_EQ(in->results, std::vector<std::string>{args.back()});
    auto out = host_->Call(id, "wide_out", {});  // small call, ~6 KiB reply
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->results, args);
    auto echo = host_->Call(id, "echo", args);  // both big
    ASSERT_TRUE(echo.ok()) << echo.status().ToString();
    EXPECT_EQ(echo->results, args);
    EXPECT_EQ(CallAdd(), "42");
  }
  // Concurrently, mixed with small calls.
  std::vector<std::future<bool>> callers;
  for (int t = 0; t < 8; ++t) {
    callers.push_back(std::async(std::launch::async, [&, t] {
      for (int i = 0; i < 50; ++i) {
        if (t % 2 == 0) {
          auto out = host_->Call(id, "wide_out", {});
          if (!out.ok() || out->results != args) return false;
        } else if (CallAdd() != "42") {
          return false;
        }
      }
      return true;
    }));
  }
  for (auto& c : callers) EXPECT_TRUE(c.get());
}

// A reply spilled to the socket while the worker is slow between its two
// steps (--selftest-ring-garbage slowspill pauses 200 ms there): the worker
// marks the slot spilled before it sends, so the daemon's caller never gives
// the slot back before the worker is done with it. Regression: the worker
// sent first; its late kRingSpilled then landed on a free slot and the
// daemon's next Acquire of that slot ended the (innocent) worker.
TEST_F(WorkerHostTest, ASlowSpilledReplyLeavesTheSlotFreeForTheNextCall) {
  auto o = Options();
  o.max_calls_per_worker = 2;  // two slots: the next calls reuse that one
  o.worker_args = {"--selftest-ring-garbage", "slowspill"};
  Open(o);
  StartCounter(1);
  const pid_t pid = host_->WorkerPid("web");
  auto r = host_->Call(kId, "garbage", {});  // no such export: its error comes spilled
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  std::this_thread::sleep_for(milliseconds(400));  // past the worker's pause
  for (int i = 0; i < 6; ++i) EXPECT_EQ(CallAdd(), "42") << i;
  EXPECT_EQ(host_->WorkerPid("web"), pid);
  EXPECT_EQ(host_->Workers().at(0).restarts, 0u);
}

// 32 callers x 300 calls, each with its own arguments: every reply is the
// caller's own. Once with a slot for each (64), once with 8 slots (the other
// callers overflow to the socket at the same time).
TEST_F(WorkerHostTest, ManyConcurrentCallersEachGetTheirOwnReplies) {
  for (uint32_t slots : {0u, 8u}) {
    SCOPED_TRACE("max calls " + std::to_string(slots));
    auto o = Options();
    o.max_calls_per_worker = slots;
    Open(o);
    StartCounter(8);
    std::atomic<int> wrong{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 32; ++t) {
      callers.emplace_back([&, t] {
        for (int i = 0; i < 300; ++i) {
          auto r = host_->Call(kId, "add", {std::to_string(t * 1000), std::to_string(i)});
          if (!r.ok() || r->results.size() != 1 || r->results[0] != std::to_string(t * 1000 + i))
            ++wrong;
        }
      });
    }
    for (auto& c : callers) c.join();
    EXPECT_EQ(wrong.load(), 0);
    host_->Shutdown();
  }
}

// Callers waiting on the ring (long calls asleep on their slot, short calls
// spinning or sleeping) when the worker is killed: every one fails
// `unavailable` naming the kill, none hangs, and the group comes back.
// Callers in a tight loop while the worker is killed again and again: a call
// answered just before the death keeps its answer (the death must not write
// over a request its caller is already reading: a data race TSan reports),
// the others fail `unavailable`; nothing else.
TEST_F(WorkerHostTest, CallsRacingTheWorkersDeathGetTheirAnswerOrUnavailable) {
  Open(Options());
  StartCounter(4);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, ok{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      while (!stop) {
        std::string r = CallAdd();
        if (r == "42") {
          ++ok;
        } else if (r.find("unavailable") == std::string::npos) {
          ++bad;
          ADD_FAILURE() << r;
        }
      }
    });
  }
  for (int round = 0; round < 4; ++round) {
    const pid_t pid = host_->WorkerPid("web");
    ASSERT_GT(pid, 0);
    const int before = ok.load();
    ASSERT_TRUE(WaitFor([&] { return ok.load() > before + 20; }));  // calls are flowing
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    ASSERT_TRUE(ReplacedAndActive(pid, 4));
  }
  stop = true;
  for (auto& t : callers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(host_->Workers().at(0).restarts, 4u);
}

// The daemon's shutdown: running calls are cancelled, their worker answers
// them (interrupted) and exits at once. Each caller gets the one answer, the
// interrupt or `unavailable`: the worker's end does not write over an answer
// its caller is already reading (the race TSan found in CI).
TEST_F(WorkerHostTest, ShutdownRightAfterCancelledCallsAnswerEachCallOnce) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    Open(Options());
    StartCounter(8);
    std::vector<std::unique_ptr<platform::CallControl>> controls;
    for (int i = 0; i < 8; ++i) controls.push_back(std::make_unique<platform::CallControl>());
    std::vector<std::future<Result<platform::CallResult>>> spins;
    std::atomic<int> entered{0};
    for (int i = 0; i < 8; ++i) {
      platform::CallControl* c = controls[i].get();
      spins.push_back(std::async(std::launch::async, [this, c, &entered] {
        ++entered;
        return host_->Call(kId, "spin", {}, c);
      }));
    }
    // The calls must be running when the shutdown comes (a slow sanitizer
    // build can start a thread late: CI's TSan stage once did). EXPECT, not
    // ASSERT: on failure the calls must still be cancelled, or the test hangs.
    EXPECT_TRUE(WaitFor([&] { return entered.load() == 8; }));
    std::this_thread::sleep_for(milliseconds(300));
    for (auto& c : controls) c->Cancel();
    host_->Shutdown();
    int running = 0;
    for (auto& f : spins) {
      auto r = f.get();
      if (r.ok()) {
        ASSERT_TRUE(r->trap.has_value());
        EXPECT_EQ(r->trap->kind, engine::TrapKind::kInterrupted) << r->trap->ToString();
        ++running;
      } else if (r.status().code() == StatusCode::kFailedPrecondition) {
        // A call that reached the host only after the shutdown: one clear answer too.
        EXPECT_NE(r.status().message().find("is stopped"), std::string::npos)
            << r.status().ToString();
      } else {
        EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
        ++running;
      }
    }
    EXPECT_GT(running, 0) << "no call was running when the shutdown came";
  }
}

TEST_F(WorkerHostTest, KillNineWakesEveryCallerWaitingOnTheRing) {
  Open(Options());
  StartCounter(12);
  const pid_t first = host_->WorkerPid("web");
  std::vector<std::future<Result<platform::CallResult>>> spins;
  for (int i = 0; i < 8; ++i)
    spins.push_back(std::async(std::launch::async, [&] { return host_->Call(kId, "spin", {}); }));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> busy;
  for (int t = 0; t < 4; ++t) {
    busy.emplace_back([&] {
      while (!stop) {
        std::string r = CallAdd();
        if (r != "42" && r.find("unavailable") == std::string::npos) ++bad;
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_EQ(kill(first, SIGKILL), 0);
  for (auto& f : spins) {
    auto r = f.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("killed by signal 9 (SIGKILL)"), std::string::npos)
        << r.status().message();
  }
  stop = true;
  for (auto& t : busy) t.join();
  EXPECT_EQ(bad.load(), 0);
  ASSERT_TRUE(WaitFor([&] {
    pid_t p = host_->WorkerPid("web");
    return p > 0 && p != first && CallAdd() == "42";
  }));
}

// A worker that writes garbage into the ring (arcella-worker
// --selftest-ring-garbage MODE, on calls to "garbage"): the daemon does not
// crash or hang, the call fails `unavailable`, the worker is ended and
// restarted, and the group serves calls again. Innocent callers of the group
// get 42 or `unavailable`, nothing else.
TEST_F(WorkerHostTest, AWorkerWritingGarbageIntoTheRingIsEndedAndRestarted) {
  for (const char* mode : {"length", "state", "frame", "id", "unasked", "noise"}) {
    SCOPED_TRACE(mode);
    auto o = Options();
    o.worker_args = {"--selftest-ring-garbage", mode};
    Open(o);
    StartCounter(6);
    EXPECT_EQ(CallAdd(), "42");
    const pid_t first = host_->WorkerPid("web");
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    std::vector<std::thread> innocent;
    for (int t = 0; t < 3; ++t) {
      innocent.emplace_back([&] {
        while (!stop) {
          std::string r = CallAdd();
          if (r != "42" && r.find("unavailable") == std::string::npos) {
            ++bad;
            ADD_FAILURE() << r;
          }
        }
      });
    }
    auto r = host_->Call(kId, "garbage", {});
    if (std::string(mode) == "unasked") {
      // Answered properly; the slots it scribbled on are caught when taken
      // (or when an innocent call already in one reads it: then this call
      // may be failed by the kill before its reply is read).
      EXPECT_TRUE(r.status().code() == StatusCode::kNotFound ||
                  r.status().code() == StatusCode::kUnavailable)
          << r.status().ToString();
      ASSERT_TRUE(WaitFor([&] { return host_->WorkerPid("web") != first; }));
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
      EXPECT_NE(r.status().message().find("killed by signal 9 (SIGKILL)"), std::string::npos)
          << r.status().message();
    }
    ASSERT_TRUE(ReplacedAndActive(first, 6));
    stop = true;
    for (auto& t : innocent) t.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(CallAdd(), "42");
    EXPECT_GE(host_->Workers().at(0).restarts, 1u);
    host_->Shutdown();
  }
}

TEST(WorkerSelftest, ExecveAndSocketAreRefusedInTheSandbox) {
  int err[2];
  ASSERT_EQ(pipe(err), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(err[1], 2);
    close(err[0]);
    close(err[1]);
    execl(ARCELLA_WORKER_BIN_PATH, ARCELLA_WORKER_BIN_PATH, "--selftest-escape",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(err[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = read(err[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<size_t>(n));
  close(err[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << text;
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;
  EXPECT_NE(text.find("execve: Operation not permitted"), std::string::npos) << text;
  EXPECT_NE(text.find("socket: Operation not permitted"), std::string::npos) << text;
  EXPECT_NE(text.find("seccomp refused syscall 59 (execve)"), std::string::npos) << text;
}

}  // namespace
}  // namespace arcella::worker
