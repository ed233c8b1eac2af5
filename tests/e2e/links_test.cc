// Links between deployments (issue 10, docs/LINKS.md): an import of one
// component deployment satisfied by another deployment's export,
// type-checked when made, refused when it would dangle. Real daemon, real
// components (tests/fixtures/components: host_import imports
// arcella:fixtures/host, host_provider exports it, host_mistyped exports it
// with a wrong type).
#include <gtest/gtest.h>

#include <fstream>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

const char kHost[] = "arcella:fixtures/host@0.1.0";

// prov@0.1.0/core provides kHost; app@0.1.0 imports it.
void InstallBoth(Daemon& d) {
  ASSERT_EQ(d.Cli("install " + ShellQuote(StageComponent("host_provider", "prov@0.1.0.wasm"))).code,
            0);
  ASSERT_EQ(d.Cli("install " + ShellQuote(StageComponent("host_import", "app@0.1.0.wasm"))).code,
            0);
  ASSERT_EQ(d.Cli("deploy prov@0.1.0 --group core --isolation main").code, 0);
}

TEST(Links, ACallThroughALinkReachesTheProvider) {
  Daemon d;
  InstallBoth(d);
  auto r = d.Cli(std::string("deploy app@0.1.0 --isolation main --link ") + kHost +
                 "=prov@0.1.0/core");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("link arcella:fixtures/host@0.1.0 -> prov@0.1.0/core"), std::string::npos)
      << r.out;
  ASSERT_EQ(d.Cli("start prov@0.1.0").code, 0);
  ASSERT_EQ(d.Cli("start app@0.1.0").code, 0);
  ASSERT_TRUE(WaitFor(
      [&] { return ReadyAtLeast(d, "app@0.1.0/default") && ReadyAtLeast(d, "prov@0.1.0/core"); },
      10'000));
  // run(n) sums 1..n through host.add and logs each step through host.log:
  // both cross the link into the provider, which prints the log lines.
  r = d.Cli("call app@0.1.0 run 5");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "15\n");
  ASSERT_TRUE(WaitFor(
      [&] {
        return d.Cli("logs prov@0.1.0").out.find("provider log: step 5: 15") != std::string::npos;
      },
      5'000))
      << d.Cli("logs prov@0.1.0").out;
  // Status shows the link and its provider's health.
  Json app = DeploymentEntry(d, "app@0.1.0/default");
  ASSERT_EQ(app["links"].size(), 1u) << app.dump();
  EXPECT_EQ(app["links"][0]["import"], kHost);
  EXPECT_EQ(app["links"][0]["provider"], "prov@0.1.0/core");
  EXPECT_EQ(app["links"][0]["state"], "active");
  r = d.Cli("status");
  EXPECT_NE(r.out.find("prov@0.1.0/core  active"), std::string::npos) << r.out;
}

TEST(Links, AMistypedLinkIsRefusedNamingTheFirstMismatch) {
  Daemon d;
  InstallBoth(d);
  ASSERT_EQ(d.Cli("install " + ShellQuote(StageComponent("host_mistyped", "bad@0.1.0.wasm"))).code,
            0);
  ASSERT_EQ(d.Cli("deploy bad@0.1.0 --isolation main").code, 0);
  auto r = d.Cli(std::string("deploy app@0.1.0 --isolation main --link ") + kHost +
                 "=bad@0.1.0/default");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("link arcella:fixtures/host@0.1.0 -> bad@0.1.0/default: function log: "
                       "parameter msg: expected string, found u32"),
            std::string::npos)
      << r.out;
  // A provider that does not export the interface at all.
  ASSERT_EQ(d.Cli("install " + ShellQuote(StageComponent("text_reactor", "text@0.1.0.wasm"))).code,
            0);
  ASSERT_EQ(d.Cli("deploy text@0.1.0 --isolation main").code, 0);
  r = d.Cli(std::string("deploy app@0.1.0 --isolation main --link ") + kHost +
            "=text@0.1.0/default");
  EXPECT_NE(r.out.find("text@0.1.0/default exports no arcella:fixtures/host@0.1.0 (exports: "
                       "arcella:fixtures/text@0.1.0)"),
            std::string::npos)
      << r.out;
  // No link: the import is listed as unresolved; a missing provider is named.
  r = d.Cli("deploy app@0.1.0 --isolation main");
  EXPECT_NE(r.out.find("unresolved imports: arcella:fixtures/host@0.1.0"), std::string::npos)
      << r.out;
  r = d.Cli(std::string("deploy app@0.1.0 --isolation main --link ") + kHost + "=nope@1.0.0/x");
  EXPECT_NE(r.out.find("no deployment nope@1.0.0/x"), std::string::npos) << r.out;
  r = d.Cli("deploy app@0.1.0 --isolation main --link junk");
  EXPECT_NE(r.out.find("expected IMPORT=DEPLOYMENT"), std::string::npos) << r.out;
  EXPECT_EQ(DeploymentEntry(d, "app@0.1.0/default"), Json::object()) << "nothing deployed";
}

TEST(Links, AProviderOthersLinkToIsNotStoppedOrUndeployedWithoutForce) {
  Daemon d;
  InstallBoth(d);
  ASSERT_EQ(d.Cli(std::string("deploy app@0.1.0 --isolation main --link ") + kHost +
                  "=prov@0.1.0/core")
                .code,
            0);
  ASSERT_EQ(d.Cli("start prov@0.1.0").code, 0);
  ASSERT_EQ(d.Cli("start app@0.1.0").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "app@0.1.0/default"); }, 10'000));

  auto r = d.Cli("stop prov@0.1.0");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("cannot stop prov@0.1.0: linked to by app@0.1.0/default "
                       "(arcella:fixtures/host@0.1.0)"),
            std::string::npos)
      << r.out;
  r = d.Cli("undeploy prov@0.1.0/core");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("linked to by app@0.1.0/default"), std::string::npos) << r.out;
  EXPECT_TRUE(ReadyAtLeast(d, "prov@0.1.0/core"));
  EXPECT_EQ(d.Cli("call app@0.1.0 run 3").out, "6\n");

  // --force stops the dependents too (like a Karaf refresh).
  r = d.Cli("stop prov@0.1.0 --force");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(DeploymentEntry(d, "app@0.1.0/default")["desired"], "stopped");
  EXPECT_EQ(DeploymentEntry(d, "app@0.1.0/default")["links"][0]["state"], "stopped");
  // A stopped provider may be undeployed once nothing started links to it?
  // No: a link would dangle; undeploy still needs --force.
  r = d.Cli("undeploy prov@0.1.0");
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(d.Cli("undeploy prov@0.1.0 --force").code, 0);
  EXPECT_EQ(DeploymentEntry(d, "app@0.1.0/default")["links"][0]["state"], "missing");
  // Starting the importer now fails, naming the missing provider.
  d.Cli("start app@0.1.0");
  ASSERT_TRUE(
      WaitFor([&] { return DeploymentEntry(d, "app@0.1.0/default").contains("error"); }, 5'000));
  EXPECT_NE(DeploymentEntry(d, "app@0.1.0/default")["error"].get<std::string>().find(
                "no deployment prov@0.1.0/core"),
            std::string::npos)
      << DeploymentEntry(d, "app@0.1.0/default").dump();
}

TEST(Links, LinkAndUnlinkCommandsAndTheDeploymentFileForm) {
  Daemon d;
  InstallBoth(d);
  // The file form of the issue: [deployment.links].
  std::string dir = test::TempDir("links-file");
  std::ofstream(dir + "/app.deployment.toml")
      << "[deployment]\nmodule_id = \"app@0.1.0\"\ngroup = \"web\"\nreplicas = 1\n\n"
         "[deployment.overrides]\nisolation = \"main\"\n\n"
         "[deployment.links]\n\"arcella:fixtures/host@0.1.0\" = \"prov@0.1.0/core\"   # import -> "
         "provider\n";
  auto r = d.Cli("deploy -f " + ShellQuote(dir + "/app.deployment.toml"));
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(d.Cli("start prov@0.1.0").code, 0);
  ASSERT_EQ(d.Cli("start app@0.1.0").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "app@0.1.0/web"); }, 10'000));
  EXPECT_EQ(d.Cli("call app@0.1.0/web run 4").out, "10\n");

  // unlink: the replicas restart without it and fail, naming the import.
  r = d.Cli(std::string("unlink app@0.1.0/web ") + kHost);
  EXPECT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(
      WaitFor([&] { return DeploymentEntry(d, "app@0.1.0/web").contains("error"); }, 5'000));
  EXPECT_NE(DeploymentEntry(d, "app@0.1.0/web")["error"].get<std::string>().find(
                "unresolved imports: " + std::string(kHost)),
            std::string::npos);
  // link again: serving again.
  r = d.Cli(std::string("link app@0.1.0/web ") + kHost + " prov@0.1.0/core");
  EXPECT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(WaitFor([&] { return d.Cli("call app@0.1.0/web run 2").out == "3\n"; }, 10'000));
  // Refused: a link to itself, to a core module, of an import it lacks.
  r = d.Cli(std::string("link app@0.1.0/web ") + kHost + " app@0.1.0/web");
  EXPECT_NE(r.out.find("cannot link to itself"), std::string::npos) << r.out;
  r = d.Cli("link app@0.1.0/web x:y/z@1.0.0 prov@0.1.0/core");
  EXPECT_NE(r.out.find("the component imports no x:y/z@1.0.0"), std::string::npos) << r.out;
  r = d.Cli("unlink app@0.1.0/web x:y/z@1.0.0");
  EXPECT_NE(r.out.find("has no link for x:y/z@1.0.0"), std::string::npos) << r.out;
}

TEST(Links, TheLinksSurviveADaemonKill) {
  std::string home = test::TempDir("links-restart");
  {
    Daemon d(home);
    InstallBoth(d);
    ASSERT_EQ(d.Cli(std::string("deploy app@0.1.0 --isolation main --link ") + kHost +
                    "=prov@0.1.0/core")
                  .code,
              0);
    ASSERT_EQ(d.Cli("start prov@0.1.0").code, 0);
    ASSERT_EQ(d.Cli("start app@0.1.0").code, 0);
    ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "app@0.1.0/default"); }, 10'000));
    d.Kill9();
  }
  Daemon d(home);
  ASSERT_TRUE(WaitFor([&] { return d.Cli("call app@0.1.0 run 5").out == "15\n"; }, 20'000))
      << d.Cli("status").out;
}

}  // namespace
}  // namespace arcella::e2e
