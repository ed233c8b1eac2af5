// The sandbox: escapes refused, read-only preopens, rename races.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "test_util.h"
#include "wasi/path.h"
#include "wasi_harness.h"

namespace arcella::wasi::test {
namespace {

void WriteFile(const std::string& p, const std::string& s) { std::ofstream(p) << s; }

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = arcella::test::TempDir("wasi-sandbox");
    box_ = root_ + "/box";
    ASSERT_EQ(mkdir(box_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((box_ + "/sub").c_str(), 0755), 0);
    WriteFile(root_ + "/secret", "SECRET");
    WriteFile(box_ + "/inside", "INSIDE");
    // Links that lead out, by every route.
    ASSERT_EQ(symlink("/etc", (box_ + "/etc_link").c_str()), 0);
    ASSERT_EQ(symlink("../secret", (box_ + "/up_link").c_str()), 0);
    ASSERT_EQ(symlink("../../secret", (box_ + "/sub/up2").c_str()), 0);
    ASSERT_EQ(symlink("chain2", (box_ + "/chain1").c_str()), 0);
    ASSERT_EQ(symlink("sub/up2", (box_ + "/chain2").c_str()), 0);
    ASSERT_EQ(symlink("loop_b", (box_ + "/loop_a").c_str()), 0);
    ASSERT_EQ(symlink("loop_a", (box_ + "/loop_b").c_str()), 0);
    ASSERT_EQ(symlink(("/proc/self/root" + root_).c_str(), (box_ + "/magic").c_str()), 0);
    // Links that stay inside are fine.
    ASSERT_EQ(symlink("sub/../inside", (box_ + "/ok_link").c_str()), 0);
    ASSERT_EQ(symlink("../inside", (box_ + "/sub/ok_up").c_str()), 0);
  }
  void TearDown() override { (void)system(("rm -rf " + root_).c_str()); }
  Harness Make(bool read_only) {
    WasiConfig cfg;
    cfg.preopens.push_back({box_, "/box", read_only});
    return Harness(cfg);
  }
  std::string root_, box_;
};

TEST_F(SandboxTest, EscapesRefused) {
  Harness h = Make(false);
  for (const char* p : {"../secret", "/etc/passwd", "sub/../../secret", "etc_link/passwd",
                        "up_link", "sub/up2", "chain1", "magic/secret", "./../box/inside"}) {
    uint32_t r = h.Open(3, p);
    EXPECT_TRUE(r == kNotcapable) << p << " -> " << r;
  }
  EXPECT_EQ(h.Open(3, "loop_a"), (uint32_t)kLoop);
  EXPECT_EQ(h.Open(3, ""), (uint32_t)kNoent);
  EXPECT_EQ(h.Open(3, std::string("inside\0x", 8)), (uint32_t)kIlseq);
  // Without follow, the final link itself is not a way out, just ELOOP.
  EXPECT_EQ(h.Open(3, "up_link", 0, right::kFdRead, 0), (uint32_t)kLoop);
  // Every path_* entry point refuses the escape too.
  EXPECT_EQ(h.PathCall("path_create_directory", 3, "../newdir"), (uint32_t)kNotcapable);
  EXPECT_EQ(h.PathCall("path_unlink_file", 3, "../secret"), (uint32_t)kNotcapable);
  EXPECT_EQ(h.PathCall("path_unlink_file", 3, "etc_link/passwd"), (uint32_t)kNotcapable);
  EXPECT_EQ(h.PathCall("path_remove_directory", 3, "sub/../.."), (uint32_t)kNotcapable);
  uint32_t l1 = h.Put(Harness::kPath, "inside"), l2 = h.Put(Harness::kPath2, "../stolen");
  EXPECT_EQ(h.Call("path_rename",
                   {I(3), I(Harness::kPath), I(l1), I(3), I(Harness::kPath2), I(l2)}),
            (uint32_t)kNotcapable);
  EXPECT_EQ(h.Call("path_link",
                   {I(3), I(0), I(Harness::kPath), I(l1), I(3), I(Harness::kPath2), I(l2)}),
            (uint32_t)kNotcapable);
  l1 = h.Put(Harness::kPath, "../secret");
  l2 = h.Put(Harness::kPath2, "stolen");
  EXPECT_EQ(h.Call("path_link",
                   {I(3), I(0), I(Harness::kPath), I(l1), I(3), I(Harness::kPath2), I(l2)}),
            (uint32_t)kNotcapable);
  EXPECT_EQ(h.Call("path_filestat_get", {I(3), I(1), I(Harness::kPath), I(l1), I(0)}),
            (uint32_t)kNotcapable);
  // Absolute symlink targets cannot be created.
  l1 = h.Put(Harness::kPath, "/etc/passwd");
  EXPECT_EQ(h.Call("path_symlink", {I(Harness::kPath), I(l1), I(3), I(Harness::kPath2), I(l2)}),
            (uint32_t)kNotcapable);
  // The files outside are untouched.
  EXPECT_EQ(access((root_ + "/secret").c_str(), F_OK), 0);
  EXPECT_NE(access((root_ + "/stolen").c_str(), F_OK), 0);
  EXPECT_NE(access((root_ + "/newdir").c_str(), F_OK), 0);
}

TEST_F(SandboxTest, InsideLinksWork) {
  Harness h = Make(false);
  uint32_t fd = 0;
  for (const char* p :
       {"ok_link", "sub/ok_up", "sub/../inside", "./sub/./../inside", "sub//ok_up"}) {
    ASSERT_EQ(h.Open(3, p, 0, right::kFdRead, kLookupSymlinkFollow, &fd), 0u) << p;
    std::string got;
    ASSERT_EQ(h.Read(fd, 100, &got), 0u);
    EXPECT_EQ(got, "INSIDE") << p;
  }
  // A directory fd opened below the preopen is its own root: no `..` above it.
  uint32_t sub = 0;
  ASSERT_EQ(h.Open(3, "sub", kOflagDirectory, right::kPathOpen, 1, &sub), 0u);
  EXPECT_EQ(h.Open(sub, "../inside"), (uint32_t)kNotcapable);
  EXPECT_EQ(h.Open(sub, "ok_up"), (uint32_t)kNotcapable);
}

TEST_F(SandboxTest, ReadOnlyPreopen) {
  Harness h = Make(true);
  // fdstat reflects read-only.
  ASSERT_EQ(h.Call("fd_fdstat_get", {I(3), I(0)}), 0u);
  uint64_t base = h.U64(8);
  EXPECT_FALSE(base & right::kPathCreateFile);
  EXPECT_FALSE(base & right::kPathUnlinkFile);
  EXPECT_FALSE(base & right::kPathRenameSource);
  EXPECT_TRUE(base & right::kPathOpen);
  EXPECT_TRUE(base & right::kFdReaddir);
  // Reads work.
  uint32_t fd = 0;
  ASSERT_EQ(h.Open(3, "inside", 0, right::kFdRead, 1, &fd), 0u);
  std::string got;
  ASSERT_EQ(h.Read(fd, 100, &got), 0u);
  EXPECT_EQ(got, "INSIDE");
  EXPECT_EQ(h.Write(fd, "x"), (uint32_t)kRofs);
  EXPECT_EQ(h.Call("fd_filestat_set_size", {I(fd), L(0)}), (uint32_t)kRofs);
  // Every modification is refused with EROFS.
  EXPECT_EQ(h.Open(3, "inside", 0, right::kFdRead | right::kFdWrite), (uint32_t)kRofs);
  EXPECT_EQ(h.Open(3, "new", kOflagCreat, right::kFdRead), (uint32_t)kRofs);
  EXPECT_EQ(h.Open(3, "inside", kOflagTrunc, right::kFdRead), (uint32_t)kRofs);
  EXPECT_EQ(h.PathCall("path_create_directory", 3, "d"), (uint32_t)kRofs);
  EXPECT_EQ(h.PathCall("path_unlink_file", 3, "inside"), (uint32_t)kRofs);
  EXPECT_EQ(h.PathCall("path_remove_directory", 3, "sub"), (uint32_t)kRofs);
  uint32_t l1 = h.Put(Harness::kPath, "inside"), l2 = h.Put(Harness::kPath2, "moved");
  EXPECT_EQ(h.Call("path_rename",
                   {I(3), I(Harness::kPath), I(l1), I(3), I(Harness::kPath2), I(l2)}),
            (uint32_t)kRofs);
  EXPECT_EQ(h.Call("path_symlink", {I(Harness::kPath), I(l1), I(3), I(Harness::kPath2), I(l2)}),
            (uint32_t)kRofs);
  EXPECT_EQ(h.Call("path_filestat_set_times",
                   {I(3), I(0), I(Harness::kPath), I(l1), L(0), L(0), I(kFstMtimNow)}),
            (uint32_t)kRofs);
  // Subdirectories inherit read-only; rights cannot be regained.
  uint32_t sub = 0;
  EXPECT_EQ(h.Open(3, "sub", kOflagDirectory, right::kPathOpen | right::kPathCreateFile, 1),
            (uint32_t)kNotcapable);
  ASSERT_EQ(h.Open(3, "sub", kOflagDirectory, right::kPathOpen, 1, &sub), 0u);
  EXPECT_EQ(h.Open(sub, "x", kOflagCreat, right::kFdRead), (uint32_t)kRofs);
  EXPECT_EQ(h.Call("fd_fdstat_set_rights", {I(3), L(right::kAll), L(right::kAll)}),
            (uint32_t)kNotcapable);
  EXPECT_EQ(access((box_ + "/inside").c_str(), F_OK), 0);
  EXPECT_NE(access((box_ + "/moved").c_str(), F_OK), 0);
  EXPECT_NE(access((box_ + "/new").c_str(), F_OK), 0);
}

// While the resolver walks "race/a/secret_here", another thread keeps swapping
// `race/a` between a real directory and a symlink to the outside. The
// resolver must never open the outside file.
TEST_F(SandboxTest, RenameRaceNeverEscapes) {
  std::string race = box_ + "/race";
  ASSERT_EQ(mkdir(race.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((race + "/real").c_str(), 0755), 0);
  WriteFile(race + "/real/target", "INSIDE");
  std::string outside = root_ + "/outdir";
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  WriteFile(outside + "/target", "SECRET");
  ASSERT_EQ(symlink(outside.c_str(), (race + "/evil").c_str()), 0);
  ASSERT_EQ(symlink("../../outdir", (race + "/evil_rel").c_str()), 0);
  ASSERT_EQ(rename((race + "/real").c_str(), (race + "/a").c_str()), 0);

  int base = open(box_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(base, 0);
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    std::string a = race + "/a", real = race + "/real", evil = race + "/evil",
                rel = race + "/evil_rel";
    bool flip = false;
    while (!stop.load()) {
      // a: real dir -> absolute link -> real dir -> relative link -> ...
      rename(a.c_str(), real.c_str());
      rename((flip ? evil : rel).c_str(), a.c_str());
      rename(a.c_str(), (flip ? evil : rel).c_str());
      rename(real.c_str(), a.c_str());
      flip = !flip;
    }
  });
  int inside = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    ResolvedPath rp;
    Errno e = ResolvePath(base, "race/a/target", true, &rp);
    if (e != kSuccess) {
      ++refused;
      continue;
    }
    int fd = openat(rp.dirfd, rp.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      ++refused;
      continue;
    }
    char buf[16] = {};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    ASSERT_GT(n, 0);
    ASSERT_STREQ(buf, "INSIDE") << "escaped on iteration " << i;
    ++inside;
  }
  stop = true;
  swapper.join();
  close(base);
  EXPECT_GT(inside, 0);
  RecordProperty("inside", inside);
  RecordProperty("refused", refused);
}

}  // namespace
}  // namespace arcella::wasi::test
