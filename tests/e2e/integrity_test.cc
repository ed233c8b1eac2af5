// Code integrity of the AOT cache and the compiler's process hygiene, with a
// real `arcella run` and a real daemon (issue 6, observed items 1 and 6).
#include <dirent.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

const char* kWat =
    R"((module (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))))";

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), {});
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0))
        out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

std::vector<std::string> Entries(const std::string& cache) {
  std::vector<std::string> out;
  for (const auto& n : Names(cache))
    if (n.size() > 3 && n.compare(n.size() - 3, 3, ".so") == 0) out.push_back(n);
  return out;
}

std::vector<std::string> TempFolders(const std::string& cache) {
  std::vector<std::string> out;
  for (const auto& n : Names(cache))
    if (n.rfind(".tmp-", 0) == 0) out.push_back(n);
  return out;
}

// The module as a file, and `arcella run --invoke f` on it with an environment prefix.
struct RunFixture {
  std::string work = test::TempDir("integrity");
  std::string wasm = work + "/m.wasm";
  RunFixture() {
    auto bytes = test::Wat(kWat);
    WriteBytes(wasm, bytes);
  }
  CmdResult Run(const std::string& env) const {
    return Sh("env " + env + " " + ShellQuote(DaemonBin()) + " run --tier aot --invoke f " +
              ShellQuote(wasm) + " 5");
  }
  CmdResult RunInHome(const std::string& home) const {
    return Run("-u XDG_CACHE_HOME ARCELLA_HOME=" + ShellQuote(home));
  }
};

// Builds, with the system cc, a shared object whose ELF constructor creates `marker`.
std::vector<uint8_t> ConstructorObject(const std::string& work, const std::string& marker) {
  std::string src = work + "/evil.c", so = work + "/evil.so";
  WriteText(src, "#include <fcntl.h>\n#include <unistd.h>\n"
                 "__attribute__((constructor)) static void pwn(void) {\n"
                 "  int fd = open(\"" +
                     marker +
                     "\", O_WRONLY | O_CREAT, 0644);\n"
                     "  if (fd >= 0) close(fd);\n}\n"
                     "const char* arcella_cache_key(void) { return \"x\"; }\n");
  auto r = Sh("cc -shared -fPIC -o " + ShellQuote(so) + " " + ShellQuote(src));
  EXPECT_EQ(r.code, 0) << r.out;
  return ReadBytes(so);
}

TEST(AotIntegrity, PlantedObjectWithForgedFooterNeverRuns) {
  RunFixture fx;
  std::string home = fx.work + "/home", cache = home + "/cache";
  auto r = fx.RunInHome(home);
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(r.out, "15\n");
  auto entries = Entries(cache);
  ASSERT_EQ(entries.size(), 1u);
  const std::string entry = cache + "/" + entries[0];
  const std::string marker = fx.work + "/PWNED";
  std::vector<uint8_t> evil = ConstructorObject(fx.work, marker);
  ASSERT_FALSE(evil.empty());
  // The check is real: loading the object directly runs its constructor.
  {
    auto probe = Sh("python3 -c 'import ctypes,sys; ctypes.CDLL(sys.argv[1])' " +
                    ShellQuote(fx.work + "/evil.so"));
    ASSERT_EQ(probe.code, 0) << probe.out;
    ASSERT_TRUE(Exists(marker)) << "the planted object's constructor does not work";
    unlink(marker.c_str());
  }

  // 1. The pre-issue-6 footer: sha256(object) + "ARCELLA-AOT-SO1\n" (no key).
  std::vector<uint8_t> forged = evil;
  uint8_t d[32];
  unsigned int len = 32;
  EVP_Digest(evil.data(), evil.size(), d, &len, EVP_sha256(), nullptr);
  forged.insert(forged.end(), d, d + 32);
  const char old_magic[] = "ARCELLA-AOT-SO1\n";
  forged.insert(forged.end(), old_magic, old_magic + 16);
  // 2. Today's footer layout, keyed with a guessed (all-zero) key.
  std::vector<uint8_t> guessed = evil;
  std::string key_name = entries[0].substr(0, entries[0].size() - 3);
  std::vector<uint8_t> material = evil;
  material.insert(material.end(), key_name.begin(), key_name.end());
  uint8_t zero_key[32] = {};
  uint8_t mac[32];
  unsigned int mac_len = 32;
  HMAC(EVP_sha256(), zero_key, 32, material.data(), material.size(), mac, &mac_len);
  guessed.insert(guessed.end(), mac, mac + 32);
  const char magic[] = "ARCELLA-AOT-MAC2";
  guessed.insert(guessed.end(), magic, magic + 16);

  for (const auto* planted : {&forged, &guessed}) {
    WriteBytes(entry, *planted);
    r = fx.RunInHome(home);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("15\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("rejected " + entry), std::string::npos) << r.out;
    EXPECT_FALSE(Exists(marker)) << "the planted object's constructor ran";
    EXPECT_NE(ReadBytes(entry), *planted) << "the planted entry was not replaced";
  }
  // The rebuilt entry is trusted again: no rejection, same answer.
  r = fx.RunInHome(home);
  EXPECT_EQ(r.out, "15\n");
  EXPECT_FALSE(Exists(marker));
}

TEST(AotIntegrity, FlippedEntryIsRejectedAndRebuilt) {
  RunFixture fx;
  std::string home = fx.work + "/home", cache = home + "/cache";
  ASSERT_EQ(fx.RunInHome(home).out, "15\n");
  auto entries = Entries(cache);
  ASSERT_EQ(entries.size(), 1u);
  const std::string entry = cache + "/" + entries[0];
  std::vector<uint8_t> good = ReadBytes(entry);
  for (size_t at : {size_t{0x40}, good.size() / 2, good.size() - 20}) {
    std::vector<uint8_t> bad = good;
    bad[at] ^= 0x01;
    WriteBytes(entry, bad);
    auto r = fx.RunInHome(home);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("rejected " + entry), std::string::npos)
        << "flip at " << at << ": " << r.out;
    EXPECT_NE(r.out.find("15\n"), std::string::npos) << r.out;
    EXPECT_NE(ReadBytes(entry), bad) << "flip at " << at << " not rebuilt";
  }
}

TEST(AotIntegrity, UnsafeCacheDirectoryIsRefused) {
  RunFixture fx;
  std::string home = fx.work + "/home", cache = home + "/cache";
  ASSERT_EQ(fx.RunInHome(home).code, 0);
  ASSERT_EQ(chmod(cache.c_str(), 0777), 0);
  auto r = fx.RunInHome(home);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("refusing " + cache), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0777"), std::string::npos) << r.out;
  ASSERT_EQ(chmod(cache.c_str(), 0700), 0);
  EXPECT_EQ(fx.RunInHome(home).out, "15\n");
  if (geteuid() == 0) {
    ASSERT_EQ(chown(cache.c_str(), 65534, 65534), 0);
    r = fx.RunInHome(home);
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("refusing " + cache), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("owned by uid 65534"), std::string::npos) << r.out;
  }
}

TEST(AotIntegrity, DaemonRefusesAnOpenCacheWithAClearErrorAndKeepsServing) {
  std::string work = test::TempDir("integrity");
  WriteBytes(work + "/integ@1.0.0.wasm", test::Wat(kWat));
  Daemon d;
  std::string cache = d.home() + "/cache";
  ASSERT_EQ(chmod(cache.c_str(), 0777), 0);
  auto r = d.Cli("install " + ShellQuote(work + "/integ@1.0.0.wasm"));
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(cache), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0777"), std::string::npos) << r.out;
  EXPECT_EQ(d.Cli("ping").code, 0);
  ASSERT_EQ(chmod(cache.c_str(), 0700), 0);
  r = d.Cli("install " + ShellQuote(work + "/integ@1.0.0.wasm"));
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST(AotIntegrity, ArcellaRunUsesAPrivatePerUserCache) {
  RunFixture fx;
  // The entry's name does not depend on the cache's place: learn it once.
  std::string probe = fx.work + "/probe";
  ASSERT_EQ(fx.RunInHome(probe).out, "15\n");
  auto entries = Entries(probe + "/cache");
  ASSERT_EQ(entries.size(), 1u);
  const std::string entry = entries[0];

  // XDG_CACHE_HOME wins over HOME.
  std::string xdg = fx.work + "/xdg", home = fx.work + "/home";
  auto r = fx.Run("-u ARCELLA_HOME XDG_CACHE_HOME=" + ShellQuote(xdg) +
                  " HOME=" + ShellQuote(home));
  ASSERT_EQ(r.out, "15\n");
  EXPECT_TRUE(Exists(xdg + "/arcella/" + entry));
  struct stat st;
  ASSERT_EQ(stat((xdg + "/arcella").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_FALSE(Exists(home + "/.cache"));

  // HOME alone: ~/.cache/arcella.
  r = fx.Run("-u ARCELLA_HOME -u XDG_CACHE_HOME HOME=" + ShellQuote(home));
  ASSERT_EQ(r.out, "15\n");
  EXPECT_TRUE(Exists(home + "/.cache/arcella/" + entry));

  // No HOME at all: the password database's home, never /tmp.
  passwd* pw = getpwuid(geteuid());
  ASSERT_NE(pw, nullptr);
  const std::string user_cache = std::string(pw->pw_dir) + "/.cache/arcella";
  unlink((user_cache + "/" + entry).c_str());
  unlink(("/tmp/.arcella/cache/" + entry).c_str());
  r = fx.Run("-u ARCELLA_HOME -u XDG_CACHE_HOME -u HOME");
  ASSERT_EQ(r.out, "15\n") << r.out;
  EXPECT_TRUE(Exists(user_cache + "/" + entry)) << user_cache;
  EXPECT_FALSE(Exists("/tmp/.arcella/cache/" + entry));
  ASSERT_EQ(lstat(user_cache.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_mode & 022, 0u);
  unlink((user_cache + "/" + entry).c_str());
}

// ---- the compiler process: own group, dies with the daemon, leaks nothing.

// Field `n` (1-based) of /proc/<pid>/stat, "" if the process is gone.
std::string StatField(pid_t pid, int n) {
  std::string s = ReadText("/proc/" + std::to_string(pid) + "/stat");
  size_t p = s.rfind(')');
  if (p == std::string::npos) return "";
  std::istringstream rest(s.substr(p + 2));
  std::string f;
  for (int i = 3; i <= n && rest >> f; ++i) {
  }
  return f;
}

// Live (not zombie) processes in process group `pgid`.
std::vector<pid_t> GroupMembers(pid_t pgid) {
  std::vector<pid_t> out;
  for (const auto& n : Names("/proc")) {
    if (n.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(n);
    if (StatField(pid, 5) == std::to_string(pgid) && StatField(pid, 3) != "Z") out.push_back(pid);
  }
  return out;
}

std::vector<std::string> Sockets(pid_t pid) {
  std::vector<std::string> out;
  std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& n : Names(fd_dir)) {
    char buf[256];
    ssize_t len = readlink((fd_dir + "/" + n).c_str(), buf, sizeof buf - 1);
    if (len > 0 && std::string(buf, static_cast<size_t>(len)).rfind("socket:", 0) == 0)
      out.push_back(n + " -> " + std::string(buf, static_cast<size_t>(len)));
  }
  return out;
}

TEST(AotProcesses, Kill9DuringCompileLeavesNoCompilerNoSocketNoTempFolder) {
  std::string work = test::TempDir("integrity");
  WriteBytes(work + "/integ@1.0.0.wasm", test::Wat(kWat));
  // A "compiler" that starts a grandchild and never finishes.
  std::string cc = work + "/slow-cc.sh";
  WriteText(cc, "#!/bin/sh\necho $$ > " + work + "/cc.pid.tmp && mv " + work + "/cc.pid.tmp " +
                    work + "/cc.pid\nsleep 600 &\necho $! > " + work + "/sleep.pid.tmp && mv " +
                    work + "/sleep.pid.tmp " + work + "/sleep.pid\nwait\n");
  ASSERT_EQ(chmod(cc.c_str(), 0755), 0);
  setenv("CC", cc.c_str(), 1);
  Daemon d;
  unsetenv("CC");
  const std::string cache = d.home() + "/cache";
  Sh(CliBin() + " --home " + ShellQuote(d.home()) + " install " +
     ShellQuote(work + "/integ@1.0.0.wasm") + " >/dev/null 2>&1 &");
  ASSERT_TRUE(
      WaitFor([&] { return Exists(work + "/cc.pid") && Exists(work + "/sleep.pid"); }, 30000))
      << ReadText(d.home() + "/daemon.out");
  pid_t cc_pid = std::stoi(ReadText(work + "/cc.pid"));
  pid_t sleep_pid = std::stoi(ReadText(work + "/sleep.pid"));
  const pid_t pgid = std::stoi(StatField(cc_pid, 5));
  EXPECT_NE(pgid, getpgrp());
  EXPECT_NE(pgid, std::stoi(StatField(d.pid(), 5)))
      << "the compiler shares the daemon's process group";
  EXPECT_TRUE(Sockets(cc_pid).empty()) << "compiler inherited: " << Sockets(cc_pid)[0];
  EXPECT_TRUE(Sockets(sleep_pid).empty()) << "grandchild inherited: " << Sockets(sleep_pid)[0];
  ASSERT_FALSE(TempFolders(cache).empty());

  d.Kill9();
  EXPECT_TRUE(WaitFor([&] { return GroupMembers(pgid).empty(); }, 10000))
      << GroupMembers(pgid).size() << " processes of the compiler's group survive the daemon";
  EXPECT_FALSE(TempFolders(cache).empty()) << "(the folder is the dead daemon's leftover)";

  // The restarted daemon starts, listens, cleans the leftover and compiles.
  d.Start();
  ASSERT_EQ(d.Cli("ping").code, 0) << ReadText(d.home() + "/daemon.out");
  EXPECT_TRUE(TempFolders(cache).empty()) << TempFolders(cache)[0] << " left after restart";
  auto r = d.Cli("install " + ShellQuote(work + "/integ@1.0.0.wasm"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Entries(cache).size(), 1u);
}

}  // namespace
}  // namespace arcella::e2e
