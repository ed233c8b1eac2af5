// Bounded file reading (file_read.h): special files refused by type before a
// byte is read, sizes capped, a FIFO never blocks.
#include "platform/file_read.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "platform/config.h"
#include "test_util.h"

namespace arcella::platform {
namespace {

const FileReadLimit kCap{1024, "limits.max_module_bytes"};

std::string Message(const std::string& path, const FileReadLimit& limit = kCap) {
  auto r = ReadRegularFile(path, limit);
  EXPECT_FALSE(r.ok()) << path;
  return r.ok() ? "" : r.status().message();
}

TEST(InputFileRead, ReadsARegularFile) {
  std::string p = test::TempDir() + "/f";
  std::ofstream(p) << "hello";
  auto r = ReadRegularFileText(p, kCap);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "hello");
}

TEST(InputFileRead, CharacterDeviceRefusedByType) {
  EXPECT_EQ(Message("/dev/zero"), "/dev/zero is a character device, not a regular file");
}

TEST(InputFileRead, DirectoryRefusedByType) {
  std::string d = test::TempDir();
  EXPECT_EQ(Message(d), d + " is a directory, not a regular file");
}

TEST(InputFileRead, FifoWithoutWriterRefusedWithoutBlocking) {
  std::string p = test::TempDir() + "/fifo";
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Message(p), p + " is a FIFO (named pipe), not a regular file");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(InputFileRead, SymlinksAreJudgedByTheirTarget) {
  std::string d = test::TempDir();
  ASSERT_EQ(::symlink("/dev/zero", (d + "/zero.wasm").c_str()), 0);
  EXPECT_EQ(Message(d + "/zero.wasm"), d + "/zero.wasm is a character device, not a regular file");
  ASSERT_EQ(::symlink(d.c_str(), (d + "/dir.wasm").c_str()), 0);
  EXPECT_NE(Message(d + "/dir.wasm").find("is a directory"), std::string::npos);
}

TEST(InputFileRead, SparseHugeFileRefusedBySizeWithoutReading) {
  std::string p = test::TempDir() + "/huge.wasm";
  int fd = ::open(p.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 6ll << 30), 0);  // 6 GiB, sparse
  ::close(fd);
  auto t0 = std::chrono::steady_clock::now();
  std::string m = Message(p, {256ull << 20, "limits.max_module_bytes"});
  EXPECT_EQ(
      m, p + " is 6442450944 bytes, over the limit of 268435456 bytes (limits.max_module_bytes)");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}

TEST(InputFileRead, CapIsInclusive) {
  std::string d = test::TempDir();
  std::ofstream(d + "/at") << std::string(1024, 'x');
  std::ofstream(d + "/over") << std::string(1025, 'x');
  auto at = ReadRegularFile(d + "/at", kCap);
  ASSERT_TRUE(at.ok()) << at.status().message();
  EXPECT_EQ(at->size(), 1024u);
  EXPECT_NE(Message(d + "/over").find("1025 bytes, over the limit of 1024"), std::string::npos);
}

// /proc files report size 0 and then yield more: the streaming bound still
// stops at cap + 1 bytes.
TEST(InputFileRead, FileLongerThanItsStatSizeIsCutAtTheCap) {
  std::string m = Message("/proc/self/maps", {16, "test cap"});
  EXPECT_EQ(m, "/proc/self/maps grew past the limit of 16 bytes (test cap) while being read");
}

TEST(InputFileRead, MissingFileIsNotFound) {
  auto r = ReadRegularFile("/nonexistent/x.wasm", kCap);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/x.wasm"), std::string::npos);
}

TEST(InputFileRead, OpenForWritingElsewhereSeesAWriter) {
  std::string p = test::TempDir() + "/copying.wasm";
  int w = ::open(p.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(w, 0);
  ASSERT_EQ(::write(w, "ab", 2), 2);
  EXPECT_TRUE(OpenForWritingElsewhere(p));
  ::close(w);
  EXPECT_FALSE(OpenForWritingElsewhere(p));
}

}  // namespace
}  // namespace arcella::platform

namespace arcella::platform {
namespace {

// Configuration files go through the same reader: a FIFO or device named by
// `includes` (or in place of arcella.toml) is refused, never waited on.
TEST(InputFileRead, ConfigIncludesOfSpecialFilesRefused) {
  std::string d = test::TempDir();
  ASSERT_EQ(::mkfifo((d + "/fifo.toml").c_str(), 0600), 0);
  std::ofstream(d + "/a.toml") << "includes = [\"fifo.toml\"]\n";
  std::ofstream(d + "/b.toml") << "includes = [\"/dev/zero\"]\n";
  auto t0 = std::chrono::steady_clock::now();
  auto a = LoadConfig(d + "/a.toml");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), d + "/fifo.toml is a FIFO (named pipe), not a regular file");
  auto b = LoadConfig(d + "/b.toml");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "/dev/zero is a character device, not a regular file");
  auto c = LoadConfig(d + "/fifo.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace arcella::platform
