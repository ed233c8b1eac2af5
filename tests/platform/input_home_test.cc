// The home is never re-moded (issue 6: `--home` on an existing 1777
// directory changed it to 0700); unsafe ownership or modes are refused.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/home.h"
#include "test_util.h"

namespace arcella::platform {
namespace {

mode_t Mode(const std::string& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST(InputHome, SharedStickyDirectoryRefusedAndLeftAsItWas) {
  std::string root = test::TempDir("input-home") + "/shared";
  ASSERT_EQ(::mkdir(root.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(root.c_str(), 01777), 0);
  Status s = Home(root).Create();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "home " + root +
                " is writable by others (mode 1777); use a private directory (owned by "
                "you, mode 0700)");
  EXPECT_EQ(Mode(root), 01777u);
  // Nothing was created inside it either.
  struct stat st;
  EXPECT_NE(::stat((root + "/modules").c_str(), &st), 0);
}

TEST(InputHome, GroupWritableRefused) {
  std::string root = test::TempDir("input-home");
  ASSERT_EQ(::chmod(root.c_str(), 0770), 0);
  Status s = Home(root).Create();
  EXPECT_EQ(s.message(), "home " + root +
                             " is writable by its group (mode 0770); use a private directory "
                             "(owned by you, mode 0700)");
  EXPECT_EQ(Mode(root), 0770u);
}

TEST(InputHome, UnsafeSubdirectoryRefusedAndLeftAsItWas) {
  std::string root = test::TempDir("input-home");
  Home home(root);
  ASSERT_TRUE(home.Create().ok());
  ASSERT_EQ(::chmod(home.deploy_dir().c_str(), 0777), 0);
  Status s = home.Create();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(home.deploy_dir() + " is writable by others (mode 0777)"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(Mode(home.deploy_dir()), 0777u);
}

TEST(InputHome, ForeignOwnerRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another user";
  std::string root = test::TempDir("input-home");
  ASSERT_EQ(::chown(root.c_str(), 65534, 65534), 0);
  Status s = Home(root).Create();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "home " + root +
                             " is owned by uid 65534, not by this user (uid 0); use a private "
                             "directory (owned by you, mode 0700)");
}

TEST(InputHome, MissingDirectoriesCreatedPrivate) {
  std::string root = test::TempDir("input-home") + "/new";
  Home home(root);
  ASSERT_TRUE(home.Create().ok());
  EXPECT_EQ(Mode(root), 0700u);
  EXPECT_EQ(Mode(home.cache_dir()), 0700u);
}

}  // namespace
}  // namespace arcella::platform
