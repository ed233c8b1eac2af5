#include "platform/blob_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/sha256.h"
#include "test_util.h"

namespace arcella::platform {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(BlobStore, PutGetRemove) {
  std::string dir = test::TempDir() + "/modules";
  auto bs = BlobStore::Open(dir);
  ASSERT_TRUE(bs.ok()) << bs.status().ToString();
  auto data = Bytes(std::string("\0asm\1\0\0\0", 8));
  auto h = bs->Put(data);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, Sha256Hex(std::span<const uint8_t>(data)));
  EXPECT_EQ(bs->PathOf(*h), dir + "/" + *h + ".wasm");
  EXPECT_TRUE(bs->Contains(*h));
  EXPECT_EQ(*bs->Get(*h), data);
  EXPECT_EQ(*bs->Put(data), *h);  // idempotent
  EXPECT_EQ(bs->List()->size(), 1u);
  struct stat st;
  ASSERT_EQ(::stat(bs->PathOf(*h).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_TRUE(bs->Remove(*h).ok());
  EXPECT_FALSE(bs->Contains(*h));
  EXPECT_EQ(bs->Get(*h).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bs->Remove(*h).code(), StatusCode::kNotFound);
  EXPECT_EQ(bs->Get("../etc/passwd").status().code(), StatusCode::kInvalidArgument);
}

TEST(BlobStore, DetectsCorruptionAndRepairsOnPut) {
  auto bs = BlobStore::Open(test::TempDir());
  ASSERT_TRUE(bs.ok());
  auto data = Bytes("module bytes");
  std::string h = *bs->Put(data);
  std::ofstream(bs->PathOf(h), std::ios::trunc) << "tampered";
  auto got = bs->Get(h);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kCorruption);
  EXPECT_NE(got.status().message().find("damaged"), std::string::npos);
  ASSERT_TRUE(bs->Put(data).ok());
  EXPECT_EQ(*bs->Get(h), data);
}

TEST(BlobStore, StaleTempFilesAreCleanedAtOpen) {
  std::string dir = test::TempDir();
  {
    auto bs = BlobStore::Open(dir);
    ASSERT_TRUE(bs.ok());
    ASSERT_TRUE(bs->Put(Bytes("kept")).ok());
  }
  // What an install interrupted between write and rename leaves behind.
  std::ofstream(dir + "/.tmp-1234-0") << "half written";
  std::ofstream(dir + "/.tmp-1234-1") << "";
  auto bs = BlobStore::Open(dir);
  ASSERT_TRUE(bs.ok());
  EXPECT_EQ(bs->cleaned_temp_files(), 2);
  struct stat st;
  EXPECT_NE(::stat((dir + "/.tmp-1234-0").c_str(), &st), 0);
  EXPECT_EQ(bs->List()->size(), 1u);
}

TEST(BlobStore, UnwritableDirectoryIsIoError) {
  std::string file = test::TempDir() + "/not-a-dir";
  std::ofstream(file) << "x";
  auto bs = BlobStore::Open(file + "/modules");
  ASSERT_FALSE(bs.ok());
  EXPECT_EQ(bs.status().code(), StatusCode::kIoError);
  EXPECT_NE(bs.status().message().find(file), std::string::npos);
}

}  // namespace
}  // namespace arcella::platform
