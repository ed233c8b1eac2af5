// Grants are the operator's (grants.h): manifest requests are never grants,
// the policy bounds every grant, the hot-deploy folder grants nothing by
// default, and no grant may contain or lie inside the daemon home (after
// resolving symlinks), at deploy time and again when applied.
#include "platform/grants.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/config.h"
#include "platform/platform.h"
#include "test_util.h"

namespace arcella::platform {
namespace {

std::string Real(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

class GrantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = Real(test::TempDir("grants"));
    home_ = root_ + "/home";
    data_ = root_ + "/data";
    ASSERT_EQ(mkdir(home_.c_str(), 0700), 0);
    ASSERT_EQ(mkdir(data_.c_str(), 0700), 0);
    ASSERT_EQ(mkdir((home_ + "/cache").c_str(), 0700), 0);
    manifest_.name = "m";
    manifest_.version = "1.0.0";
    spec_.module_id = "m@1.0.0";
  }
  Result<Grants> Resolve(GrantOrigin origin = GrantOrigin::kOperator) {
    return ResolveGrants(manifest_, spec_, policy_, home_, origin, KeyStyle::kCliFlags, "deploy");
  }
  std::string Error(GrantOrigin origin = GrantOrigin::kOperator) {
    auto g = Resolve(origin);
    EXPECT_FALSE(g.ok());
    return g.ok() ? "" : g.status().message();
  }

  std::string root_, home_, data_;
  ComponentManifest manifest_;
  DeploymentSpec spec_;
  Config::Policy policy_;
};

TEST_F(GrantsTest, ManifestRequestsAreNeverGrants) {
  manifest_.requested_dirs = {"/::/host", data_ + "::/data"};
  manifest_.env = {{"MODE", "prod"}};
  policy_.allow_dirs = {"/"};  // even the widest policy grants nothing by itself
  auto g = Resolve();
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(g->dirs.empty());
  EXPECT_EQ(g->ungranted_requests, (std::vector<std::string>{"/::/host", data_ + "::/data"}));
  // Env values of the manifest are defaults (no host authority); the operator's win.
  spec_.overrides.env = {{"MODE", "dev"}, {"X", "1"}};
  g = Resolve();
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->env,
            (std::vector<std::pair<std::string, std::string>>{{"MODE", "dev"}, {"X", "1"}}));
  // The operator granting the requested directory satisfies the request.
  spec_.overrides.dirs = {data_ + "::/data"};
  g = Resolve();
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->dirs.size(), 1u);
  EXPECT_EQ(g->ungranted_requests, (std::vector<std::string>{"/::/host"}));
}

TEST_F(GrantsTest, DenyByDefaultAndBoundedByPolicy) {
  spec_.overrides.dirs = {data_ + "::/data"};
  std::string e = Error();
  EXPECT_NE(e.find("deploy: --dir " + data_ + "::/data: refused by policy"), std::string::npos)
      << e;
  EXPECT_NE(e.find("allow_dirs [] (none)"), std::string::npos) << e;

  policy_.allow_dirs_ro = {data_};
  e = Error();
  EXPECT_NE(e.find("may only be granted read-only"), std::string::npos) << e;
  spec_.overrides.dirs = {data_ + "::/data:ro"};
  auto g = Resolve();
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->dirs.size(), 1u);
  EXPECT_TRUE(g->dirs[0].read_only);
  EXPECT_EQ(g->dirs[0].real_host, data_);
  EXPECT_EQ(g->dirs[0].guest, "/data");

  // A directory beside an allowed one is not within it ("/data2" vs "/data").
  ASSERT_EQ(mkdir((root_ + "/data2").c_str(), 0700), 0);
  spec_.overrides.dirs = {root_ + "/data2::/d:ro"};
  EXPECT_NE(Error().find("refused by policy"), std::string::npos);

  // Relative, missing and non-directory host paths are refused by name.
  spec_.overrides.dirs = {"data::/d"};
  EXPECT_NE(Error().find("expected an absolute host path"), std::string::npos);
  spec_.overrides.dirs = {root_ + "/missing::/d"};
  EXPECT_NE(Error().find("cannot resolve host directory"), std::string::npos);
}

TEST_F(GrantsTest, TheHomeIsNeverGrantedWhateverThePolicy) {
  policy_.allow_dirs = {"/"};
  // Containing the home: "/", its parent, the home itself.
  for (const std::string& host : {std::string("/"), root_, home_}) {
    spec_.overrides.dirs = {host + "::/h"};
    std::string e = Error();
    EXPECT_NE(e.find("contains the daemon home " + home_), std::string::npos) << host << ": " << e;
  }
  // Inside it.
  spec_.overrides.dirs = {home_ + "/cache::/c:ro"};
  std::string e = Error();
  EXPECT_NE(e.find("lies inside the daemon home " + home_), std::string::npos) << e;
  // Through a symlink outside the home that points into it.
  ASSERT_EQ(symlink((home_ + "/cache").c_str(), (root_ + "/innocent").c_str()), 0);
  spec_.overrides.dirs = {root_ + "/innocent::/c"};
  e = Error();
  EXPECT_NE(e.find("resolves to " + home_ + "/cache"), std::string::npos) << e;
  EXPECT_NE(e.find("lies inside the daemon home"), std::string::npos) << e;
  // The home given through a symlink is resolved too.
  ASSERT_EQ(symlink(home_.c_str(), (root_ + "/home-link").c_str()), 0);
  auto g = ResolveGrants(manifest_, spec_, policy_, root_ + "/home-link", GrantOrigin::kOperator,
                         KeyStyle::kToml, "x.deployment.toml");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("x.deployment.toml: deployment.overrides.dirs[0] = \"" +
                                      root_ + "/innocent::/c\": refused"),
            std::string::npos)
      << g.status().message();
  // A sibling of the home is fine.
  spec_.overrides.dirs = {data_ + "::/d"};
  EXPECT_TRUE(Resolve().ok());
}

TEST_F(GrantsTest, HotDeployFolderGrantsNothingUnlessAllowed) {
  policy_.allow_dirs = {root_};
  spec_.overrides.dirs = {data_ + "::/d"};
  EXPECT_TRUE(Resolve(GrantOrigin::kOperator).ok());
  std::string e = Error(GrantOrigin::kHotDeploy);
  EXPECT_NE(e.find("hot_deploy_allow_dirs [] (none)"), std::string::npos) << e;
  policy_.hot_deploy_allow_dirs = {data_};
  EXPECT_TRUE(Resolve(GrantOrigin::kHotDeploy).ok());
  // ... and still within allow_dirs: hot_deploy_allow_dirs only narrows.
  policy_.allow_dirs.clear();
  EXPECT_NE(Error(GrantOrigin::kHotDeploy).find("allow_dirs"), std::string::npos);

  spec_.overrides.dirs.clear();
  spec_.overrides.env = {{"K", "v"}};
  EXPECT_TRUE(Resolve(GrantOrigin::kOperator).ok());
  EXPECT_NE(Error(GrantOrigin::kHotDeploy).find("hot_deploy_allow_env = false"), std::string::npos);
  policy_.hot_deploy_allow_env = true;
  EXPECT_TRUE(Resolve(GrantOrigin::kHotDeploy).ok());

  spec_.overrides.trusted = true;
  EXPECT_NE(Error(GrantOrigin::kHotDeploy).find("may not make a deployment trusted"),
            std::string::npos);
}

TEST(GrantsPaths, Within) {
  EXPECT_TRUE(PathWithin("/a/b", "/a"));
  EXPECT_TRUE(PathWithin("/a", "/a"));
  EXPECT_TRUE(PathWithin("/a", "/"));
  EXPECT_FALSE(PathWithin("/ab", "/a"));
  EXPECT_FALSE(PathWithin("/", "/a"));
}

TEST(GrantsConfig, PolicyKeys) {
  auto c =
      ApplyConfigText(Config{},
                      "[policy]\nallow_dirs = [\"/srv/data\"]\nallow_dirs_ro = [\"/etc/app\"]\n"
                      "hot_deploy_allow_dirs = [\"/srv/data/hot\"]\nhot_deploy_allow_env = true\n",
                      "a.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->policy.allow_dirs, std::vector<std::string>{"/srv/data"});
  EXPECT_EQ(c->policy.allow_dirs_ro, std::vector<std::string>{"/etc/app"});
  EXPECT_EQ(c->policy.hot_deploy_allow_dirs, std::vector<std::string>{"/srv/data/hot"});
  EXPECT_TRUE(c->policy.hot_deploy_allow_env);
  EXPECT_TRUE(Config{}.policy.allow_dirs.empty());
  EXPECT_FALSE(Config{}.policy.hot_deploy_allow_env);
  auto bad = ApplyConfigText(Config{}, "[policy]\nallow_dirs = [\"srv\"]\n", "b.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("b.toml:2:15: policy.allow_dirs[0] = \"srv\": expected an "
                                        "absolute host directory"),
            std::string::npos)
      << bad.status().message();
  // The commented default file documents the keys and still parses.
  std::string text = DefaultConfigText();
  EXPECT_NE(text.find("# allow_dirs = []"), std::string::npos);
  EXPECT_TRUE(ApplyConfigText(Config{}, text, "default").ok());
}

TEST(GrantsStoredOrigin, RoundTripsAndDefaultsToLeastTrusted) {
  DeploymentSpec s;
  s.module_id = "m@1.0.0";
  s.origin = GrantOrigin::kOperator;
  auto again = ParseDeploymentSpec(ToToml(s), "stored");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->origin, GrantOrigin::kOperator);
  auto plain = ParseDeploymentSpec("[deployment]\nmodule_id = \"m@1.0.0\"\n", "f.toml");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->origin, GrantOrigin::kHotDeploy);
}

// Through the platform: a file claiming to be the operator's is not; a grant
// re-checked at apply time fails once a symlink has been turned to the home.
class PlatformGrantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = Real(test::TempDir("platform-grants"));
    home_ = std::make_unique<Home>(root_ + "/home");
    ASSERT_TRUE(home_->Create().ok());
    data_ = root_ + "/data";
    ASSERT_EQ(mkdir(data_.c_str(), 0700), 0);
    logs_ = std::make_unique<LogHub>(home_->log_dir());
    Config cfg;
    cfg.policy.allow_dirs = {root_};  // contains the home: the home rule still holds
    auto p = Platform::Open(*home_, cfg, &events_, logs_.get());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    platform_ = std::move(*p);
    std::string ex = test::FixturePath("http-logger-core/");
    ASSERT_EQ(system(("cp " + ex + "http-logger.wasm " + ex + "http-logger.component.toml " + root_)
                         .c_str()),
              0);
    ASSERT_TRUE(platform_->Install(root_ + "/http-logger.wasm", false, "").ok());
  }
  std::string root_, data_;
  std::unique_ptr<Home> home_;
  EventBus events_;
  std::unique_ptr<LogHub> logs_;
  std::unique_ptr<Platform> platform_;
};

TEST_F(PlatformGrantsTest, FileCannotClaimOperatorAndSymlinkSwapIsCaughtAtApply) {
  auto spec = ParseDeploymentSpec(
      "x-arcella-origin = \"operator\"\n[deployment]\nmodule_id = \"http-logger@0.1.0\"\n"
      "[deployment.overrides]\ndirs = [\"" +
          data_ + "::/d\"]\n",
      "evil.deployment.toml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  auto v = platform_->Deploy(*spec, KeyStyle::kToml, "evil.deployment.toml");  // hot-deploy path
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("hot_deploy_allow_dirs"), std::string::npos)
      << v.status().message();

  // The operator may grant it, through a symlink that is later turned to the home.
  ASSERT_EQ(symlink(data_.c_str(), (root_ + "/link").c_str()), 0);
  DeploymentSpec op;
  op.module_id = "http-logger@0.1.0";
  op.overrides.dirs = {root_ + "/link::/d"};
  v = platform_->Deploy(op, KeyStyle::kAlmeParams, "deploy", GrantOrigin::kOperator);
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_EQ(v->grants.dirs.size(), 1u);
  EXPECT_EQ(v->grants.dirs[0].real_host, data_);
  EXPECT_EQ(v->grants.origin, GrantOrigin::kOperator);

  ASSERT_EQ(unlink((root_ + "/link").c_str()), 0);
  ASSERT_EQ(symlink(home_->root().c_str(), (root_ + "/link").c_str()), 0);
  auto st = platform_->Start("http-logger@0.1.0/default", "");
  ASSERT_TRUE(st.ok()) << st.status().message();
  ASSERT_EQ(st->size(), 1u);
  EXPECT_EQ((*st)[0].state, State::kFailed);
  EXPECT_NE((*st)[0].error.find("daemon home " + home_->root()), std::string::npos)
      << (*st)[0].error;
  EXPECT_TRUE((*st)[0].grants.dirs.empty());
  EXPECT_FALSE((*st)[0].grants.refused.empty());
}

}  // namespace
}  // namespace arcella::platform
