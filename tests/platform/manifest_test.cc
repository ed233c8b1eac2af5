#include "platform/manifest.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_util.h"

namespace arcella::platform {
namespace {

const char* kSeedComponent = R"([component]
name = "http-logger"
version = "0.1.0"
exports = ["logger:log@1.0"]
imports = ["wasi:http/incoming-handler@0.2.0"]
)";

const char* kSeedDeployment = R"([deployment]
module_id = "http-logger@0.1.0"
group = "web"
replicas = 10

[deployment.overrides]
isolation = "worker"
async = true
)";

std::string Err(const Status& s) { return s.message(); }

TEST(Manifest, SeedComponentVerbatim) {
  auto m = ParseComponentManifest(kSeedComponent, "http-logger.component.toml");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "http-logger");
  EXPECT_EQ(m->version, "0.1.0");
  EXPECT_EQ(m->exports, std::vector<std::string>{"logger:log@1.0"});
  EXPECT_EQ(m->imports, std::vector<std::string>{"wasi:http/incoming-handler@0.2.0"});
}

TEST(Manifest, SeedDeploymentVerbatim) {
  auto d = ParseDeploymentSpec(kSeedDeployment, "web.deployment.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->module_id, "http-logger@0.1.0");
  EXPECT_EQ(d->group, "web");
  EXPECT_EQ(d->replicas, 10u);
  EXPECT_EQ(d->overrides.isolation, Isolation::kWorker);
  EXPECT_EQ(d->overrides.async, true);
  EXPECT_EQ(d->id(), "http-logger@0.1.0/web");
}

TEST(Manifest, BadIsolationNamesFileKeyPositionAndAllowed) {
  std::string t = kSeedDeployment;
  t.replace(t.find("\"worker\""), 8, "\"mian\"");
  auto d = ParseDeploymentSpec(t, "web.deployment.toml");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(Err(d.status()), "web.deployment.toml:7:13: deployment.overrides.isolation = \"mian\": "
                             "expected \"main\" or \"worker\"");
}

TEST(Manifest, ReplicasRules) {
  auto with = [](const std::string& replicas) {
    return ParseDeploymentSpec("[deployment]\nmodule_id = \"a@1.0.0\"\nreplicas = " + replicas +
                                   "\n",
                               "x.deployment.toml");
  };
  for (const char* bad : {"0", "-3", "1.5", "\"10\"", "true", "3000000000"}) {
    auto d = with(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(Err(d.status()).find("x.deployment.toml:3:12: deployment.replicas = "),
              std::string::npos)
        << Err(d.status());
    EXPECT_NE(Err(d.status()).find("expected an integer from 1 to"), std::string::npos)
        << Err(d.status());
  }
  EXPECT_TRUE(with("1").ok());
  EXPECT_TRUE(with("1000").ok());
  // Defaults: group "default", 1 replica.
  auto d = ParseDeploymentSpec("[deployment]\nmodule_id = \"a@1.0.0\"\n", "x.deployment.toml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->group, "default");
  EXPECT_EQ(d->replicas, 1u);
}

TEST(Manifest, MainNeedsOneReplicaAndOnlyMainIsTrusted) {
  auto d = ParseDeploymentSpec(
      "[deployment]\nmodule_id = \"a@1.0.0\"\nreplicas = 2\n[deployment.overrides]\nisolation = \"main\"\n",
      "m.deployment.toml");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(Err(d.status()),
            "m.deployment.toml:3:12: deployment.overrides.isolation = \"main\" requires "
            "deployment.replicas = 1 (got 2)");
  d = ParseDeploymentSpec(
      "[deployment]\nmodule_id = \"a@1.0.0\"\n[deployment.overrides]\ntrusted = true\n",
      "t.deployment.toml");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(Err(d.status())
                .find("t.deployment.toml:4:11: deployment.overrides.trusted = true is only "
                      "allowed with deployment.overrides.isolation = \"main\""),
            std::string::npos)
      << Err(d.status());
  d = ParseDeploymentSpec(
      "[deployment]\nmodule_id = \"a@1.0.0\"\n[deployment.overrides]\nisolation = \"main\"\ntrusted = true\n",
      "ok.deployment.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->overrides.trusted, true);
}

TEST(Manifest, UnknownKeysAreErrorsWithSuggestion) {
  auto d = ParseDeploymentSpec("[deployment]\nmodule_id = \"a@1.0.0\"\nreplcas = 3\n",
                               "u.deployment.toml");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(Err(d.status())
                .find("u.deployment.toml:3:1: unknown key deployment.replcas (did you mean "
                      "deployment.replicas?)"),
            std::string::npos)
      << Err(d.status());
  auto m = ParseComponentManifest("[component]\nname = \"a\"\nversion = \"1.0.0\"\nexport = []\n",
                                  "c.toml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(Err(m.status()).find("unknown key component.export (did you mean component.exports?)"),
            std::string::npos);
  m = ParseComponentManifest("[componet]\nname = \"a\"\n", "c.toml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(Err(m.status()).find("unknown key componet"), std::string::npos);
  // Reserved tables and x- keys are accepted.
  m = ParseComponentManifest(
      "x-tool = 1\n[component]\nname = \"a\"\nversion = \"1.0.0\"\n[component.metadata]\nanything = [1]\n",
      "c.toml");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  d = ParseDeploymentSpec(
      "[deployment]\nmodule_id = \"a@1.0.0\"\n[deployment.overrides.http]\nroute = \"/x\"\n",
      "h.toml");
  EXPECT_TRUE(d.ok()) << d.status().ToString();
}

TEST(Manifest, VersionAndNameRules) {
  auto m = ParseComponentManifest("[component]\nname = \"a\"\nversion = \"1.0\"\n", "c.toml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(
      Err(m.status()).find("c.toml:3:11: component.version = \"1.0\": expected a version x.y.z"),
      std::string::npos)
      << Err(m.status());
  m = ParseComponentManifest("[component]\nname = \"a b\"\nversion = \"1.0.0\"\n", "c.toml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(Err(m.status()).find("component.name = \"a b\""), std::string::npos);
  m = ParseComponentManifest("[component]\nversion = \"1.0.0\"\n", "c.toml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(Err(m.status()).find("component.name is required"), std::string::npos);

  EXPECT_TRUE(ValidateModuleId("http-logger@0.1.0").ok());
  EXPECT_TRUE(ValidateModuleId("A_b-9@10.20.30").ok());
  for (const char* bad : {"x@1.0", "x@1.0.0-rc1", "x@01.0.0", "@1.0.0", "x", "x@1..0", "x y@1.0.0",
                          "x@1.0.0.0", "x@a.b.c"})
    EXPECT_FALSE(ValidateModuleId(bad).ok()) << bad;
  EXPECT_FALSE(ValidateModuleId(std::string(129, 'a') + "@1.0.0").ok());
  EXPECT_TRUE(ValidateModuleId(std::string(128, 'a') + "@1.0.0").ok());
  auto id = ParseModuleId("x@1.2.3");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->name, "x");
  EXPECT_EQ(id->version, "1.2.3");
  EXPECT_NE(ParseModuleId("x@1.0").status().message().find("expected a version x.y.z"),
            std::string::npos);
  EXPECT_TRUE(ValidateGroup("web").ok());
  EXPECT_FALSE(ValidateGroup("").ok());
  EXPECT_FALSE(ValidateGroup("a/b").ok());
}

TEST(Manifest, ExtensionsCapabilitiesAndResources) {
  auto m = ParseComponentManifest(R"([component]
name = "svc"
version = "1.2.3"
description = "a service"
[component.capabilities]
dirs = ["/srv/data::/data", "/etc/svc::/config:ro"]
env = { MODE = "prod", EMPTY = "" }
[component.resources]
fuel = 1000000
max_memory = "64MiB"
timeout = "2s"
)",
                                  "svc.component.toml");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->requested_dirs.size(), 2u);
  EXPECT_EQ(m->env.at("MODE"), "prod");
  EXPECT_EQ(m->fuel, 1000000u);
  EXPECT_EQ(m->max_memory_bytes, 64u << 20);
  EXPECT_EQ(m->timeout, std::chrono::milliseconds(2000));
  auto again = ParseComponentManifest(ToToml(*m), "rt");
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << ToToml(*m);
  EXPECT_EQ(ToToml(*again), ToToml(*m));

  auto bad = ParseComponentManifest(
      "[component]\nname=\"a\"\nversion=\"1.0.0\"\n[component.capabilities]\ndirs=[\"/x\"]\n",
      "c.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      Err(bad.status()).find("component.capabilities.dirs[0] = \"/x\": expected \"HOST::GUEST\""),
      std::string::npos)
      << Err(bad.status());
  bad = ParseComponentManifest(
      "[component]\nname=\"a\"\nversion=\"1.0.0\"\n[component.resources]\nmax_memory=\"64 parsecs\"\n",
      "c.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(Err(bad.status()).find("expected a byte size"), std::string::npos);
  bad = ParseComponentManifest(
      "[component]\nname=\"a\"\nversion=\"1.0.0\"\n[component.resources]\ntimeout=5\n", "c.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(Err(bad.status()).find("component.resources.timeout = 5: expected a duration"),
            std::string::npos);
}

TEST(Manifest, DeploymentOverridesRoundTrip) {
  auto d = ParseDeploymentSpec(R"([deployment]
module_id = "svc@1.2.3"
group = "batch"
replicas = 3
[deployment.overrides]
isolation = "worker"
async = false
fuel = 5000
max_memory = 1048576
timeout = "500ms"
dirs = ["/tmp::/tmp"]
env = { "A\"B" = "x\ny" }
restart = "on-failure"
)",
                               "svc.deployment.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->overrides.restart, RestartPolicy::kOnFailure);
  EXPECT_EQ(d->overrides.max_memory_bytes, 1048576u);
  EXPECT_EQ(d->overrides.timeout, std::chrono::milliseconds(500));
  std::string text = ToToml(*d);
  auto again = ParseDeploymentSpec(text, "round-trip");
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << text;
  EXPECT_EQ(ToToml(*again), text);
  EXPECT_EQ(again->overrides.env.at("A\"B"), "x\ny");
  auto bad = ParseDeploymentSpec(
      "[deployment]\nmodule_id=\"a@1.0.0\"\n[deployment.overrides]\nrestart=\"sometimes\"\n",
      "r.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(Err(bad.status()).find("expected \"never\", \"on-failure\" or \"always\""),
            std::string::npos);
}

TEST(Manifest, InvalidTomlHasPosition) {
  auto d = ParseDeploymentSpec("[deployment]\nmodule_id = \"a@1.0.0\nreplicas = 1\n", "bad.toml");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(Err(d.status()).rfind("bad.toml:2:", 0), 0u) << Err(d.status());
  EXPECT_NE(Err(d.status()).find("invalid TOML"), std::string::npos);
  EXPECT_FALSE(ParseDeploymentSpec("", "empty.toml").ok());
  EXPECT_NE(ParseDeploymentSpec("", "empty.toml").status().message().find("missing [deployment]"),
            std::string::npos);
}

TEST(Manifest, ValidateSpecFromCliFlagsAndParams) {
  DeploymentSpec s;
  s.module_id = "a@1.0.0";
  s.replicas = 0;
  Status st = ValidateDeploymentSpec(s, KeyStyle::kCliFlags, "deploy");
  EXPECT_EQ(st.message(), "deploy: --replicas 0: expected an integer >= 1");
  s.replicas = 2;
  s.overrides.isolation = Isolation::kMain;
  st = ValidateDeploymentSpec(s, KeyStyle::kCliFlags, "deploy");
  EXPECT_EQ(st.message(), "deploy: --isolation main requires --replicas 1 (got 2)");
  st = ValidateDeploymentSpec(s, KeyStyle::kAlmeParams, "deployment.create");
  EXPECT_EQ(
      st.message(),
      "deployment.create: params.overrides.isolation = \"main\" requires params.replicas = 1 (got 2)");
  s.replicas = 1;
  EXPECT_TRUE(ValidateDeploymentSpec(s, KeyStyle::kCliFlags, "deploy").ok());
  s.overrides.max_memory_bytes = 0;
  EXPECT_NE(
      ValidateDeploymentSpec(s, KeyStyle::kCliFlags, "deploy").message().find("--max-memory 0"),
      std::string::npos);
  s.overrides.max_memory_bytes.reset();
  s.overrides.dirs = {"nope"};
  EXPECT_NE(ValidateDeploymentSpec(s, KeyStyle::kCliFlags, "deploy").message().find("--dir nope"),
            std::string::npos);
  s.overrides.dirs.clear();
  s.module_id = "a@1.0";
  EXPECT_NE(
      ValidateDeploymentSpec(s, KeyStyle::kCliFlags, "deploy").message().find("a@1.0: module id"),
      std::string::npos);
}

TEST(Manifest, SizesAndDurations) {
  EXPECT_EQ(*ParseByteSize("64MiB"), 64u << 20);
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("1GB"), 1000000000u);
  EXPECT_EQ(*ParseByteSize("2KiB"), 2048u);
  for (const char* bad : {"", "MiB", "-1", "1.5MiB", "0", "1TiB", "99999999999999999999"})
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  EXPECT_EQ(ParseDuration("2s")->count(), 2000);
  EXPECT_EQ(ParseDuration("150ms")->count(), 150);
  EXPECT_EQ(ParseDuration("1h")->count(), 3600000);
  for (const char* bad : {"", "2", "s", "2 days", "0s", "-1s"})
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
}

TEST(Manifest, FromFileNameAndResolution) {
  auto m = ManifestFromFileName("/some/dir/http-logger@0.1.0.wasm");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "http-logger");
  EXPECT_EQ(m->version, "0.1.0");
  auto bad = ManifestFromFileName("/x/http-logger.wasm");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("name@x.y.z.wasm"), std::string::npos);
  EXPECT_FALSE(ManifestFromFileName("/x/a@1.0.wasm").ok());

  std::string dir = test::TempDir();
  std::ofstream(dir + "/http-logger.component.toml") << kSeedComponent;
  std::string used;
  auto r = ResolveManifestForBinary(dir + "/http-logger.wasm", &used);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(used, dir + "/http-logger.component.toml");
  EXPECT_EQ(r->name, "http-logger");
  r = ResolveManifestForBinary(dir + "/other@2.0.0.wasm", &used);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(used, "");
  EXPECT_EQ(r->version, "2.0.0");
  r = ResolveManifestForBinary(dir + "/nothing.wasm");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir + "/nothing.component.toml"), std::string::npos)
      << r.status().message();
  // A broken manifest beside the binary is reported, not silently bypassed.
  std::ofstream(dir + "/broken@1.0.0.component.toml") << "[component]\nname = 1\n";
  r = ResolveManifestForBinary(dir + "/broken@1.0.0.wasm");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("component.name = 1: expected a string"), std::string::npos);
  auto missing = LoadDeploymentSpec(dir + "/none.deployment.toml");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(DeploymentLinks, ParsedCheckedAndWrittenBack) {
  const std::string head = "[deployment]\nmodule_id = \"app@0.1.0\"\ngroup = \"web\"\n\n";
  auto d = ParseDeploymentSpec(head + "[deployment.links]\n"
                                      "\"example:logger/log@0.1.0\" = \"logger@0.1.0/core\"\n"
                                      "greet = \"greeter@1.0.0/default\"\n",
                               "app.deployment.toml");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->links.at("example:logger/log@0.1.0"), "logger@0.1.0/core");
  EXPECT_EQ(d->links.at("greet"), "greeter@1.0.0/default");
  // The stored form reads back to the same links.
  auto back = ParseDeploymentSpec(ToToml(*d), "stored");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->links, d->links);

  auto bad = [&](const std::string& table) {
    auto r = ParseDeploymentSpec(head + "[deployment.links]\n" + table, "app.deployment.toml");
    EXPECT_FALSE(r.ok()) << table;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(bad("\"example:logger/log@0.1.0\" = \"logger\"\n").find("not a deployment id"),
            std::string::npos);
  EXPECT_NE(bad("\"Not An Import\" = \"logger@0.1.0/core\"\n").find("not an import name"),
            std::string::npos);
  EXPECT_NE(bad("\"a:b/c\" = 3\n").find("app.deployment.toml:"), std::string::npos);
  EXPECT_NE(bad("\"a:b/c\" = \"x@1.0.0/a b\"\n").find("deployment.links"), std::string::npos);
}

}  // namespace
}  // namespace arcella::platform

namespace arcella::platform {
namespace {

TEST(DeploymentManifest, AnHttpRouteIsReadCheckedAndKeptInTheCanonicalForm) {
  auto d = ParseDeploymentSpec(
      "[deployment]\nmodule_id = \"http-logger@0.1.0\"\n[deployment.overrides.http]\n"
      "route = \"/api/v1\"\n",
      "r.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->overrides.http_route, "/api/v1");
  std::string canon = ToToml(*d);
  EXPECT_NE(canon.find("[deployment.overrides.http]\nroute = \"/api/v1\"\n"), std::string::npos)
      << canon;
  auto again = ParseDeploymentSpec(canon, "canon");
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << canon;
  EXPECT_EQ(again->overrides.http_route, "/api/v1");
  EXPECT_EQ(ToToml(*again), canon);

  auto bad = [](const std::string& route, const std::string& want) {
    auto r = ParseDeploymentSpec("[deployment]\nmodule_id = \"a@1.0.0\"\n"
                                 "[deployment.overrides.http]\nroute = " +
                                     route + "\n",
                                 "b.toml");
    ASSERT_FALSE(r.ok()) << route;
    EXPECT_NE(r.status().message().find("b.toml:4:9: deployment.overrides.http.route"),
              std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
  };
  bad("\"api\"", "starts with '/'");
  bad("\"/a?b\"", "other than '?' and '#'");
  bad("\"/a b\"", "visible ASCII");
  bad("\"/a//b\"", "no empty segment");
  bad("\"/a/\"", "does not end in '/'");
  bad("\"/" + std::string(300, 'a') + "\"", "at most 256 characters");
  bad("3", "expected a string");
  auto key = ParseDeploymentSpec(
      "[deployment]\nmodule_id = \"a@1.0.0\"\n[deployment.overrides.http]\npath = \"/x\"\n",
      "k.toml");
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("unknown key deployment.overrides.http.path"),
            std::string::npos)
      << key.status().message();
  EXPECT_TRUE(ParseDeploymentSpec("[deployment]\nmodule_id = \"a@1.0.0\"\n"
                                  "[deployment.overrides.http]\nroute = \"/\"\n",
                                  "root.toml")
                  .ok());
}

}  // namespace
}  // namespace arcella::platform
