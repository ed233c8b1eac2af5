// AOT compile cache: hits, corrupt entries, concurrent compiles, errors.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "aot_test_util.h"
#include "engine/aot/compiler.h"

namespace arcella::engine::aot_test {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The cache's files except its key, unit objects (*.o) and compile locks
// (*.lock; see aot_split_test.cc for those).
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != ".." &&
          std::string(e->d_name) != "key" && !EndsWith(e->d_name, ".o") &&
          !EndsWith(e->d_name, ".lock"))
        out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

const char* kWat =
    R"((module (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))))";

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
  EXPECT_NE(r.status().message().find("/nonexistent/cc"), std::string::npos)
      << r.status().ToString();
  o.cc = "false";
  r = CompileAot(in, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("failed"), std::string::npos);
  EXPECT_EQ(ListDir(dir).size(), 0u);
}

// ---- integrity: a private, keyed cache loaded from verified bytes (issue 6).

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), {});
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

TEST(AotCacheIntegrityTest, KeyIsPrivateAndEntriesAreBoundToIt) {
  std::string dir = test::TempDir("aot-cache") + "/c";
  BackendInput in = InputFor(test::Wat(kWat));
  std::string path;
  {
    auto obj = aot::CompileAndLoad(in, OptionsIn(dir));
    ASSERT_TRUE(obj.ok()) << obj.status().ToString();
    path = (*obj)->path;
  }
  struct stat st;
  ASSERT_EQ(lstat((dir + "/key").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(st.st_uid, geteuid());
  // Same cache, same key: a hit.
  bool hit = false;
  ASSERT_TRUE(aot::CompileAndLoad(in, OptionsIn(dir), &hit).ok());
  EXPECT_TRUE(hit);
  // Another key (a copied-in entry from elsewhere): the entry is not trusted.
  std::vector<uint8_t> key = ReadFile(dir + "/key");
  key[0] ^= 1;
  WriteFile(dir + "/key", key);
  auto obj = aot::CompileAndLoad(in, OptionsIn(dir), &hit);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  EXPECT_FALSE(hit);
  auto mod = CompileAot(in, OptionsIn(dir));
  ASSERT_TRUE(mod.ok());
  EXPECT_EQ(CallF(**mod), 15);
}

TEST(AotCacheIntegrityTest, ObjectIsMappedFromASealedMemfdNotTheCacheFile) {
  std::string dir = test::TempDir("aot-cache");
  auto obj = aot::CompileAndLoad(InputFor(test::Wat(kWat)), OptionsIn(dir));
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  ASSERT_GE((*obj)->memfd, 0);
  int seals = fcntl((*obj)->memfd, F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_EQ(fcntl((*obj)->memfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  std::string maps = ReadText("/proc/self/maps");
  EXPECT_EQ(maps.find(dir), std::string::npos) << "a cache file is mapped";
  EXPECT_NE(maps.find("memfd:arcella-aot"), std::string::npos);
}

TEST(AotCacheIntegrityTest, UnsafeCacheDirectoriesAreRefused) {
  std::string base = test::TempDir("aot-cache");
  BackendInput in = InputFor(test::Wat(kWat));
  // Group/other-writable.
  std::string open_dir = base + "/open";
  ASSERT_EQ(mkdir(open_dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(open_dir.c_str(), 0777), 0);
  auto r = aot::CompileAndLoad(in, OptionsIn(open_dir));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(open_dir), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("0777"), std::string::npos) << r.status().message();
  EXPECT_EQ(ListDir(open_dir).size(), 0u);
  struct stat st;
  EXPECT_NE(lstat((open_dir + "/key").c_str(), &st), 0)
      << "nothing is written into a refused cache";
  // A symbolic link to a private directory.
  std::string real = base + "/real", link = base + "/link";
  ASSERT_EQ(mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  r = aot::CompileAndLoad(in, OptionsIn(link));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("symbolic link"), std::string::npos) << r.status().message();
  // Owned by someone else (needs root to arrange).
  if (geteuid() == 0) {
    std::string foreign = base + "/foreign";
    ASSERT_EQ(mkdir(foreign.c_str(), 0700), 0);
    ASSERT_EQ(chown(foreign.c_str(), 65534, 65534), 0);
    r = aot::CompileAndLoad(in, OptionsIn(foreign));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("uid 65534"), std::string::npos) << r.status().message();
  }
  // A key readable by others is refused, not used.
  std::string loose = base + "/loose";
  ASSERT_TRUE(aot::PrepareCache(OptionsIn(loose)).ok());
  ASSERT_EQ(chmod((loose + "/key").c_str(), 0644), 0);
  r = aot::CompileAndLoad(in, OptionsIn(loose));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(loose + "/key"), std::string::npos) << r.status().message();
}

TEST(AotCacheIntegrityTest, CompileFoldersOfDeadProcessesAreRemoved) {
  std::string dir = test::TempDir("aot-cache");
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  std::string stale = dir + "/.tmp-" + std::to_string(dead) + "-12345-abcdef0123456789-Xy12Zq";
  ASSERT_EQ(mkdir(stale.c_str(), 0700), 0);
  WriteFile(stale + "/m.c", {'x'});
  ASSERT_EQ(mkdir((stale + "/sub").c_str(), 0700), 0);
  // A live process's folder (ours, as named by the engine) stays.
  std::string stat_line = ReadText("/proc/self/stat");
  std::istringstream rest(stat_line.substr(stat_line.rfind(')') + 2));
  std::string field, start;
  for (int i = 3; i <= 22 && rest >> field; ++i) start = field;
  std::string live = dir + "/.tmp-" + std::to_string(getpid()) + "-" + start + "-live-AAAAAA";
  ASSERT_EQ(mkdir(live.c_str(), 0700), 0);
  // Our pid with another start time: a previous process that had our pid.
  std::string reused = dir + "/.tmp-" + std::to_string(getpid()) + "-1-old-BBBBBB";
  ASSERT_EQ(mkdir(reused.c_str(), 0700), 0);
  ASSERT_TRUE(aot::PrepareCache(OptionsIn(dir)).ok());
  struct stat st;
  EXPECT_NE(lstat(stale.c_str(), &st), 0) << "stale folder kept";
  EXPECT_NE(lstat(reused.c_str(), &st), 0) << "folder of a reused pid kept";
  EXPECT_EQ(lstat(live.c_str(), &st), 0) << "a live process's folder was removed";
}

TEST(AotCacheIntegrityTest, CompilerRunsInItsOwnGroupWithOnlyStdio) {
  // A "compiler" that records what it inherited, then fails.
  std::string dir = test::TempDir("aot-cache");
  std::string script = dir + "/fake-cc.sh";
  {
    // The signal mask is read as the compiler's children inherit it:
    // /proc/self of grep, not /proc/$$ of the shell, which dash reads while
    // it briefly blocks every signal around its fork and wait (flaky 1 in 2).
    std::ofstream f(script);
    f << "#!/bin/sh\nls -l /proc/$$/fd/ > " << dir << "/fds.txt\n"
      << "cut -d' ' -f5 /proc/$$/stat > " << dir << "/pgid.txt\n"
      << "grep SigBlk /proc/self/status > " << dir << "/sigblk.txt\nexit 3\n";
  }
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  // Descriptors opened without close-on-exec must still not reach the compiler.
  int leak = open((dir + "/leakme").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(leak, 0);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  CompileOptions o = OptionsIn(dir + "/cache");
  o.cc = script;
  auto r = CompileAot(InputFor(test::Wat(kWat)), o);
  close(leak);
  close(sv[0]);
  close(sv[1]);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exit status 3"), std::string::npos) << r.status().message();
  std::string fds = ReadText(dir + "/fds.txt");
  ASSERT_FALSE(fds.empty());
  EXPECT_EQ(fds.find("leakme"), std::string::npos) << fds;
  EXPECT_EQ(fds.find("socket:"), std::string::npos) << fds;
  EXPECT_EQ(fds.find("pipe:"), std::string::npos) << fds;
  pid_t pgid = std::stoi(ReadText(dir + "/pgid.txt"));
  EXPECT_NE(pgid, getpgrp()) << "the compiler shares our process group";
  EXPECT_NE(ReadText(dir + "/sigblk.txt").find("0000000000000000"), std::string::npos);
  for (const auto& f : ListDir(dir + "/cache"))
    EXPECT_NE(f.rfind(".tmp-", 0), 0u) << f << " left behind";
}

}  // namespace
}  // namespace arcella::engine::aot_test
