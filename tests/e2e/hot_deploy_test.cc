// The hot-deploy folder ($ARCELLA_HOME/deploy) with the daemon's default
// configuration: dropping and deleting files installs, deploys, starts,
// undeploys and removes within a few seconds.
#include <cstdio>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

// Deployments as "id state ready/replicas", sorted by id (the daemon's order).
std::string Summary(const Daemon& d) {
  Json st = Request(d, "status");
  std::string s;
  for (const auto& dep : st.value("deployments", Json::array())) {
    int active = 0;
    for (const auto& r : dep["replicas_detail"]) active += r["state"] == "active";
    s += dep["id"].get<std::string>() + " " + dep["state"].get<std::string>() + " " +
         std::to_string(active) + "/" + std::to_string(dep["replicas"].get<int>()) + ";";
  }
  return s;
}

std::string Modules(const Daemon& d) {
  std::string s;
  for (const auto& m : Request(d, "module.list").value("modules", Json::array()))
    s += m["id"].get<std::string>() + ";";
  return s;
}

// Copies into the folder under a hidden name, then renames (as an editor or
// `install` would), so the daemon never sees a half-written file.
void Drop(const std::string& from, const std::string& dir, const std::string& name) {
  CopyFile(from, dir + "/." + name);
  ASSERT_EQ(rename((dir + "/." + name).c_str(), (dir + "/" + name).c_str()), 0);
}

TEST(HotDeploy, DropAndDeleteFiles) {
  Daemon d;
  const std::string dir = d.home() + "/deploy";
  ASSERT_TRUE(Exists(dir));
  std::string work = test::TempDir("arcella-e2e-work");
  constexpr int kFewSeconds = 30000;  // a deadline, not a delay: sanitizer builds compile slowly

  // x.wasm + x.component.toml (the http-logger manifest) -> installed,
  // deployed in group "default" with 1 replica, and started.
  Drop(CoreLoggerDir() + "/http-logger.component.toml", dir, "x.component.toml");
  Drop(CoreLoggerDir() + "/http-logger.wasm", dir, "x.wasm");
  auto t0 = std::chrono::steady_clock::now();
  std::string s;
  EXPECT_TRUE(WaitFor([&] { return (s = Summary(d)) == "http-logger@0.1.0/default active 1/1;"; },
                      kFewSeconds))
      << s << "\n"
      << Sh("tail -20 " + d.home() + "/daemon.out").out;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  t0)
                .count();
  std::printf("x.wasm installed, deployed and started in %lld ms\n", (long long)ms);
  EXPECT_EQ(Modules(d), "http-logger@0.1.0;");
  auto c = d.Cli("call http-logger@0.1.0 log_request 200");
  EXPECT_EQ(c.code, 0) << c.out;

  // y.deployment.toml -> deployed and started (it takes over from the
  // implicit default deployment of the same module).
  WriteText(work + "/y.deployment.toml",
            "[deployment]\nmodule_id = \"http-logger@0.1.0\"\ngroup = \"hot\"\nreplicas = 3\n");
  Drop(work + "/y.deployment.toml", dir, "y.deployment.toml");
  EXPECT_TRUE(
      WaitFor([&] { return (s = Summary(d)) == "http-logger@0.1.0/hot active 3/3;"; }, kFewSeconds))
      << s << "\n"
      << Sh("tail -20 " + d.home() + "/daemon.out").out;

  // A broken deployment file is logged and ignored; the daemon keeps going.
  WriteText(work + "/z.deployment.toml", "[deployment]\nmodule_id = \n");
  Drop(work + "/z.deployment.toml", dir, "z.deployment.toml");

  // Deleting y.deployment.toml undeploys it; the module stays (x.wasm is there).
  ASSERT_EQ(unlink((dir + "/y.deployment.toml").c_str()), 0);
  EXPECT_TRUE(
      WaitFor([&] { return (s = Summary(d)).find("/hot") == std::string::npos; }, kFewSeconds))
      << s;
  EXPECT_EQ(Modules(d), "http-logger@0.1.0;");
  std::string log;
  EXPECT_TRUE(WaitFor(
      [&] {
        return (log = Sh("cat " + d.home() + "/daemon.out").out).find("z.deployment.toml") !=
               std::string::npos;
      },
      kFewSeconds))
      << log;

  // Deleting the wasm removes the module.
  ASSERT_EQ(unlink((dir + "/x.wasm").c_str()), 0);
  EXPECT_TRUE(WaitFor([&] { return Modules(d).empty() && Summary(d).empty(); }, kFewSeconds))
      << Modules(d) << " / " << Summary(d);
  EXPECT_EQ(d.Cli("ping").code, 0);
  Sh("rm -rf " + ShellQuote(work));
}

}  // namespace
}  // namespace arcella::e2e
