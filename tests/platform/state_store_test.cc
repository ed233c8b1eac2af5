#include "platform/state_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "test_util.h"

namespace arcella::platform {
namespace {

ModuleRecord Module(const std::string& name, const std::string& version = "1.0.0") {
  ModuleRecord m;
  m.id = name + "@" + version;
  m.name = name;
  m.version = version;
  m.kind = "core";
  m.hash = std::string(64, 'a');
  m.size = 123;
  m.manifest_toml = "[component]\nname = \"" + name + "\"\nversion = \"" + version + "\"\n";
  m.tier = "aot";
  return m;
}

DeploymentRecord Deployment(const std::string& module_id, const std::string& group,
                            uint32_t replicas = 1) {
  DeploymentRecord d;
  d.id = module_id + "/" + group;
  d.module_id = module_id;
  d.group = group;
  d.replicas = replicas;
  d.spec_toml = "[deployment]\nmodule_id = \"" + module_id + "\"\n";
  return d;
}

TEST(StateStore, ModulesCrud) {
  std::string path = test::TempDir() + "/state.db";
  auto st = StateStore::Open(path);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  StateStore& s = **st;
  EXPECT_EQ(*s.SchemaVersion(), StateStore::kSchemaVersion);
  ASSERT_TRUE(s.PutModule(Module("a")).ok());
  ASSERT_TRUE(s.PutModule(Module("b")).ok());
  Status dup = s.PutModule(Module("a"));
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("--force"), std::string::npos);
  ModuleRecord a2 = Module("a");
  a2.size = 999;
  ASSERT_TRUE(s.PutModule(a2, /*replace=*/true).ok());
  auto got = s.GetModule("a@1.0.0");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size, 999u);
  EXPECT_GT(got->installed_at_ms, 0);
  EXPECT_EQ(got->manifest_toml, a2.manifest_toml);
  EXPECT_EQ(s.ListModules()->size(), 2u);
  EXPECT_EQ(*s.CountModulesWithHash(std::string(64, 'a')), 2);
  EXPECT_EQ(s.GetModule("zzz@1.0.0").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(s.RemoveModule("b@1.0.0").ok());
  EXPECT_EQ(s.RemoveModule("b@1.0.0").code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.CheckIntegrity().ok());
}

TEST(StateStore, DeploymentsAndConstraints) {
  auto st = StateStore::Open(test::TempDir() + "/state.db");
  ASSERT_TRUE(st.ok());
  StateStore& s = **st;
  EXPECT_EQ(s.PutDeployment(Deployment("m@1.0.0", "web")).code(), StatusCode::kNotFound);
  ASSERT_TRUE(s.PutModule(Module("m")).ok());
  ASSERT_TRUE(s.PutDeployment(Deployment("m@1.0.0", "web", 10)).ok());
  ASSERT_TRUE(s.PutDeployment(Deployment("m@1.0.0", "batch")).ok());
  EXPECT_EQ(s.PutDeployment(Deployment("m@1.0.0", "web")).code(), StatusCode::kAlreadyExists);
  Status rm = s.RemoveModule("m@1.0.0");
  EXPECT_EQ(rm.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rm.message().find("m@1.0.0/batch, m@1.0.0/web"), std::string::npos) << rm.message();
  // Reinstalling with --force keeps the deployments (no FK violation).
  ASSERT_TRUE(s.PutModule(Module("m"), true).ok());
  EXPECT_EQ(s.ListDeployments("m@1.0.0")->size(), 2u);

  ASSERT_TRUE(s.UpdateDeployment("m@1.0.0/web", 20, Desired::kStarted).ok());
  auto d = s.GetDeployment("m@1.0.0/web");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->replicas, 20u);
  EXPECT_EQ(d->desired, Desired::kStarted);
  ASSERT_TRUE(s.UpdateDeployment("m@1.0.0/web", std::nullopt, Desired::kStopped, "spec").ok());
  d = s.GetDeployment("m@1.0.0/web");
  EXPECT_EQ(d->replicas, 20u);
  EXPECT_EQ(d->desired, Desired::kStopped);
  EXPECT_EQ(d->spec_toml, "spec");
  EXPECT_EQ(s.UpdateDeployment("nope", 1, std::nullopt).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ListDeployments()->size(), 2u);
  EXPECT_EQ(s.ListDeployments("other@1.0.0")->size(), 0u);
  ASSERT_TRUE(s.RemoveDeployment("m@1.0.0/web").ok());
  ASSERT_TRUE(s.RemoveDeployment("m@1.0.0/batch").ok());
  EXPECT_EQ(s.RemoveDeployment("m@1.0.0/batch").code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.RemoveModule("m@1.0.0").ok());
}

TEST(StateStore, ReopenKeepsDataAndRefusesNewerSchema) {
  std::string path = test::TempDir() + "/state.db";
  {
    auto s = StateStore::Open(path);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->PutModule(Module("keep")).ok());
    ASSERT_TRUE((*s)->PutDeployment(Deployment("keep@1.0.0", "g", 3)).ok());
    ASSERT_TRUE((*s)->UpdateDeployment("keep@1.0.0/g", std::nullopt, Desired::kStarted).ok());
  }
  {
    auto s = StateStore::Open(path);
    ASSERT_TRUE(s.ok());
    auto d = (*s)->GetDeployment("keep@1.0.0/g");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->replicas, 3u);
    EXPECT_EQ(d->desired, Desired::kStarted);
  }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = StateStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("schema version 99"), std::string::npos);
}

TEST(StateStore, GarbageFileIsCorruption) {
  std::string path = test::TempDir() + "/state.db";
  FILE* f = fopen(path.c_str(), "w");
  for (int i = 0; i < 100; ++i) fputs("this is not a database at all ", f);
  fclose(f);
  auto s = StateStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption) << s.status().ToString();
}

TEST(StateStore, KillNineDuringWritesLosesNothingCommitted) {
  std::string path = test::TempDir() + "/state.db";
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipefd[0]);
    auto s = StateStore::Open(path);
    if (!s.ok()) ::_exit(2);
    if (!(*s)->PutModule(Module("crash")).ok()) ::_exit(3);
    for (uint32_t i = 0;; ++i) {
      std::string g = "g" + std::to_string(i);
      if (!(*s)->PutDeployment(Deployment("crash@1.0.0", g, i + 1)).ok()) ::_exit(4);
      if (!(*s)->UpdateDeployment("crash@1.0.0/" + g, std::nullopt, Desired::kStarted).ok())
        ::_exit(5);
      // Report only after both commits returned.
      if (::write(pipefd[1], &i, sizeof i) != sizeof i) ::_exit(6);
    }
  }
  ::close(pipefd[1]);
  uint32_t last = 0, got = 0;
  int n = 0;
  while (n < 150 && ::read(pipefd[0], &got, sizeof got) == sizeof got) {
    last = got;
    ++n;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  // Drain what the child reported before it died.
  while (::read(pipefd[0], &got, sizeof got) == sizeof got) last = got;
  ::close(pipefd[0]);
  ASSERT_GT(n, 0);

  auto s = StateStore::Open(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE((*s)->CheckIntegrity().ok());
  auto deps = (*s)->ListDeployments();
  ASSERT_TRUE(deps.ok());
  EXPECT_GE(deps->size(), last + 1);
  std::set<std::string> ids;
  for (const auto& d : *deps) ids.insert(d.id);
  for (uint32_t i = 0; i <= last; ++i) {
    auto d = (*s)->GetDeployment("crash@1.0.0/g" + std::to_string(i));
    ASSERT_TRUE(d.ok()) << "committed deployment g" << i << " lost";
    EXPECT_EQ(d->replicas, i + 1);
    EXPECT_EQ(d->desired, Desired::kStarted);
  }
}

// Runs `fn` in a child that cannot write `dir` (as uid nobody when we are
// root, since root ignores permission bits); returns the child's message.
std::string InReadOnlyChild(const std::string& dir, const std::function<std::string()>& fn) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(p[0]);
    if (::getuid() == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(9);
    } else {
      ::chmod(dir.c_str(), 0500);
    }
    std::string msg = fn();
    (void)!::write(p[1], msg.data(), msg.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ::waitpid(child, nullptr, 0);
  ::chmod(dir.c_str(), 0755);
  return out;
}

TEST(StateStore, ReadOnlyHomeGivesIoError) {
  std::string dir = test::TempDir();
  ::chmod(dir.c_str(), 0755);
  std::string fresh = InReadOnlyChild(dir, [&] {
    auto s = StateStore::Open(dir + "/state.db");
    return s.ok() ? std::string("opened") : s.status().ToString();
  });
  EXPECT_EQ(fresh.rfind("I/O error", 0), 0u) << fresh;
  EXPECT_NE(fresh.find("is the Arcella home writable?"), std::string::npos) << fresh;

  // An existing database the process may not write: refused as well, and
  // the data stays intact.
  {
    auto s = StateStore::Open(dir + "/state.db");
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->PutModule(Module("ro")).ok());
  }
  ::chmod((dir + "/state.db").c_str(), 0644);
  std::string existing = InReadOnlyChild(dir, [&] {
    auto s = StateStore::Open(dir + "/state.db");
    if (!s.ok()) return s.status().ToString();
    Status w = (*s)->PutModule(Module("ro2"));
    return w.ok() ? std::string("wrote") : w.ToString();
  });
  EXPECT_EQ(existing.rfind("I/O error", 0), 0u) << existing;
  auto s = StateStore::Open(dir + "/state.db");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->CheckIntegrity().ok());
  EXPECT_TRUE((*s)->GetModule("ro@1.0.0").ok());
}

TEST(StateStore, FullDiskIsIoErrorAndStaysConsistent) {
  std::string path = test::TempDir() + "/state.db";
  StateStore::Options opts;
  opts.max_page_count = 24;
  auto st = StateStore::Open(path, opts);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  int stored = 0;
  Status err;
  for (int i = 0; i < 1000; ++i) {
    ModuleRecord m = Module("big" + std::to_string(i));
    m.manifest_toml.append(3000, '#');
    err = (*st)->PutModule(m);
    if (!err.ok()) break;
    ++stored;
  }
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.code(), StatusCode::kIoError);
  EXPECT_NE(err.message().find("full"), std::string::npos) << err.message();
  EXPECT_GT(stored, 0);
  // Still usable for reads and consistent.
  EXPECT_EQ((int)(*st)->ListModules()->size(), stored);
  EXPECT_TRUE((*st)->CheckIntegrity().ok());
  st->reset();
  auto again = StateStore::Open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->CheckIntegrity().ok());
  EXPECT_EQ((int)(*again)->ListModules()->size(), stored);
  EXPECT_TRUE((*again)->PutModule(Module("after")).ok());
}

TEST(StateStore, ConcurrentWriters) {
  auto st = StateStore::Open(test::TempDir() + "/state.db");
  ASSERT_TRUE(st.ok());
  StateStore& s = **st;
  ASSERT_TRUE(s.PutModule(Module("c")).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string g = "t" + std::to_string(t) + "i" + std::to_string(i);
        if (!s.PutDeployment(Deployment("c@1.0.0", g)).ok()) ++failures;
        if (!s.UpdateDeployment("c@1.0.0/" + g, 2, Desired::kStarted).ok()) ++failures;
        if (!s.ListDeployments("c@1.0.0").ok()) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(s.ListDeployments()->size(), 200u);
}

}  // namespace
}  // namespace arcella::platform
