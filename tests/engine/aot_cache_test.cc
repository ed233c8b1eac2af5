// AOT compile cache: hits, corrupt entries, concurrent compiles, errors.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "aot_test_util.h"
#include "engine/aot/compiler.h"

namespace arcella::engine::aot_test {
namespace {

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

const char* kWat = R"((module (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))))";

int32_t CallF(ModuleBackend& m) {
  auto inst = Inst(m);
  std::vector<Value> r(1);
  EXPECT_FALSE(inst->Call(0, std::vector<Value>{Value::I32(5)}, r));
  return static_cast<int32_t>(r[0].i32);
}

TEST(AotCacheTest, SecondCompileHitsTheDiskCache) {
  std::string dir = test::TempDir("aot-cache") + "/nested/cache";
  BackendInput in = InputFor(test::Wat(kWat));
  bool hit = true;
  {
    auto obj = aot::CompileAndLoad(in, OptionsIn(dir), &hit);
    ASSERT_TRUE(obj.ok()) << obj.status().ToString();
    EXPECT_FALSE(hit);
    // While loaded, the same module is shared in-process.
    auto again = aot::CompileAndLoad(in, OptionsIn(dir), &hit);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(hit);
    EXPECT_EQ(obj->get(), again->get());
  }
  auto obj = aot::CompileAndLoad(in, OptionsIn(dir), &hit);
  ASSERT_TRUE(obj.ok());
  EXPECT_TRUE(hit);  // from disk
  auto files = ListDir(dir);
  ASSERT_EQ(files.size(), 1u) << "temp files left behind";
  EXPECT_EQ(files[0].size(), 64u + 3);  // <sha256>.so
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto mod = CompileAot(in, OptionsIn(dir));
  ASSERT_TRUE(mod.ok());
  EXPECT_EQ(CallF(**mod), 15);
}

TEST(AotCacheTest, CorruptEntryIsRebuilt) {
  std::string dir = test::TempDir("aot-cache");
  BackendInput in = InputFor(test::Wat(kWat));
  std::string path;
  {
    auto obj = aot::CompileAndLoad(in, OptionsIn(dir));
    ASSERT_TRUE(obj.ok());
    path = (*obj)->path;
  }
  for (int mode = 0; mode < 3; ++mode) {
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      ASSERT_TRUE(f.good());
      if (mode == 0) {  // flip a byte in the code
        f.seekp(0x1100);
        f.put('\xcc');
      } else if (mode == 1) {  // damage the footer
        f.seekp(-3, std::ios::end);
        f.put('X');
      }
    }
    if (mode == 2) {
      ASSERT_EQ(truncate(path.c_str(), 1000), 0);
    }
    bool hit = true;
    auto obj = aot::CompileAndLoad(in, OptionsIn(dir), &hit);
    ASSERT_TRUE(obj.ok()) << obj.status().ToString();
    EXPECT_FALSE(hit) << "mode " << mode;
    auto mod = CompileAot(in, OptionsIn(dir));
    ASSERT_TRUE(mod.ok());
    EXPECT_EQ(CallF(**mod), 15);
  }
}

TEST(AotCacheTest, ConcurrentCompilesOfTheSameModule) {
  std::string dir = test::TempDir("aot-cache");
  BackendInput in = InputFor(test::Wat(kWat));
  std::vector<std::shared_ptr<ModuleBackend>> mods(4);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      auto m = CompileAot(in, OptionsIn(dir));
      if (m.ok()) mods[i] = *m;
    });
  }
  for (auto& t : ts) t.join();
  for (auto& m : mods) {
    ASSERT_TRUE(m);
    EXPECT_EQ(CallF(*m), 15);
  }
  EXPECT_EQ(ListDir(dir).size(), 1u);
}

TEST(AotCacheTest, ConcurrentCompilesFromSeparateProcesses) {
  std::string dir = test::TempDir("aot-cache");
  BackendInput in = InputFor(test::Wat(kWat));
  std::vector<pid_t> kids;
  for (int i = 0; i < 4; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto m = CompileAot(in, OptionsIn(dir));
      _exit(m.ok() ? 0 : 1);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    ASSERT_EQ(waitpid(k, &status, 0), k);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(ListDir(dir).size(), 1u);
  bool hit = false;
  auto obj = aot::CompileAndLoad(in, OptionsIn(dir), &hit);
  ASSERT_TRUE(obj.ok());
  EXPECT_TRUE(hit);
}

TEST(AotCacheTest, CompilerFailuresAreErrors) {
  std::string dir = test::TempDir("aot-cache");
  BackendInput in = InputFor(test::Wat(kWat));
  CompileOptions o = OptionsIn(dir);
  o.cc = "/nonexistent/cc";
  auto r = CompileAot(in, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/cc"), std::string::npos) << r.status().ToString();
  o.cc = "false";
  r = CompileAot(in, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("failed"), std::string::npos);
  EXPECT_EQ(ListDir(dir).size(), 0u);
}

}  // namespace
}  // namespace arcella::engine::aot_test
