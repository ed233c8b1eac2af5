// Issue 6, bounded input, hot-deploy and home: each observed failure against
// a real daemon. Special and huge files are refused by type or size before
// reading (memory stays flat), deep TOML never reaches toml++, a half-written
// .wasm is not deployed, the hot-deploy folder never replaces a module
// installed by hand and remembers what it created across restarts, and a
// shared home is refused and left as it was.
#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

constexpr int kFewSeconds = 10'000;

// Peak resident memory of `pid` in KiB (VmHWM).
long PeakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::string DaemonLog(const Daemon& d) {
  return Sh("cat " + ShellQuote(d.home() + "/daemon.out")).out;
}

bool LogHas(const Daemon& d, const std::string& text) {
  return DaemonLog(d).find(text) != std::string::npos;
}

std::string ListedModules(const Daemon& d) {
  std::string s;
  for (const auto& m : Request(d, "module.list").value("modules", Json::array()))
    s += m["id"].get<std::string>() + ";";
  return s;
}

// "id state replicas;" per deployment.
std::string Deployments(const Daemon& d) {
  std::string s;
  for (const auto& dep : Request(d, "status").value("deployments", Json::array()))
    s += dep["id"].get<std::string>() + " " + dep["state"].get<std::string>() + " " +
         std::to_string(dep["replicas"].get<int>()) + ";";
  return s;
}

// The result of `answer` on `target`, or the error.
std::string Answer(const Daemon& d, const std::string& target) {
  Json j = Request(d, "call", {{"target", target}, {"export", "answer"}});
  if (j.contains("error")) return "error: " + j["error"].dump();
  return j["results"].dump();
}

// Copies to a hidden name in `dir`, then renames it into place.
void DropIntoDeploy(const std::string& from, const std::string& dir, const std::string& name) {
  CopyFile(from, dir + "/." + name);
  ASSERT_EQ(rename((dir + "/." + name).c_str(), (dir + "/" + name).c_str()), 0);
}

// Drops two small marker modules, one after the other, waiting each time
// until the folder installed and started it. Scans run one at a time, so when
// the second is running, the scan that started the first has finished: every
// file that was in the folder before has been seen by two scans and, if it
// was going to be applied, has been.
void WaitTwoScans(const Daemon& d, const std::string& marker) {
  for (const char* suffix : {"a", "b"}) {
    std::string id = marker + suffix + "@1.0.0";
    DropIntoDeploy(test::FixturePath("reactor_small.wasm"), d.home() + "/deploy", id + ".wasm");
    ASSERT_TRUE(
        WaitFor([&] { return Deployments(d).find(id + "/default active 1;") != std::string::npos; },
                kFewSeconds))
        << DaemonLog(d);
  }
}

// `list` ("a;b;") without the markers' entries.
std::string NoMarkers(const std::string& list) {
  std::string out;
  for (size_t i = 0; i < list.size();) {
    size_t e = list.find(';', i);
    if (e == std::string::npos) e = list.size();
    std::string item = list.substr(i, e - i);
    if (item.rfind("marker", 0) != 0) out += item + ";";
    i = e + 1;
  }
  return out;
}

// Offset of the data section (id 11) of a wasm binary.
size_t DataSectionOffset(const std::vector<uint8_t>& w) {
  size_t p = 8;
  while (p < w.size()) {
    size_t start = p;
    uint8_t id = w[p++];
    uint64_t len = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t b = w[p++];
      len |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (id == 11) return start;
    p += len;
  }
  return 0;
}

TEST(Input, InstallOfSpecialAndHugeFilesRefusedQuicklyWithFlatMemory) {
  Daemon d;
  std::string work = test::TempDir("input-install");
  WriteText(work + "/m.toml", "[component]\nname = \"zero\"\nversion = \"1.0.0\"\n");
  ASSERT_EQ(mkfifo((work + "/fifo@1.0.0.wasm").c_str(), 0600), 0);
  ASSERT_EQ(mkdir((work + "/dir@1.0.0.wasm").c_str(), 0700), 0);
  ASSERT_EQ(Sh("truncate -s 6G " + ShellQuote(work + "/huge@1.0.0.wasm")).code, 0);
  ASSERT_EQ(symlink("/dev/zero", (work + "/link@1.0.0.wasm").c_str()), 0);
  ASSERT_EQ(symlink((work + "/huge@1.0.0.wasm").c_str(), (work + "/biglink@1.0.0.wasm").c_str()),
            0);
  const long before = PeakRssKb(d.pid());
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"install /dev/zero --manifest " + ShellQuote(work + "/m.toml"),
       "/dev/zero is a character device, not a regular file"},
      {"install " + ShellQuote(work + "/fifo@1.0.0.wasm"),
       "is a FIFO (named pipe), not a regular file"},
      {"install " + ShellQuote(work + "/dir@1.0.0.wasm"), "is a directory, not a regular file"},
      {"install " + ShellQuote(work + "/huge@1.0.0.wasm"),
       "is 6442450944 bytes, over the limit of 268435456 bytes (limits.max_module_bytes)"},
      {"install " + ShellQuote(work + "/link@1.0.0.wasm"),
       "is a character device, not a regular file"},
      {"install " + ShellQuote(work + "/biglink@1.0.0.wasm"),
       "is 6442450944 bytes, over the limit"},
  };
  for (const Case& c : cases) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = d.Cli(c.args);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_LT(ms, 3000) << c.args;
    std::printf("%s: refused in %lld ms\n", c.args.substr(0, 60).c_str(), (long long)ms);
  }
  const long after = PeakRssKb(d.pid());
  std::printf("daemon VmHWM before %ld KiB, after %ld KiB\n", before, after);
  EXPECT_LT(after - before, 32 * 1024) << "peak memory grew by " << (after - before) << " KiB";
  // Still serving: a real module installs and answers.
  CopyFile(test::FixturePath("input_answer7.wasm"), work + "/seven@1.0.0.wasm");
  auto r = d.Cli("install " + ShellQuote(work + "/seven@1.0.0.wasm"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(ListedModules(d), "seven@1.0.0;");
  Sh("rm -rf " + ShellQuote(work));
}

std::string DeepToml() {
  std::string t = "[deployment]\nmodule_id = \"seven@1.0.0\"\n";
  for (int i = 0; i < 200000; ++i) t += "a.";
  return t + "a = 1\n";
}

TEST(Input, DeepDottedKeyViaDeployFileRefusedWithLine) {
  Daemon d;
  std::string work = test::TempDir("input-deep");
  WriteText(work + "/deep.deployment.toml", DeepToml());
  auto r = d.Cli("deploy -f " + ShellQuote(work + "/deep.deployment.toml"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find(".toml:3:62: TOML nested deeper than 32 levels"), std::string::npos)
      << r.out;
  EXPECT_EQ(d.Cli("ping").code, 0);
  Sh("rm -rf " + ShellQuote(work));
}

TEST(Input, DeepTomlAndHugeSymlinkInDeployFolderRefusedNoCrashLoop) {
  Daemon d;
  std::string work = test::TempDir("input-deepdir");
  const std::string dir = d.home() + "/deploy";
  WriteText(work + "/deep.deployment.toml", DeepToml());
  DropIntoDeploy(work + "/deep.deployment.toml", dir, "deep.deployment.toml");
  ASSERT_EQ(Sh("truncate -s 6G " + ShellQuote(work + "/huge.wasm")).code, 0);
  ASSERT_EQ(symlink((work + "/huge.wasm").c_str(), (dir + "/huge@1.0.0.wasm").c_str()), 0);
  ASSERT_EQ(symlink("/dev/zero", (dir + "/zero@1.0.0.wasm").c_str()), 0);
  ASSERT_EQ(mkfifo((dir + "/fifo@1.0.0.wasm").c_str(), 0600), 0);
  const std::string deep_msg = "deep.deployment.toml:3:62: TOML nested deeper than 32 levels";
  const std::string huge_msg = "huge@1.0.0.wasm is 6442450944 bytes, over the limit of 268435456";
  ASSERT_TRUE(WaitFor([&] { return LogHas(d, deep_msg) && LogHas(d, huge_msg); }, kFewSeconds))
      << DaemonLog(d);
  EXPECT_TRUE(LogHas(d, "zero@1.0.0.wasm resolves to a character device, not a regular file"));
  EXPECT_TRUE(LogHas(d, "fifo@1.0.0.wasm is a FIFO (named pipe), not a regular file"));
  WaitTwoScans(d, "marker");
  EXPECT_EQ(d.Cli("ping").code, 0);
  EXPECT_LT(PeakRssKb(d.pid()), 256 * 1024);
  // A restart reads the folder again: no crash loop.
  EXPECT_EQ(d.Stop(), 0);
  std::string log_before = DaemonLog(d);
  size_t seen = 0;
  for (size_t p = 0; (p = log_before.find(deep_msg, p)) != std::string::npos; ++p) ++seen;
  d.Start();
  ASSERT_TRUE(WaitFor(
      [&] {
        std::string log = DaemonLog(d);
        size_t n = 0;
        for (size_t p = 0; (p = log.find(deep_msg, p)) != std::string::npos; ++p) ++n;
        return n > seen;
      },
      kFewSeconds))
      << DaemonLog(d);
  WaitTwoScans(d, "marker2");
  EXPECT_EQ(d.Cli("ping").code, 0);
  EXPECT_EQ(NoMarkers(ListedModules(d)), "");
  Sh("rm -rf " + ShellQuote(work));
}

TEST(Input, HalfWrittenWasmIsNotDeployedUntilComplete) {
  Daemon d;
  const std::string dir = d.home() + "/deploy";
  std::vector<uint8_t> wasm = test::ReadFile(test::FixturePath("input_answer7.wasm"));
  size_t half = DataSectionOffset(wasm);
  ASSERT_GT(half, 8u);
  // The first half, by itself, is a valid module that answers 0.
  int fd = open((dir + "/seven@1.0.0.wasm").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, wasm.data(), half), ssize_t(half));
  WaitTwoScans(d, "marker");
  EXPECT_EQ(NoMarkers(ListedModules(d)), "") << DaemonLog(d);
  // Completed (and closed): deployed, and it answers what the full file says.
  ASSERT_EQ(write(fd, wasm.data() + half, wasm.size() - half), ssize_t(wasm.size() - half));
  close(fd);
  ASSERT_TRUE(WaitFor(
      [&] { return Deployments(d).find("seven@1.0.0/default active 1;") != std::string::npos; },
      kFewSeconds))
      << Deployments(d) << DaemonLog(d);
  EXPECT_EQ(Answer(d, "seven@1.0.0"), "[\"7\"]");
}

TEST(Input, HotDeployFileCannotReplaceAModuleInstalledByHand) {
  Daemon d;
  std::string work = test::TempDir("input-owner");
  CopyFile(test::FixturePath("input_answer7.wasm"), work + "/answer@1.0.0.wasm");
  ASSERT_EQ(d.Cli("install " + ShellQuote(work + "/answer@1.0.0.wasm")).code, 0);
  ASSERT_EQ(d.Cli("deploy answer@1.0.0 --group prod").code, 0);
  ASSERT_EQ(d.Cli("start answer@1.0.0/prod").code, 0);
  ASSERT_TRUE(WaitFor([&] { return Answer(d, "answer@1.0.0/prod") == "[\"7\"]"; }, kFewSeconds))
      << Answer(d, "answer@1.0.0/prod");
  // An impostor in deploy/ with the same id is refused and logged, naming both.
  DropIntoDeploy(test::FixturePath("input_answer666.wasm"), d.home() + "/deploy",
                 "answer@1.0.0.wasm");
  ASSERT_TRUE(WaitFor(
      [&] {
        return LogHas(
            d, "answer@1.0.0.wasm: it carries module id answer@1.0.0, which was installed by hand");
      },
      kFewSeconds))
      << DaemonLog(d);
  WaitTwoScans(d, "marker");
  EXPECT_EQ(Answer(d, "answer@1.0.0/prod"), "[\"7\"]");
  EXPECT_EQ(NoMarkers(Deployments(d)), "answer@1.0.0/prod active 1;");
  // Nor a deployment created by hand.
  WriteText(work + "/prod.deployment.toml",
            "[deployment]\nmodule_id = \"answer@1.0.0\"\ngroup = \"prod\"\nreplicas = 3\n");
  DropIntoDeploy(work + "/prod.deployment.toml", d.home() + "/deploy", "prod.deployment.toml");
  ASSERT_TRUE(WaitFor(
      [&] {
        return LogHas(d, "prod.deployment.toml: deployment answer@1.0.0/prod was created by hand");
      },
      kFewSeconds))
      << DaemonLog(d);
  WaitTwoScans(d, "marker1");
  EXPECT_EQ(NoMarkers(Deployments(d)), "answer@1.0.0/prod active 1;");
  // Deleting the impostor does not remove the user's module either.
  ASSERT_EQ(unlink((d.home() + "/deploy/answer@1.0.0.wasm").c_str()), 0);
  WaitTwoScans(d, "marker2");
  EXPECT_EQ(Answer(d, "answer@1.0.0/prod"), "[\"7\"]");
  Sh("rm -rf " + ShellQuote(work));
}

TEST(Input, RecordSurvivesRestartAndFilesDeletedWhileDownAreUndone) {
  Daemon d;
  const std::string dir = d.home() + "/deploy";
  std::string work = test::TempDir("input-record");
  DropIntoDeploy(test::FixturePath("input_answer7.wasm"), dir, "seven@1.0.0.wasm");
  WriteText(work + "/g.deployment.toml",
            "[deployment]\nmodule_id = \"seven@1.0.0\"\ngroup = \"g\"\n");
  DropIntoDeploy(work + "/g.deployment.toml", dir, "g.deployment.toml");
  ASSERT_TRUE(WaitFor([&] { return Deployments(d) == "seven@1.0.0/g active 1;"; }, kFewSeconds))
      << Deployments(d) << DaemonLog(d);
  // The user scales it; a restart keeps what the folder created as it is.
  ASSERT_EQ(d.Cli("scale seven@1.0.0/g --replicas 2").code, 0);
  auto installed_at = [&] {
    for (const auto& m : Request(d, "module.list").value("modules", Json::array()))
      if (m["id"] == "seven@1.0.0") return m.value("installed_at", int64_t{0});
    return int64_t{0};
  };
  const int64_t first_install = installed_at();
  EXPECT_EQ(d.Stop(), 0);
  d.Start();
  WaitTwoScans(d, "marker");
  EXPECT_EQ(NoMarkers(Deployments(d)), "seven@1.0.0/g active 2;");
  EXPECT_EQ(installed_at(), first_install) << "re-installed after a restart";
  EXPECT_EQ(Answer(d, "seven@1.0.0/g"), "[\"7\"]");
  // Deleted while the daemon is down: undone at the next start.
  EXPECT_EQ(d.Stop(), 0);
  ASSERT_EQ(unlink((dir + "/g.deployment.toml").c_str()), 0);
  ASSERT_EQ(unlink((dir + "/seven@1.0.0.wasm").c_str()), 0);
  d.Start();
  ASSERT_TRUE(WaitFor([&] { return NoMarkers(ListedModules(d)).empty(); }, kFewSeconds))
      << ListedModules(d) << DaemonLog(d);
  EXPECT_EQ(NoMarkers(Deployments(d)), "");
  Sh("rm -rf " + ShellQuote(work));
}

TEST(Input, SharedHomeRefusedAndItsModeUnchanged) {
  std::string shared = test::TempDir("input-shared") + "/tmp";
  ASSERT_EQ(mkdir(shared.c_str(), 0700), 0);
  ASSERT_EQ(chmod(shared.c_str(), 01777), 0);
  auto r = Sh("timeout 20 " + DaemonBin() + " --home " + ShellQuote(shared));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("home " + shared +
                       " is writable by others (mode 1777); use a private directory"),
            std::string::npos)
      << r.out;
  struct stat st;
  ASSERT_EQ(stat(shared.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_FALSE(Exists(shared + "/state.db"));
}

}  // namespace
}  // namespace arcella::e2e
