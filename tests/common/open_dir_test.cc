#include "common/open_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace arcella {
namespace {

namespace fs = std::filesystem;

class OpenDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::TempDir("arcella-open-dir");
    fs::create_directories(root_ + "/a/b");
    std::ofstream(root_ + "/a/b/file") << "x";
    fs::create_directory_symlink(root_ + "/a", root_ + "/link");
    fs::create_directory_symlink(root_ + "/a/b", root_ + "/a/blink");
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
};

TEST_F(OpenDirTest, OpensADirectoryReadableAndCloseOnExec) {
  UniqueFd fd = OpenDirNoSymlinks(root_ + "/a/b", O_RDONLY);
  ASSERT_TRUE(fd) << strerror(errno);
  EXPECT_NE(fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  struct stat st;
  EXPECT_EQ(fstatat(fd.get(), "file", &st, 0), 0);
  int dup = openat(fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dup, 0);
  DIR* d = fdopendir(dup);
  ASSERT_NE(d, nullptr);
  int entries = 0;
  while (readdir(d) != nullptr) ++entries;
  closedir(d);
  EXPECT_EQ(entries, 3);  // ".", "..", "file"
}

TEST_F(OpenDirTest, OpensWithOPath) {
  UniqueFd fd = OpenDirNoSymlinks(root_ + "/a", O_PATH);
  ASSERT_TRUE(fd) << strerror(errno);
  EXPECT_NE(fcntl(fd.get(), F_GETFL) & O_PATH, 0);
  // A readable descriptor beneath it, as WASI preopens make from a worker's.
  UniqueFd rd(openat(fd.get(), "b", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_TRUE(rd);
}

TEST_F(OpenDirTest, RefusesASymlinkAnywhereInThePath) {
  errno = 0;
  EXPECT_FALSE(OpenDirNoSymlinks(root_ + "/link", O_RDONLY));  // the last component
  EXPECT_EQ(errno, ELOOP);
  errno = 0;
  EXPECT_FALSE(OpenDirNoSymlinks(root_ + "/link/b", O_PATH));  // a middle component
  EXPECT_EQ(errno, ELOOP);
  errno = 0;
  EXPECT_FALSE(OpenDirNoSymlinks(root_ + "/a/blink", O_RDONLY));
  EXPECT_EQ(errno, ELOOP);
  // Magic links of /proc too.
  errno = 0;
  EXPECT_FALSE(OpenDirNoSymlinks("/proc/self/cwd", O_PATH));
  EXPECT_EQ(errno, ELOOP);
}

TEST_F(OpenDirTest, ReportsMissingPathsAndFiles) {
  errno = 0;
  EXPECT_FALSE(OpenDirNoSymlinks(root_ + "/missing", O_RDONLY));
  EXPECT_EQ(errno, ENOENT);
  errno = 0;
  EXPECT_FALSE(OpenDirNoSymlinks(root_ + "/a/b/file", O_PATH));
  EXPECT_EQ(errno, ENOTDIR);
}

}  // namespace
}  // namespace arcella
