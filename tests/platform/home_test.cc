#include "platform/home.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "test_util.h"

namespace arcella::platform {
namespace {

int Mode(const std::string& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

TEST(Home, ResolvePathPrecedence) {
  EXPECT_EQ(*Home::ResolvePath("/explicit/home/"), "/explicit/home");
  ::setenv("ARCELLA_HOME", "/from/env", 1);
  EXPECT_EQ(*Home::ResolvePath(""), "/from/env");
  ::unsetenv("ARCELLA_HOME");
  std::string old_home = std::getenv("HOME") ? std::getenv("HOME") : "";
  ::setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(*Home::ResolvePath(""), "/home/someone/.arcella");
  ::unsetenv("HOME");
  EXPECT_FALSE(Home::ResolvePath("").ok());
  if (!old_home.empty()) ::setenv("HOME", old_home.c_str(), 1);
  auto rel = Home::ResolvePath("rel/dir");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->front(), '/');
  EXPECT_EQ(rel->substr(rel->size() - 8), "/rel/dir");
}

TEST(Home, CreateLayoutWithModes) {
  std::string root = test::TempDir() + "/nested/home";
  Home home(root);
  ASSERT_TRUE(home.Create().ok());
  EXPECT_EQ(Mode(root), 0700);
  for (const std::string& d :
       {home.config_dir(), home.modules_dir(), home.cache_dir(), home.deploy_dir(), home.log_dir()})
    EXPECT_EQ(Mode(d), 0700) << d;
  EXPECT_EQ(home.alme_socket(), root + "/alme");
  EXPECT_EQ(home.state_db(), root + "/state.db");
  // An existing safe home keeps its mode (never changed); Create is idempotent.
  ::chmod(root.c_str(), 0755);
  ASSERT_TRUE(home.Create().ok());
  EXPECT_EQ(Mode(root), 0755);
  // A file where the home should be is refused.
  std::string file = test::TempDir() + "/file";
  std::ofstream(file) << "x";
  Status s = Home(file).Create();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is not a directory"), std::string::npos) << s.message();
}

TEST(Home, SecondLockRefusedWithPid) {
  Home home(test::TempDir());
  ASSERT_TRUE(home.Create().ok());
  auto first = HomeLock::Acquire(home);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = HomeLock::Acquire(home);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(), "another arcella daemon (pid " + std::to_string(::getpid()) +
                                           ") is using " + home.root());
  first->Release();
  EXPECT_TRUE(HomeLock::Acquire(home).ok());
}

TEST(Home, LockHeldByAnotherProcessAndReleasedWhenItDies) {
  Home home(test::TempDir());
  ASSERT_TRUE(home.Create().ok());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    auto lock = HomeLock::Acquire(home);
    char c = lock.ok() ? '1' : '0';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, '1');
  auto mine = HomeLock::Acquire(home);
  ASSERT_FALSE(mine.ok());
  EXPECT_NE(mine.status().message().find("(pid " + std::to_string(child) + ")"), std::string::npos);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(HomeLock::Acquire(home).ok());
}

}  // namespace
}  // namespace arcella::platform
