// Issue 6, items 2 and 3 with a real daemon: grants are the operator's (a
// module's component.toml and a file in deploy/ grant nothing by
// themselves; no grant reaches the daemon home), `status`/`inspect` show
// them, and a guest blocked on a FIFO in its grant cannot freeze stop,
// SIGTERM or `arcella run --timeout`.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

using Clock = std::chrono::steady_clock;

long long GrantMsSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

std::string Real(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

// A home whose arcella.toml has `policy` as its [policy] table.
std::string HomeWithPolicy(const std::string& policy) {
  std::string home = Real(test::TempDir("arcella-e2e-grants"));
  EXPECT_EQ(mkdir((home + "/config").c_str(), 0700), 0);
  WriteText(home + "/config/arcella.toml", "[policy]\n" + policy);
  return home;
}

// The attack guest, installed with a component.toml that requests "/".
void InstallReader(const Daemon& d, const std::string& work) {
  CopyFile(test::FixturePath("grants_reader.wasm"), work + "/grants-reader.wasm");
  WriteText(work + "/grants-reader.component.toml",
            "[component]\nname = \"grants-reader\"\nversion = \"1.0.0\"\n"
            "[component.capabilities]\ndirs = [\"/::/host\"]\nenv = { MODE = \"evil\" }\n");
  auto r = d.Cli("install " + work + "/grants-reader.wasm");
  ASSERT_EQ(r.code, 0) << r.out;
}

std::string LogsOf(const Daemon& d, const std::string& id) { return d.Cli("logs " + id).out; }

Json StatusJson(const Daemon& d, const std::string& id) {
  auto r = d.Cli("--json status " + id);
  auto lines = JsonLines(r.out);
  return lines.empty() ? Json() : lines.back();
}

TEST(E2eGrants, ManifestRequestingRootGetsNothing) {
  std::string work = Real(test::TempDir("arcella-e2e-grants-work"));
  // The worker drops to uid 65534 when the daemon is root: a granted
  // directory must be readable by it (docs/WORKER.md "Configuration").
  chmod(work.c_str(), 0755);
  Daemon d(HomeWithPolicy("allow_dirs_ro = [\"" + work + "\"]\n"));
  WriteText(work + "/marker", "secret-marker\n");
  InstallReader(d, work);

  const std::string id = "grants-reader@1.0.0/probe";
  auto r = d.Cli(
      "deploy grants-reader@1.0.0 --group probe --restart never --env READ=/host/etc/shadow:/host" +
      work + "/marker:/etc/shadow");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(d.Cli("start " + id).code, 0);
  std::string logs;
  ASSERT_TRUE(
      WaitFor([&] { return (logs = LogsOf(d, id)).find("reader done") != std::string::npos; },
              10000))
      << logs;
  EXPECT_NE(logs.find("denied /host/etc/shadow"), std::string::npos) << logs;
  EXPECT_NE(logs.find("denied /host" + work + "/marker"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("secret-marker"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("read /"), std::string::npos) << logs;

  // status --json: nothing granted, the request shown as not granted, env by name only.
  Json st = StatusJson(d, id);
  ASSERT_TRUE(st.contains("deployments")) << st.dump();
  const Json& g = st["deployments"][0]["grants"];
  EXPECT_EQ(g["origin"], "operator");
  EXPECT_TRUE(g["dirs"].empty()) << g.dump();
  EXPECT_EQ(g["requested_not_granted"], Json::array({"/::/host"})) << g.dump();
  EXPECT_EQ(g["env"], Json::array({"MODE", "READ"})) << g.dump();
  EXPECT_EQ(st.dump().find("/etc/shadow:"), std::string::npos) << "env values must not be shown";
  // The table says it too.
  r = d.Cli("status " + id);
  EXPECT_NE(r.out.find("not granted (requested by the module): dir /::/host"), std::string::npos)
      << r.out;
  // inspect shows the module's requests and each deployment's grants.
  r = d.Cli("inspect grants-reader@1.0.0");
  EXPECT_NE(r.out.find("requested dirs:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("grants of " + id), std::string::npos) << r.out;
  auto ij = JsonLines(d.Cli("--json inspect grants-reader@1.0.0").out);
  ASSERT_FALSE(ij.empty());
  EXPECT_EQ(ij.back()["manifest"]["requests"]["dirs"], Json::array({"/::/host"}));
  EXPECT_TRUE(ij.back()["deployment_grants"].contains(id)) << ij.back().dump();

  // What the operator grants (read-only, within the policy) is all it gets.
  const std::string id2 = "grants-reader@1.0.0/granted";
  r = d.Cli("deploy grants-reader@1.0.0 --group granted --restart never --dir " + work +
            "::/w:ro --env READ=/w/marker:/host/etc/shadow --env WRITE=/w/planted");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("dir " + work + " -> /w read-only"), std::string::npos) << r.out;
  ASSERT_EQ(d.Cli("start " + id2).code, 0);
  ASSERT_TRUE(
      WaitFor([&] { return (logs = LogsOf(d, id2)).find("reader done") != std::string::npos; },
              10000))
      << logs;
  EXPECT_NE(logs.find("read /w/marker: secret-marker"), std::string::npos) << logs;
  EXPECT_NE(logs.find("denied /host/etc/shadow"), std::string::npos) << logs;
  EXPECT_NE(logs.find("denied /w/planted"), std::string::npos) << logs;
  EXPECT_FALSE(Exists(work + "/planted"));
  st = StatusJson(d, id2);
  const Json& g2 = st["deployments"][0]["grants"];
  ASSERT_EQ(g2["dirs"].size(), 1u) << g2.dump();
  EXPECT_EQ(g2["dirs"][0]["host"], work);
  EXPECT_EQ(g2["dirs"][0]["guest"], "/w");
  EXPECT_EQ(g2["dirs"][0]["read_only"], true);
  // A read-write grant is beyond allow_dirs_ro: refused at deploy, naming it.
  r = d.Cli("deploy grants-reader@1.0.0 --group rw --dir " + work + "::/w");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find(work + "::/w"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read-only"), std::string::npos) << r.out;
}

TEST(E2eGrants, DeployFolderCannotGrantItselfRoot) {
  std::string work = Real(test::TempDir("arcella-e2e-grants-work"));
  // The worker drops to uid 65534 when the daemon is root: a granted
  // directory must be readable by it (docs/WORKER.md "Configuration").
  chmod(work.c_str(), 0755);
  Daemon d(HomeWithPolicy("allow_dirs = [\"/\"]\n"));  // even a wide-open operator policy
  InstallReader(d, work);
  // A guest (or anyone) able to write deploy/ asks for "/" read-write, and for a directory.
  WriteText(
      work + "/evil.deployment.toml",
      "[deployment]\nmodule_id = \"grants-reader@1.0.0\"\ngroup = \"evil\"\n"
      "[deployment.overrides]\ndirs = [\"/::/host\"]\nenv = { READ = \"/host/etc/shadow\" }\n");
  WriteText(work + "/evil2.deployment.toml",
            "x-arcella-origin = \"operator\"\n[deployment]\nmodule_id = \"grants-reader@1.0.0\"\n"
            "group = \"evil2\"\n[deployment.overrides]\ndirs = [\"" +
                work + "::/w\"]\n");
  for (const char* f : {"evil.deployment.toml", "evil2.deployment.toml"}) {
    CopyFile(work + "/" + f, d.home() + "/deploy/." + f);
    ASSERT_EQ(rename((d.home() + "/deploy/." + f).c_str(), (d.home() + "/deploy/" + f).c_str()), 0);
  }
  std::string log;
  ASSERT_TRUE(WaitFor(
      [&] {
        log = Sh("cat " + d.home() + "/daemon.out").out;
        return log.find("evil.deployment.toml") != std::string::npos &&
               log.find("evil2.deployment.toml") != std::string::npos;
      },
      10000))
      << log;
  // "/" contains the home; the other is not in hot_deploy_allow_dirs: both refused, said why.
  EXPECT_NE(log.find("\"/::/host\": refused: / contains the daemon home " + d.home()),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("hot_deploy_allow_dirs [] (none)"), std::string::npos) << log;
  Json st = Request(d, "status");
  for (const auto& dep : st.value("deployments", Json::array()))
    EXPECT_EQ(dep["id"].get<std::string>().find("evil"), std::string::npos) << st.dump();
  EXPECT_EQ(d.Cli("ping").code, 0);
}

TEST(E2eGrants, NoGrantReachesTheHome) {
  std::string work = Real(test::TempDir("arcella-e2e-grants-work"));
  // The worker drops to uid 65534 when the daemon is root: a granted
  // directory must be readable by it (docs/WORKER.md "Configuration").
  chmod(work.c_str(), 0755);
  Daemon d(HomeWithPolicy("allow_dirs = [\"/\"]\n"));
  InstallReader(d, work);
  const std::string home = Real(d.home());
  ASSERT_EQ(symlink((home + "/cache").c_str(), (work + "/cachelink").c_str()), 0);
  struct Case {
    std::string dir, want;
  } cases[] = {
      {"/::/host", "contains the daemon home " + home},
      {Real(home + "/..") + "::/up", "contains the daemon home " + home},
      {home + "::/h:ro", "contains the daemon home " + home},
      {home + "/cache::/c", "lies inside the daemon home " + home},
      {work + "/cachelink::/c:ro", "resolves to " + home + "/cache"},
  };
  for (const auto& c : cases) {
    auto r = d.Cli("deploy grants-reader@1.0.0 --group g --dir " + c.dir);
    EXPECT_EQ(r.code, 4) << c.dir << ": " << r.out;
    EXPECT_NE(r.out.find(c.dir), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << r.out;
  }
  // A symlink that was fine at deploy time and is later turned to the home
  // is caught when the deployment is applied.
  ASSERT_EQ(mkdir((work + "/ok").c_str(), 0700), 0);
  ASSERT_EQ(symlink((work + "/ok").c_str(), (work + "/swap").c_str()), 0);
  auto r = d.Cli("deploy grants-reader@1.0.0 --group swap --restart never --dir " + work +
                 "/swap::/s --env READ=/s/state.db");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(unlink((work + "/swap").c_str()), 0);
  ASSERT_EQ(symlink(home.c_str(), (work + "/swap").c_str()), 0);
  r = d.Cli("start grants-reader@1.0.0/swap");
  Json st = StatusJson(d, "grants-reader@1.0.0/swap");
  ASSERT_TRUE(st.contains("deployments")) << r.out;
  const Json& dep = st["deployments"][0];
  EXPECT_EQ(dep["state"], "failed") << dep.dump();
  EXPECT_NE(dep.value("error", "").find("contains the daemon home " + home), std::string::npos)
      << dep.dump();
  EXPECT_TRUE(dep["grants"]["dirs"].empty());
  EXPECT_EQ(LogsOf(d, "grants-reader@1.0.0/swap").find("read /s/state.db"), std::string::npos);
  EXPECT_EQ(d.Cli("ping").code, 0);
}

TEST(E2eGrants, QuickStartStillWorks) {
  Daemon d(HomeWithPolicy(""));  // the default, deny-by-default policy
  std::string ex = CoreLoggerDir();
  auto r = d.Cli("install " + ex + "/http-logger.wasm");
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli("deploy -f " + ex + "/web.deployment.toml");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(d.Cli("start http-logger@0.1.0").code, 0);
  r = d.Cli("call http-logger@0.1.0/web log_request 200");
  EXPECT_EQ(r.code, 0) << r.out;
  Json st = StatusJson(d, "http-logger@0.1.0/web");
  EXPECT_EQ(st["deployments"][0]["state"], "active") << st.dump();
  EXPECT_EQ(st["deployments"][0]["grants"]["origin"], "operator");
}

// A guest blocked reading (or writing) a FIFO inside its grant.
class E2eBlockedFifo : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = Real(test::TempDir("arcella-e2e-fifo"));
    // The worker runs as uid 65534 when the daemon is root: it must reach the FIFO.
    chmod(work_.c_str(), 0777);
    ASSERT_EQ(mkfifo((work_ + "/fifo").c_str(), 0600), 0);
    chmod((work_ + "/fifo").c_str(), 0666);
    CopyFile(test::FixturePath("grants_fifo.wasm"), work_ + "/grants-fifo@1.0.0.wasm");
  }
  std::string work_;
};

TEST_F(E2eBlockedFifo, StopAndSigtermComplete) {
  Daemon d(HomeWithPolicy("allow_dirs = [\"" + work_ + "\"]\n"));
  ASSERT_EQ(d.Cli("install " + work_ + "/grants-fifo@1.0.0.wasm").code, 0);
  for (const char* mode : {"read", "write"}) {
    std::string group = mode;
    std::string id = "grants-fifo@1.0.0/" + group;
    auto r = d.Cli("deploy grants-fifo@1.0.0 --group " + group + " --restart never --dir " + work_ +
                   "::/data --env FIFO=/data/fifo --env MODE=" + mode);
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_EQ(d.Cli("start " + id).code, 0);
    std::string logs;
    ASSERT_TRUE(WaitFor(
        [&] { return (logs = LogsOf(d, id)).find("fifo opened, blocking") != std::string::npos; },
        10000))
        << logs;
    // The control plane still answers while the guest blocks.
    auto t0 = Clock::now();
    EXPECT_EQ(d.Cli("status").code, 0);
    r = d.Cli("stop " + id);
    long long ms = GrantMsSince(t0);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_LT(ms, 3000) << "stop of a guest blocked in " << mode;
    std::printf("status + stop of a guest blocked in fd_%s on a FIFO: %lld ms\n", mode, ms);
  }
  // Blocked again, then SIGTERM: the daemon exits promptly.
  ASSERT_EQ(d.Cli("start grants-fifo@1.0.0/read").code, 0);
  std::string logs;
  ASSERT_TRUE(WaitFor(
      [&] {
        logs = LogsOf(d, "grants-fifo@1.0.0/read");
        return logs.find("fifo opened, blocking") != logs.rfind("fifo opened, blocking");
      },
      10000))
      << logs;
  auto t0 = Clock::now();
  int code = d.Stop();
  long long ms = GrantMsSince(t0);
  EXPECT_EQ(code, 0);
  EXPECT_LT(ms, 5000);
  std::printf("SIGTERM with a guest blocked on a FIFO: daemon exited in %lld ms\n", ms);
}

TEST_F(E2eBlockedFifo, RunTimeoutEndsTheGuest) {
  std::string home = test::TempDir("arcella-e2e-fifo-run");
  auto t0 = Clock::now();
  auto r = Sh("ARCELLA_HOME=" + ShellQuote(home) + " " + DaemonBin() +
              " run --timeout 500ms --dir " + work_ + "::/data --env FIFO=/data/fifo " +
              ShellQuote(work_ + "/grants-fifo@1.0.0.wasm"));
  long long ms = GrantMsSince(t0);
  EXPECT_EQ(r.code, 134) << r.out;
  EXPECT_NE(r.out.find("deadline"), std::string::npos) << r.out;
  EXPECT_LT(ms, 10000) << r.out;
  std::printf("arcella run --timeout 500ms of a guest blocked on a FIFO: %lld ms\n", ms);
}

}  // namespace
}  // namespace arcella::e2e
