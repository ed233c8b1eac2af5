// Issue 6, platform core (units): a replica that cannot get a thread fails
// alone; the apply journal counts daemon deaths; log rings are bounded in
// bytes; the budget keys parse.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "platform/config.h"
#include "platform/inprocess_host.h"
#include "platform/log_hub.h"
#include "platform/runtime_test_util.h"
#include "platform/state_store.h"

namespace arcella::platform {
namespace {

using testing::LoadFixture;
using testing::MakePlan;

// Bytes of address space this process has mapped (VmSize).
uint64_t VmSizeBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
  return 0;
}

// With no address space left for a thread stack, std::thread throws
// std::system_error (pthread_create: EAGAIN). The command replica is
// `failed` with the reason; the process lives on. (Root ignores
// RLIMIT_NPROC, not RLIMIT_AS.) Runs in a child: the limit is process-wide.
// Sets RLIMIT_AS to what is mapped now plus 1 MiB: no room for a thread stack.
bool SqueezeAddressSpace(bool on) {
  rlimit rl{};
  rl.rlim_cur = on ? VmSizeBytes() + (1u << 20) : RLIM_INFINITY;
  rl.rlim_max = RLIM_INFINITY;
  return setrlimit(RLIMIT_AS, &rl) == 0;
}

int CommandWithoutThreads(std::shared_ptr<const engine::Module> mod) {
  InProcessHost host(testing::TestLoader(), nullptr, nullptr);
  DeploymentPlan plan = MakePlan("cmd@1.0.0/g", mod, 2);
  plan.restart = RestartPolicy::kNever;
  if (!SqueezeAddressSpace(true)) return 10;
  Status st = host.Apply(plan, true);
  SqueezeAddressSpace(false);
  if (!st.ok()) return 11;
  auto s = host.GetStatus("cmd@1.0.0/g");
  if (!s.ok() || s->replicas.size() != 2) return 12;
  for (const auto& r : s->replicas) {
    if (r.state != State::kFailed) return 13;
    if (r.last_error.find("cannot create a thread for the replica") == std::string::npos) return 14;
  }
  if (s->state != State::kFailed) return 15;
  return 0;
}

TEST(PlatCoreThreads, ACommandReplicaWithoutAThreadFailsAlone) {
  // A fresh process: glibc reuses cached stacks of earlier threads.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto mod = LoadFixture("platcore_cmd.wasm", engine::Metering::kInterrupt);
  ASSERT_TRUE(mod);
  EXPECT_EXIT(_exit(CommandWithoutThreads(mod)), ::testing::ExitedWithCode(0), "");
}

// The same for a reactor: its initialisation needs a lane thread.
int ReactorWithoutThreads(std::shared_ptr<const engine::Module> mod) {
  InProcessHost host(testing::TestLoader(), nullptr, nullptr);
  DeploymentPlan plan = MakePlan("fast@1.0.0/g", mod, 1);
  if (!SqueezeAddressSpace(true)) return 10;
  Status st = host.Apply(plan, true);
  SqueezeAddressSpace(false);
  if (!st.ok()) return 11;
  auto s = host.GetStatus("fast@1.0.0/g");
  if (!s.ok() || s->replicas.size() != 1) return 12;
  if (s->replicas[0].state != State::kFailed) return 13;
  if (s->replicas[0].last_error.find("cannot create a thread") == std::string::npos) return 14;
  // With threads available again, a new apply retries the failed replica.
  if (!host.Apply(plan, true).ok()) return 15;
  if (!testing::WaitFor(
          [&] { return testing::AllInState(host, "fast@1.0.0/g", State::kActive, 1); }))
    return 16;
  return 0;
}

TEST(PlatCoreThreads, AReactorReplicaWithoutAThreadFailsAlone) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto mod = LoadFixture("platcore_fast.wasm", engine::Metering::kInterrupt);
  ASSERT_TRUE(mod);
  EXPECT_EXIT(_exit(ReactorWithoutThreads(mod)), ::testing::ExitedWithCode(0), "");
}

TEST(PlatCoreJournal, CountsDeathsWhileApplyingUntilTheDeploymentSettles) {
  std::string db = test::TempDir("platcore-journal") + "/state.db";
  {
    auto s = StateStore::Open(db);
    ASSERT_TRUE(s.ok());
    EXPECT_GE(*(*s)->SchemaVersion(), 2);  // the journal came with v2
    EXPECT_TRUE((*s)->CountCrashedApplies()->empty());
    ASSERT_TRUE((*s)->BeginApply("m@1.0.0/bad").ok());
    ASSERT_TRUE((*s)->BeginApply("m@1.0.0/good").ok());
    ASSERT_TRUE((*s)->EndApply("m@1.0.0/good").ok());
  }  // "dies" with bad being applied
  {
    auto s = StateStore::Open(db);
    auto c = (*s)->CountCrashedApplies();
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(*c, (std::map<std::string, uint32_t>{{"m@1.0.0/bad", 1}}));
    ASSERT_TRUE((*s)->BeginApply("m@1.0.0/bad").ok());
  }  // dies again
  {
    auto s = StateStore::Open(db);
    auto c = (*s)->CountCrashedApplies();
    EXPECT_EQ(*c, (std::map<std::string, uint32_t>{{"m@1.0.0/bad", 2}}));
    // A start that never ran it again does not count.
    EXPECT_EQ(*(*s)->CountCrashedApplies(), (std::map<std::string, uint32_t>{{"m@1.0.0/bad", 2}}));
    ASSERT_TRUE((*s)->EndApply("m@1.0.0/bad").ok());  // settled: forgotten
    EXPECT_TRUE((*s)->CountCrashedApplies()->empty());
  }
}

TEST(PlatCoreLogs, RingsAreBoundedInBytesAndLines) {
  LogHubOptions o;
  o.ring_bytes = 64 * 1024;
  o.max_line_bytes = 4096;
  LogHub hub("", o);
  std::string big(1 << 20, 'x');  // 1 MiB without a newline
  for (int i = 0; i < 50; ++i) hub.Write("m@1.0.0/g", 0, LogStream::kStdout, big);
  hub.Write("m@1.0.0/g", 0, LogStream::kStdout, "\nlast\n");
  auto lines = hub.Tail("m@1.0.0/g", 100000);
  size_t bytes = 0;
  for (const auto& l : lines) {
    EXPECT_LE(l.line.size(), o.max_line_bytes);
    bytes += l.line.size();
  }
  EXPECT_LE(bytes, o.ring_bytes + o.max_line_bytes);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().line, "last");
}

TEST(PlatCoreConfig, BudgetKeysParseAndAreBounded) {
  auto c = ApplyConfigText(Config(),
                           "[limits]\ntotal_guest_memory = \"8GiB\"\ntotal_replicas = 100\n"
                           "total_threads = 16\n[logs]\nring_bytes = \"128KiB\"\n",
                           "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->limits.total_guest_memory, 8ull << 30);
  EXPECT_EQ(c->limits.total_replicas, 100u);
  EXPECT_EQ(c->limits.total_threads, 16u);
  EXPECT_EQ(c->logs.ring_bytes, 128u << 10);
  auto bad = ApplyConfigText(Config(), "[limits]\ntotal_replicas = 20000\n", "t.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("limits.total_replicas"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(DefaultConfigText().find("total_guest_memory"), std::string::npos);
}

}  // namespace
}  // namespace arcella::platform
