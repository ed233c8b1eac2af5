// Command replicas (_start) in the InProcessHost: exit codes, restart
// policies with backoff, traps, stop of endless guests, captured output.
#include "platform/replica.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>

#include "platform/inprocess_host.h"
#include "runtime_test_util.h"

namespace arcella::platform {
namespace {

using namespace testing;  // NOLINT
using std::chrono::milliseconds;

constexpr char kId[] = "cmd@1.0.0/batch";

class CommandTest : public ::testing::Test {
 protected:
  explicit CommandTest(InProcessHostOptions o = Fast())
      : logs_(test::TempDir("runtime-logs")), host_(TestLoader(), &logs_, &events_, o) {}
  static InProcessHostOptions Fast() {
    InProcessHostOptions o;
    o.backoff.initial = milliseconds(20);
    o.backoff.max = milliseconds(1000);
    return o;
  }
  void SetUp() override {
    hello_ = LoadFixture("cmd_hello.wasm");
    ASSERT_NE(hello_, nullptr);
  }
  DeploymentPlan Hello(RestartPolicy policy, const std::string& exit_code, uint32_t n = 1) {
    auto p = MakePlan(kId, hello_, n);
    p.restart = policy;
    p.env = {{"EXIT_CODE", exit_code}};
    return p;
  }
  ReplicaStatus R0() { return host_.GetStatus(kId)->replicas.at(0); }
  size_t Count(const std::string& text) {
    size_t n = 0;
    for (const auto& l : logs_.Tail(kId, 100000))
      if (l.line.find(text) != std::string::npos) ++n;
    return n;
  }

  LogHub logs_;
  EventBus events_;
  InProcessHost host_;
  std::shared_ptr<const engine::Module> hello_;
};

TEST_F(CommandTest, RunsOnceAndCapturesOutput) {
  ASSERT_TRUE(host_.Apply(Hello(RestartPolicy::kNever, "0", 2), true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(host_, kId, State::kResolved, 2); }));
  auto st = host_.GetStatus(kId);
  EXPECT_TRUE(st->command);
  EXPECT_EQ(st->state, State::kResolved);
  EXPECT_EQ(R0().exit_code, 0);
  EXPECT_EQ(R0().restarts, 0u);
  auto lines = logs_.Tail(std::string(kId) + "#1", 10);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].line, "hello from cmd argc=1");  // argv = [module name]
  EXPECT_EQ(lines[0].stream, LogStream::kStdout);
  EXPECT_EQ(lines[1].line, "to stderr, no newline");  // partial line flushed at exit
  EXPECT_EQ(lines[1].stream, LogStream::kStderr);
  EXPECT_EQ(lines[2].line, "exited with code 0");
  EXPECT_EQ(lines[2].stream, LogStream::kPlatform);
}

TEST_F(CommandTest, NeverPolicyFailsOnNonZeroExit) {
  ASSERT_TRUE(host_.Apply(Hello(RestartPolicy::kNever, "3"), true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(host_, kId, State::kFailed, 1); }));
  EXPECT_EQ(R0().exit_code, 3);
  EXPECT_EQ(host_.GetStatus(kId)->state, State::kFailed);
  // Applying again retries failed replicas.
  ASSERT_TRUE(host_.Apply(Hello(RestartPolicy::kNever, "3"), true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(host_, kId, State::kFailed, 1); }));
  EXPECT_EQ(Count("hello from cmd"), 2u);
}

TEST_F(CommandTest, OnFailureRestartsWithDoublingBackoff) {
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(host_.Apply(Hello(RestartPolicy::kOnFailure, "1"), true).ok());
  // Delays 20, 40, 80, 160, 320 ms: restarts at ~20, 60, 140, 300, 620 ms.
  ASSERT_TRUE(WaitFor([&] { return R0().restarts >= 4; }, milliseconds(10'000)));
  auto r = R0();
  double ms = MsSince(t0);
  EXPECT_GE(ms, 20 + 40 + 80);  // at least the first three delays, doubling
  EXPECT_LE(r.restarts, 6u);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_GE(Count("hello from cmd"), r.restarts);
  EXPECT_EQ(Count("restarting in 20 ms"), 1u);
  EXPECT_EQ(Count("restarting in 40 ms"), 1u);
  EXPECT_EQ(Count("restarting in 80 ms"), 1u);
  printf("[ on-failure: %u restarts in %.0f ms ]\n", r.restarts, ms);
  ASSERT_TRUE(host_.Remove(kId).ok());
}

TEST_F(CommandTest, OnFailureDoesNotRestartSuccess) {
  ASSERT_TRUE(host_.Apply(Hello(RestartPolicy::kOnFailure, "0"), true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(host_, kId, State::kResolved, 1); }));
  // Not a synchronisation: the absence of a restart is what is checked, over
  // five times the first backoff delay (20 ms).
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(R0().restarts, 0u);
  EXPECT_EQ(Count("hello from cmd"), 1u);
}

TEST_F(CommandTest, AlwaysRestartsEvenAfterSuccess) {
  ASSERT_TRUE(host_.Apply(Hello(RestartPolicy::kAlways, "0"), true).ok());
  ASSERT_TRUE(WaitFor([&] { return R0().restarts >= 3; }, milliseconds(3000)));
  EXPECT_EQ(R0().exit_code, 0);
}

TEST_F(CommandTest, TrapCountsAsFailure) {
  auto p = Hello(RestartPolicy::kNever, "0");
  p.env.push_back({"TRAP", "1"});
  ASSERT_TRUE(host_.Apply(p, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(host_, kId, State::kFailed, 1); }));
  EXPECT_NE(R0().last_error.find("unreachable"), std::string::npos) << R0().last_error;
  EXPECT_FALSE(R0().exit_code.has_value());
}

TEST_F(CommandTest, FuelLimitsARun) {
  auto loop = LoadFixture("cmd_loop.wasm");
  auto p = MakePlan(kId, loop, 1);
  p.fuel = 2'000'000;
  p.restart = RestartPolicy::kNever;
  ASSERT_TRUE(host_.Apply(p, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(host_, kId, State::kFailed, 1); }));
  EXPECT_NE(R0().last_error.find("out of fuel"), std::string::npos) << R0().last_error;
}

class HealthyResetTest : public CommandTest {
 protected:
  static InProcessHostOptions Reset() {
    auto o = Fast();
    o.backoff.initial = milliseconds(40);
    o.backoff.healthy_after = milliseconds(0);  // every run counts as healthy
    return o;
  }
  HealthyResetTest() : CommandTest(Reset()) {}
};

TEST_F(HealthyResetTest, HealthyRunsResetTheBackoff) {
  ASSERT_TRUE(host_.Apply(Hello(RestartPolicy::kOnFailure, "1"), true).ok());
  // ~40 ms apart, not doubling (doubling would log "restarting in 80 ms").
  ASSERT_TRUE(WaitFor([&] { return R0().restarts >= 6; }, milliseconds(10'000)));
  EXPECT_EQ(Count("restarting in 80 ms"), 0u);
}

// `lines`: how many log lines each replica prints before the stop.
void StopsQuickly(CommandTest* t, InProcessHost& host, LogHub& logs,
                  std::shared_ptr<const engine::Module> loop, const char* mode, size_t lines = 1) {
  auto p = MakePlan(kId, loop, 2);
  p.env = {{"MODE", mode}};
  ASSERT_TRUE(host.Apply(p, true).ok());
  ASSERT_TRUE(WaitFor([&] { return AllInState(host, kId, State::kActive, 2); }));
  for (const char* r : {"#0", "#1"})
    ASSERT_TRUE(WaitFor([&] { return logs.Tail(std::string(kId) + r, 10).size() >= lines; }));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(host.Apply(p, false).ok());
  double ms = MsSince(t0);
  EXPECT_LT(ms, 1000) << mode;
  printf("[ stop 2 endless commands (%s): %.2f ms ]\n", mode, ms);
  EXPECT_TRUE(AllInState(host, kId, State::kResolved, 2));
  EXPECT_EQ(host.GetStatus(kId)->replicas[0].restarts, 0u);  // a stop is not a failure
}

TEST_F(CommandTest, EndlessSpinIsStoppedQuickly) {
  StopsQuickly(this, host_, logs_, LoadFixture("cmd_loop.wasm"), "spin");
}

TEST_F(CommandTest, EndlessSleeperIsStoppedQuicklyAndStreamsLogs) {
  std::atomic<int> ticks{0};
  uint64_t tok = logs_.Subscribe(kId, [&](const LogLine& l) {
    if (l.line.rfind("tick ", 0) == 0) ticks++;
  });
  // "loop starting" then two ticks from each replica before the stop.
  StopsQuickly(this, host_, logs_, LoadFixture("cmd_loop.wasm"), "sleep", 3);
  logs_.Unsubscribe(tok);
  EXPECT_GE(ticks.load(), 4);  // two replicas, two ticks each
  EXPECT_GE(Count("tick "), static_cast<size_t>(ticks.load()));
}

TEST_F(CommandTest, ShutdownStopsEverything) {
  auto loop = LoadFixture("cmd_loop.wasm");
  ASSERT_TRUE(host_.Apply(MakePlan(kId, loop, 3), true).ok());
  ASSERT_TRUE(host_.Apply(Hello(RestartPolicy::kAlways, "1"), true).ok() == true);
  ASSERT_TRUE(WaitFor([&] { return host_.GetStatus(kId)->replicas.size() == 1; }));
  host_.Shutdown();
  EXPECT_TRUE(host_.Deployments().empty());
  EXPECT_EQ(host_.Apply(Hello(RestartPolicy::kNever, "0"), true).code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace arcella::platform
