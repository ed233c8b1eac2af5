// Files and directories through a preopen, by direct host-function calls.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "test_util.h"
#include "wasi_harness.h"

namespace arcella::wasi::test {
namespace {

constexpr uint64_t kRw = right::kFdRead | right::kFdWrite | right::kFdSeek | right::kFdTell |
                         right::kFdFilestatGet | right::kFdFilestatSetSize |
                         right::kFdFilestatSetTimes | right::kFdAllocate | right::kFdAdvise |
                         right::kFdSync | right::kFdDatasync | right::kFdFdstatSetFlags;

std::string Slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = arcella::test::TempDir("wasi-fs");
    WasiConfig cfg;
    cfg.preopens.push_back({dir_, "/sandbox", false});
    h_ = std::make_unique<Harness>(cfg);
  }
  void TearDown() override { (void)system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
  std::unique_ptr<Harness> h_;
};

TEST_F(FsTest, Prestat) {
  Harness& h = *h_;
  ASSERT_EQ(h.Call("fd_prestat_get", {I(3), I(0)}), 0u);
  EXPECT_EQ(h.mem[0], 0);
  EXPECT_EQ(h.U32(4), 8u);
  EXPECT_EQ(h.Call("fd_prestat_dir_name", {I(3), I(100), I(3)}), (uint32_t)kNametoolong);
  ASSERT_EQ(h.Call("fd_prestat_dir_name", {I(3), I(100), I(8)}), 0u);
  EXPECT_EQ(h.Str(100, 8), "/sandbox");
  EXPECT_EQ(h.Call("fd_prestat_get", {I(4), I(0)}), (uint32_t)kBadf);
  EXPECT_EQ(h.Call("fd_prestat_get", {I(1), I(0)}), (uint32_t)kBadf);
  ASSERT_EQ(h.Call("fd_fdstat_get", {I(3), I(0)}), 0u);
  EXPECT_EQ(h.mem[0], kFtDirectory);
  EXPECT_TRUE(h.U64(8) & right::kPathCreateFile);
}

TEST_F(FsTest, CreateWriteSeekReadStat) {
  Harness& h = *h_;
  uint32_t fd = 0;
  ASSERT_EQ(h.Open(3, "f.txt", kOflagCreat | kOflagExcl, kRw, 0, &fd), 0u);
  EXPECT_EQ(fd, 4u);
  ASSERT_EQ(h.Write(fd, "hello world"), 0u);
  EXPECT_EQ(h.U32(Harness::kOut), 11u);
  EXPECT_EQ(Slurp(dir_ + "/f.txt"), "hello world");
  ASSERT_EQ(h.Call("fd_tell", {I(fd), I(0)}), 0u);
  EXPECT_EQ(h.U64(0), 11u);
  ASSERT_EQ(h.Call("fd_seek", {I(fd), L(static_cast<uint64_t>(-5)), I(kWhenceEnd), I(0)}), 0u);
  EXPECT_EQ(h.U64(0), 6u);
  std::string got;
  ASSERT_EQ(h.Read(fd, 100, &got), 0u);
  EXPECT_EQ(got, "world");
  EXPECT_EQ(h.Call("fd_seek", {I(fd), L(0), I(7), I(0)}), (uint32_t)kInval);
  // pread/pwrite do not move the offset.
  h.Put(8192, "HELLO");
  h.PutU32(256, 8192);
  h.PutU32(260, 5);
  ASSERT_EQ(h.Call("fd_pwrite", {I(fd), I(256), I(1), L(0), I(0)}), 0u);
  h.PutU32(260, 3);
  ASSERT_EQ(h.Call("fd_pread", {I(fd), I(256), I(1), L(8), I(0)}), 0u);
  EXPECT_EQ(h.U32(0), 3u);
  EXPECT_EQ(h.Str(8192, 3), "rld");
  EXPECT_EQ(Slurp(dir_ + "/f.txt"), "HELLO world");
  ASSERT_EQ(h.Call("fd_tell", {I(fd), I(0)}), 0u);
  EXPECT_EQ(h.U64(0), 11u);
  // filestat
  ASSERT_EQ(h.Call("fd_filestat_get", {I(fd), I(0)}), 0u);
  EXPECT_EQ(h.mem[16], kFtRegularFile);
  EXPECT_EQ(h.U64(32), 11u);
  EXPECT_EQ(h.U64(24), 1u);
  ASSERT_EQ(h.Call("fd_filestat_set_size", {I(fd), L(4)}), 0u);
  ASSERT_EQ(h.Call("fd_filestat_set_times",
                   {I(fd), L(1'000'000'000), L(2'000'000'000), I(kFstAtim | kFstMtim)}),
            0u);
  EXPECT_EQ(h.Call("fd_filestat_set_times", {I(fd), L(0), L(0), I(kFstAtim | kFstAtimNow)}),
            (uint32_t)kInval);
  uint32_t len = h.Put(Harness::kPath, "f.txt");
  ASSERT_EQ(h.Call("path_filestat_get", {I(3), I(0), I(Harness::kPath), I(len), I(0)}), 0u);
  EXPECT_EQ(h.U64(32), 4u);
  EXPECT_EQ(h.U64(48), 2'000'000'000u);
  EXPECT_EQ(h.U64(40), 1'000'000'000u);
  ASSERT_EQ(h.Call("fd_allocate", {I(fd), L(0), L(100)}), 0u);
  ASSERT_EQ(h.Call("fd_advise", {I(fd), L(0), L(0), I(1)}), 0u);
  EXPECT_EQ(h.Call("fd_advise", {I(fd), L(0), L(0), I(9)}), (uint32_t)kInval);
  ASSERT_EQ(h.Call("fd_sync", {I(fd)}), 0u);
  ASSERT_EQ(h.Call("fd_datasync", {I(fd)}), 0u);
  ASSERT_EQ(h.Call("fd_fdstat_set_flags", {I(fd), I(kFdflagAppend)}), 0u);
  ASSERT_EQ(h.Call("fd_fdstat_get", {I(fd), I(0)}), 0u);
  EXPECT_EQ(h.mem[2], kFdflagAppend);
  ASSERT_EQ(h.Call("fd_close", {I(fd)}), 0u);
  // Exclusive create of an existing file.
  EXPECT_EQ(h.Open(3, "f.txt", kOflagCreat | kOflagExcl, kRw), (uint32_t)kExist);
  EXPECT_EQ(h.Open(3, "missing"), (uint32_t)kNoent);
  EXPECT_EQ(h.Open(3, "f.txt", kOflagDirectory), (uint32_t)kNotdir);
}

TEST_F(FsTest, FdWithoutRightsRefused) {
  Harness& h = *h_;
  uint32_t fd = 0;
  ASSERT_EQ(h.Open(3, "r.txt", kOflagCreat, right::kFdRead, 0, &fd), 0u);
  EXPECT_EQ(h.Write(fd, "x"), (uint32_t)kNotcapable);
  EXPECT_EQ(h.Call("fd_seek", {I(fd), L(1), I(kWhenceSet), I(0)}), (uint32_t)kNotcapable);
  ASSERT_EQ(h.Call("fd_fdstat_get", {I(fd), I(0)}), 0u);
  EXPECT_EQ(h.U64(8), right::kFdRead);
  // Path operations on a file fd.
  EXPECT_EQ(h.Open(fd, "x"), (uint32_t)kNotcapable);
}

TEST_F(FsTest, DirectoriesAndReaddir) {
  Harness& h = *h_;
  ASSERT_EQ(h.PathCall("path_create_directory", 3, "d"), 0u);
  EXPECT_EQ(h.PathCall("path_create_directory", 3, "d"), (uint32_t)kExist);
  ASSERT_EQ(h.PathCall("path_create_directory", 3, "d/sub/"), 0u);
  for (const char* n : {"d/a", "d/bb", "d/ccc"}) ASSERT_EQ(h.Open(3, n, kOflagCreat), 0u);
  uint32_t dfd = 0;
  ASSERT_EQ(h.Open(3, "d", kOflagDirectory, right::kFdReaddir | right::kPathOpen, 1, &dfd), 0u);
  // Read the listing with a small buffer, resuming from the last full cookie.
  std::set<std::string> names;
  uint64_t cookie = 0;
  for (int rounds = 0; rounds < 100; ++rounds) {
    const uint32_t kBuf = 40000, kLen = 60;
    ASSERT_EQ(h.Call("fd_readdir", {I(dfd), I(kBuf), I(kLen), L(cookie), I(0)}), 0u);
    uint32_t used = h.U32(0), at = 0;
    bool progressed = false;
    while (at + kDirentSize <= used) {
      uint32_t namlen = h.U32(kBuf + at + 16);
      if (at + kDirentSize + namlen > used) break;  // truncated entry
      names.insert(h.Str(kBuf + at + kDirentSize, namlen));
      cookie = h.U64(kBuf + at);
      at += kDirentSize + namlen;
      progressed = true;
    }
    if (used < kLen) break;
    ASSERT_TRUE(progressed);
  }
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "a", "bb", "ccc", "sub"}));
  // Relative opens through the new directory fd.
  EXPECT_EQ(h.Open(dfd, "bb"), 0u);
  EXPECT_EQ(h.Call("fd_readdir", {I(1), I(0), I(10), L(0), I(0)}), (uint32_t)kNotcapable);
  EXPECT_EQ(h.Call("fd_readdir", {I(dfd), I(65530), I(100), L(0), I(0)}), (uint32_t)kFault);
  // Cookie past the end: empty.
  ASSERT_EQ(h.Call("fd_readdir", {I(dfd), I(100), I(100), L(1000), I(0)}), 0u);
  EXPECT_EQ(h.U32(0), 0u);
  // Remove: not empty, then empty.
  EXPECT_EQ(h.PathCall("path_remove_directory", 3, "d"), (uint32_t)kNotempty);
  EXPECT_EQ(h.PathCall("path_unlink_file", 3, "d/sub"), (uint32_t)kIsdir);
  ASSERT_EQ(h.PathCall("path_remove_directory", 3, "d/sub"), 0u);
  EXPECT_EQ(h.PathCall("path_remove_directory", 3, "d/a"), (uint32_t)kNotdir);
  ASSERT_EQ(h.PathCall("path_unlink_file", 3, "d/a"), 0u);
  EXPECT_EQ(h.PathCall("path_unlink_file", 3, "d/a"), (uint32_t)kNoent);
  EXPECT_FALSE(access((dir_ + "/d/a").c_str(), F_OK) == 0);
}

TEST_F(FsTest, RenameLinkSymlinkReadlink) {
  Harness& h = *h_;
  ASSERT_EQ(h.Open(3, "old", kOflagCreat), 0u);
  uint32_t l1 = h.Put(Harness::kPath, "old"), l2 = h.Put(Harness::kPath2, "new");
  ASSERT_EQ(h.Call("path_rename",
                   {I(3), I(Harness::kPath), I(l1), I(3), I(Harness::kPath2), I(l2)}),
            0u);
  EXPECT_EQ(access((dir_ + "/new").c_str(), F_OK), 0);
  EXPECT_NE(access((dir_ + "/old").c_str(), F_OK), 0);
  // Hard link new -> hard.
  l1 = h.Put(Harness::kPath, "new");
  l2 = h.Put(Harness::kPath2, "hard");
  ASSERT_EQ(h.Call("path_link",
                   {I(3), I(0), I(Harness::kPath), I(l1), I(3), I(Harness::kPath2), I(l2)}),
            0u);
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/hard").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  // Symlink soft -> new; readlink; stat with and without follow.
  l1 = h.Put(Harness::kPath, "new");
  l2 = h.Put(Harness::kPath2, "soft");
  ASSERT_EQ(h.Call("path_symlink", {I(Harness::kPath), I(l1), I(3), I(Harness::kPath2), I(l2)}),
            0u);
  ASSERT_EQ(h.Call("path_readlink", {I(3), I(Harness::kPath2), I(l2), I(100), I(50), I(0)}), 0u);
  EXPECT_EQ(h.U32(0), 3u);
  EXPECT_EQ(h.Str(100, 3), "new");
  ASSERT_EQ(h.Call("path_readlink", {I(3), I(Harness::kPath2), I(l2), I(100), I(2), I(0)}), 0u);
  EXPECT_EQ(h.U32(0), 2u);  // truncated
  ASSERT_EQ(h.Call("path_filestat_get", {I(3), I(0), I(Harness::kPath2), I(l2), I(200)}), 0u);
  EXPECT_EQ(h.mem[216], kFtSymlink);
  ASSERT_EQ(h.Call("path_filestat_get",
                   {I(3), I(kLookupSymlinkFollow), I(Harness::kPath2), I(l2), I(200)}),
            0u);
  EXPECT_EQ(h.mem[216], kFtRegularFile);
  // Opening a symlink without follow: ELOOP; with follow: the target.
  EXPECT_EQ(h.Open(3, "soft", 0, right::kFdRead, 0), (uint32_t)kLoop);
  EXPECT_EQ(h.Open(3, "soft", 0, right::kFdRead, kLookupSymlinkFollow), 0u);
  // path_filestat_set_times on the target.
  ASSERT_EQ(h.Call("path_filestat_set_times",
                   {I(3), I(1), I(Harness::kPath2), I(l2), L(5'000'000'000), L(6'000'000'000),
                    I(kFstAtim | kFstMtim)}),
            0u);
  ASSERT_EQ(stat((dir_ + "/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 6);
  ASSERT_EQ(h.PathCall("path_unlink_file", 3, "soft"), 0u);
  EXPECT_EQ(access((dir_ + "/new").c_str(), F_OK), 0);  // unlink never follows
  EXPECT_EQ(h.PathCall("path_unlink_file", 3, "new/"), (uint32_t)kNotdir);
}

}  // namespace
}  // namespace arcella::wasi::test
