// Resources across links (issue 10, docs/COMPONENTS.md "Resources across
// links"): a provider's resource crosses a link as a handle the provider
// keeps. Calls on it reach the replica instance that made it (never another
// of the provider's replicas), drops reach the provider's destructor, and
// what an importer still holds when its instance ends is dropped too; in
// every combination of isolation. Real daemon, real workers, real C
// components (tests/fixtures/components/counters_*.c).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
// Named, not anonymous: the unity build puts this file beside others with
// helpers of the same names.
namespace link_resources {

const char kCounters[] = "arcella:fixtures/counters@0.1.0";

// The provider's log has a destructor line for a counter dropped at `value`.
bool Dropped(const Daemon& d, const std::string& provider, uint32_t value) {
  return d.Cli("logs " + provider).out.find(" dropped at " + std::to_string(value) + "\n") !=
         std::string::npos;
}

// The importer's deployment id (its group comes from the flags DeployBoth got).
std::string user_id = "user@0.1.0/u";

// Installs both, deploys the provider (in a worker 3 replicas, so a call
// that is not pinned to the handle's replica would reach one without that
// counter; isolation "main" allows one) and the importer linked to it;
// starts both.
void DeployBoth(Daemon& d, const std::string& provider_flags, const std::string& user_flags) {
  const int replicas = provider_flags.find("main") == std::string::npos ? 3 : 1;
  size_t g = user_flags.find("--group ") + 8;
  user_id = "user@0.1.0/" + user_flags.substr(g, user_flags.find(' ', g) - g);
  ASSERT_EQ(
      d.Cli("install " + ShellQuote(StageComponent("counters_provider", "prov@0.1.0.wasm"))).code,
      0);
  ASSERT_EQ(d.Cli("install " + ShellQuote(StageComponent("counters_user", "user@0.1.0.wasm"))).code,
            0);
  auto r = d.Cli("deploy prov@0.1.0 --replicas " + std::to_string(replicas) + " " + provider_flags);
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli("deploy user@0.1.0 " + user_flags + " --link " + kCounters + "=prov@0.1.0/p");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(d.Cli("start prov@0.1.0/p").code, 0);
  ASSERT_EQ(d.Cli("start " + user_id).code, 0);
  ASSERT_TRUE(
      WaitFor([&] { return ReadyAtLeast(d, "prov@0.1.0/p", replicas) && ReadyAtLeast(d, user_id); },
              20'000))
      << DeploymentEntry(d, "prov@0.1.0/p").dump() << DeploymentEntry(d, user_id).dump();
}

std::string Call(const Daemon& d, const std::string& fn, const std::string& args) {
  auto r = d.Cli("call " + user_id + " " + fn + " " + args);
  return r.code == 0 ? r.out : "error " + std::to_string(r.code) + ": " + r.out;
}

struct Combo {
  const char* name;
  const char* provider_flags;
  const char* user_flags;
};

class LinkResources : public ::testing::TestWithParam<Combo> {};

TEST_P(LinkResources, HandlesStayWithTheirReplicaAndEveryDropReachesTheProvider) {
  Daemon d;
  DeployBoth(d, GetParam().provider_flags, GetParam().user_flags);
  if (HasFatalFailure()) return;

  // A counter made through the link and kept by the importer between calls:
  // each bump reaches the replica that made it (three provider replicas,
  // calls otherwise round robin).
  EXPECT_EQ(Call(d, "keep", "0 100"), "100\n");
  for (uint32_t i = 1; i <= 6; ++i)
    EXPECT_EQ(Call(d, "bump", "0 5"), std::to_string(100 + 5 * i) + "\n");
  // A second one beside it.
  EXPECT_EQ(Call(d, "keep", "1 7"), "7\n");
  EXPECT_EQ(Call(d, "bump", "1 1"), "8\n");
  EXPECT_EQ(Call(d, "bump", "0 1"), "131\n");

  // Made, used and dropped within one call: the drop runs the provider's destructor.
  EXPECT_EQ(Call(d, "once", "10 5"), "15\n");
  EXPECT_TRUE(WaitFor([&] { return Dropped(d, "prov@0.1.0/p", 15); }, 5'000))
      << d.Cli("logs prov@0.1.0/p").out;
  // A drop between calls.
  EXPECT_EQ(Call(d, "release", "0"), "");
  EXPECT_TRUE(WaitFor([&] { return Dropped(d, "prov@0.1.0/p", 131); }, 5'000))
      << d.Cli("logs prov@0.1.0/p").out;
  // own<counter> given back to the provider: it takes it over (and drops it).
  EXPECT_EQ(Call(d, "hand-over", "1"), "8\n");
  EXPECT_TRUE(WaitFor([&] { return Dropped(d, "prov@0.1.0/p", 8); }, 5'000))
      << d.Cli("logs prov@0.1.0/p").out;
  // A handle the importer gave away or dropped is gone for it: its guest traps.
  auto r = d.Cli("call " + user_id + " bump 1 1");
  EXPECT_NE(r.code, 0) << r.out;

  // What the importer still holds when its instance ends is dropped at the provider.
  EXPECT_EQ(Call(d, "keep", "2 42"), "42\n");
  EXPECT_FALSE(Dropped(d, "prov@0.1.0/p", 42));
  ASSERT_EQ(d.Cli("stop " + user_id).code, 0);
  EXPECT_TRUE(WaitFor([&] { return Dropped(d, "prov@0.1.0/p", 42); }, 10'000))
      << d.Cli("logs prov@0.1.0/p").out;
  // Every counter is gone from the provider's replicas (round robin over all).
  uint32_t live = 0;
  for (int i = 0; i < 3; ++i) {
    auto out = d.Cli("call prov@0.1.0/p live");
    ASSERT_EQ(out.code, 0) << out.out;
    live += static_cast<uint32_t>(std::stoul(out.out));
  }
  EXPECT_EQ(live, 0u);
  EXPECT_EQ(d.Cli("logs prov@0.1.0/p").out.find("trap"), std::string::npos)
      << d.Cli("logs prov@0.1.0/p").out;
}

INSTANTIATE_TEST_SUITE_P(
    EveryIsolation, LinkResources,
    ::testing::Values(Combo{"InTheDaemon", "--group p --isolation main",
                            "--group u --isolation main"},
                      Combo{"DaemonToWorker", "--group p", "--group u --isolation main"},
                      Combo{"WorkerToDaemon", "--group p --isolation main", "--group u"},
                      Combo{"WorkerToWorker", "--group p", "--group u"},
                      // Importer and provider in one worker: handle-passing
                      // calls go through the daemon, which keeps the handles.
                      Combo{"OneWorker", "--group p", "--group p --replicas 1"}),
    [](const ::testing::TestParamInfo<Combo>& i) { return std::string(i.param.name); });

// The provider's worker is killed while the importer holds a counter: calls
// on it fail cleanly (the counter is gone with its instance), the importer
// keeps serving, and a new counter works once the provider is back.
TEST(LinkResourcesWorker, AHandleWhoseProviderWorkerDiedFailsCleanlyThenNewOnesWork) {
  Daemon d;
  DeployBoth(d, "--group p", "--group u");
  if (HasFatalFailure()) return;
  EXPECT_EQ(Call(d, "keep", "0 100"), "100\n");
  EXPECT_EQ(Call(d, "bump", "0 1"), "101\n");
  const int64_t provider = WorkerPidOf(d, "p");
  const int64_t user = WorkerPidOf(d, "u");
  ASSERT_GT(provider, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(provider), SIGKILL), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        int64_t now = WorkerPidOf(d, "p");
        return now > 0 && now != provider && ReadyAtLeast(d, "prov@0.1.0/p", 3);
      },
      20'000))
      << DeploymentEntry(d, "prov@0.1.0/p").dump();
  auto r = d.Cli("call " + user_id + " bump 0 1");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("link to prov@0.1.0/p: unavailable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("resource"), std::string::npos) << r.out;
  // The trap replaced the importer's instance; a fresh counter works.
  EXPECT_EQ(Call(d, "keep", "1 5"), "5\n");
  EXPECT_EQ(Call(d, "bump", "1 2"), "7\n");
  EXPECT_EQ(WorkerPidOf(d, "u"), user) << "the importer's worker is untouched";
}

// A lying worker (tests/worker/fake_worker.cc, mode forge-handles) whose
// deployment is linked to the same provider names handle tokens it was never
// given, in scopes of its own choosing: the daemon keeps every worker's
// scopes apart from every other importer's, so its calls and drops reach no
// handle, while the real importer's counter lives on untouched. The daemon
// runs the fake worker for every group (it execs the real arcella-worker for
// groups not named hostile-*).
TEST(LinkResourcesHostile, AWorkerForgingHandleTokensReachesNoOtherImportersHandles) {
  const std::string home = test::TempDir("arcella-e2e");
  std::filesystem::create_directories(home + "/config");
  {
    std::ofstream cfg(home + "/config/arcella.toml");
    cfg << "[worker]\npath = \"" << ARCELLA_FAKE_WORKER_PATH << "\"\n";
  }
  Daemon d(home);
  DeployBoth(d, "--group p --isolation main", "--group u");
  if (HasFatalFailure()) return;
  EXPECT_EQ(Call(d, "keep", "0 100"), "100\n");
  const std::string forger = "user@0.1.0/hostile-forge-handles";
  auto r = d.Cli(std::string("deploy user@0.1.0 --group hostile-forge-handles --link ") +
                 kCounters + "=prov@0.1.0/p");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(d.Cli("start " + forger).code, 0);
  auto logs = [&] { return d.Cli("logs " + forger).out; };
  ASSERT_TRUE(WaitFor([&] { return logs().find("link-reply 21: ") != std::string::npos; }, 20'000))
      << logs();
  const std::string out = logs();
  for (int id : {11, 12, 13, 20})
    EXPECT_NE(out.find("link-reply " + std::to_string(id) +
                       ": OK trap: link to prov@0.1.0/p: argument "),
              std::string::npos)
        << id << ": " << out;
  EXPECT_NE(out.find("no resource handle 1 held through links"), std::string::npos) << out;
  // What it may do, it can: the provider's live counters (the real one).
  EXPECT_NE(out.find("link-reply 21: OK value: 1"), std::string::npos) << out;
  // The real importer's counter: still there, still its own.
  EXPECT_EQ(Call(d, "bump", "0 5"), "105\n");
  EXPECT_EQ(Call(d, "live", ""), "1\n");
  EXPECT_FALSE(Dropped(d, "prov@0.1.0/p", 100)) << d.Cli("logs prov@0.1.0/p").out;
  EXPECT_FALSE(Dropped(d, "prov@0.1.0/p", 105)) << d.Cli("logs prov@0.1.0/p").out;
}

}  // namespace link_resources
}  // namespace arcella::e2e
