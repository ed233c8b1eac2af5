// Tier-up of `arcella run --tier auto` (src/tools/run_command.cc,
// background_compile.h), with real `arcella` processes and a real compiler:
// the first run of a big module runs on the interpreter at once while a
// detached `arcella compile` builds its AOT code, and the next run is a warm
// AOT hit. The compiler is `cc` behind a gate (a script that waits for a file
// before it execs cc), so that the order of events is fixed by the test, not
// by the machine's speed: the run ends while the compile waits at the gate.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"
#include "e2e/progress_util.h"
#include "test_util.h"

namespace arcella::e2e {
namespace {

// Deadlines, not delays: sanitizer builds are slow.
constexpr int kTierUpWaitMs = 120'000;
// arcella run's threshold (run_command.cc kTierUpCodeBytes) is 128 KiB of
// code; the "big" module has more, the small one much less.
constexpr int kBigFillers = 1600;  // about 120 bytes of code each: ~195 KB

// A WASI command that prints "tier-up SALT ok" (after reading a line of
// stdin if `read_stdin`), with `fillers` functions nobody calls to make the
// code section big.
std::string WriteTierUpModule(const std::string& dir, const std::string& name, int fillers,
                              int salt, bool read_stdin = false) {
  const std::string text = "tier-up " + std::to_string(salt) + " ok\\n";
  std::ostringstream w;
  w << "(module\n"
    << " (import \"wasi_snapshot_preview1\" \"fd_write\" (func $fd_write (param i32 i32 i32 i32) "
       "(result i32)))\n"
    << " (import \"wasi_snapshot_preview1\" \"fd_read\" (func $fd_read (param i32 i32 i32 i32) "
       "(result i32)))\n"
    << " (memory (export \"memory\") 1)\n"
    << " (data (i32.const 64) \"" << text << "\")\n"
    << " (func (export \"_start\")\n";
  if (read_stdin)
    w << "  (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 256))\n"
      << "  (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))\n";
  w << "  (i32.store (i32.const 0) (i32.const 64))\n"
    << "  (i32.store (i32.const 4) (i32.const " << (text.size() - 1) << "))\n"
    << "  (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))\n";
  for (int i = 0; i < fillers; ++i) {
    w << "(func $fill" << i << " (param i32) (result i32) (local $a i32)\n";
    for (int k = 0; k < 8; ++k)
      w << "  local.get 0 i32.const " << (i * 13 + k + salt) << " i32.add local.get $a i32.xor "
        << "i32.const " << (k + 3) << " i32.mul local.set $a\n";
    w << "  local.get $a)\n";
  }
  w << ")\n";
  const std::string wat = dir + "/" + name + ".wat", wasm = dir + "/" + name;
  {
    std::ofstream f(wat);
    f << w.str();
  }
  auto r = Sh("wat2wasm -o " + ShellQuote(wasm) + " " + ShellQuote(wat));
  EXPECT_EQ(r.code, 0) << r.out;
  return wasm;
}

// A home (ARCELLA_HOME) whose compiles use `cc` only once `Open()` was called.
class GatedHome {
 public:
  GatedHome() : dir_(test::TempDir("tier-up")) {
    std::ofstream f(cc());
    f << "#!/bin/sh\nwhile [ ! -e '" << gate() << "' ]; do sleep 0.05; done\nexec cc \"$@\"\n";
    f.close();
    chmod(cc().c_str(), 0755);
  }
  ~GatedHome() {
    Open();  // a compile still running may finish; then make sure none is left
    for (pid_t p : Compiles()) kill(p, SIGTERM);
    WaitFor([&] { return Compiles().empty(); }, kTierUpWaitMs);
  }
  const std::string& dir() const { return dir_; }
  std::string cache() const { return dir_ + "/home/cache"; }
  std::string cc() const { return dir_ + "/gated-cc"; }
  std::string gate() const { return dir_ + "/gate-open"; }
  void Open() const { std::ofstream(gate()).put('\n'); }
  std::vector<std::string> Env() const { return {"ARCELLA_HOME=" + dir_ + "/home", "CC=" + cc()}; }

  // `arcella compile` processes working for this home (their file is in it).
  std::vector<pid_t> Compiles() const {
    std::vector<pid_t> out;
    for (const std::string& p : ProcessesMentioning(dir_))
      if (p.find(" compile -q --metering ") != std::string::npos)
        out.push_back(static_cast<pid_t>(std::stol(p)));
    return out;
  }

  // Metadata records in the cache: one once a module is compiled.
  size_t Records() const {
    auto r = Sh("ls " + ShellQuote(cache()) + " 2>/dev/null | grep -c '\\.meta$'");
    return static_cast<size_t>(std::atoi(r.out.c_str()));
  }

  // Runs `arcella ARGS` to its end (stdout and stderr together).
  CmdResult Run(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {DaemonBin()};
    argv.insert(argv.end(), args.begin(), args.end());
    Child c(argv, Env(), /*terminal=*/false);
    CmdResult r;
    r.code = c.Wait(kTierUpWaitMs);
    r.out = c.output();
    return r;
  }

 private:
  std::string dir_;
};

bool TierUpAlive(pid_t pid) { return kill(pid, 0) == 0; }

// The pid in "... in the background (pid N) ...", or -1.
pid_t BackgroundPid(const std::string& out) {
  const std::string key = "in the background (pid ";
  size_t at = out.find(key);
  if (at == std::string::npos) return -1;
  return static_cast<pid_t>(std::atol(out.c_str() + at + key.size()));
}

// Field `n` (1-based, after the command) of /proc/PID/stat.
long TierUpStatField(pid_t pid, int n) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  std::getline(f, s);
  size_t close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(s.substr(close + 2));
  std::string v;
  for (int i = 3; i <= n && rest >> v; ++i) {
  }
  return std::atol(v.c_str());
}

// A module above the real threshold: the run answers on the interpreter and
// exits while the compile it started waits at the gate; the compile is a
// detached, niced `arcella compile` in its own session; then it completes
// and the next run is a warm AOT hit that starts nothing.
TEST(TierUpE2E, FirstRunOfABigModuleRunsNowAndCompilesInTheBackground) {
  GatedHome home;
  const std::string wasm = WriteTierUpModule(home.dir(), "big.wasm", kBigFillers, 1);
  struct stat st;
  ASSERT_EQ(stat(wasm.c_str(), &st), 0);
  ASSERT_GT(st.st_size, 160 * 1024) << "the module must be above the 128 KiB threshold";

  CmdResult first = home.Run({"run", "--progress", "-v", wasm});
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_NE(first.out.find("tier-up 1 ok\n"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("is not compiled yet: running it on the interpreter; compiling it in "
                           "the background (pid "),
            std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find(": interpreter tier (compiling in the background"), std::string::npos)
      << first.out;
  const pid_t bg = BackgroundPid(first.out);
  ASSERT_GT(bg, 0) << first.out;
  // The run is over; its compile is not (it waits at the gate).
  EXPECT_TRUE(TierUpAlive(bg));
  EXPECT_EQ(home.Records(), 0u);
  EXPECT_EQ(home.Compiles(), std::vector<pid_t>{bg});
  EXPECT_NE(getsid(bg), getsid(0)) << "the compile has a session of its own";
  EXPECT_NE(getpgid(bg), getpgid(0));
  EXPECT_EQ(TierUpStatField(bg, 19), std::min(getpriority(PRIO_PROCESS, 0) + 10, 19))
      << "the compile runs at nice +10";

  home.Open();
  ASSERT_TRUE(WaitFor([&] { return !TierUpAlive(bg); }, kTierUpWaitMs))
      << "the compile never ended";
  EXPECT_EQ(home.Records(), 1u) << "the background compile filled the cache";
  EXPECT_EQ(CacheTempEntries(home.cache()), std::vector<std::string>{});

  CmdResult next = home.Run({"run", "--progress", "-v", wasm});
  ASSERT_EQ(next.code, 0) << next.out;
  EXPECT_NE(next.out.find("tier-up 1 ok\n"), std::string::npos) << next.out;
  EXPECT_NE(next.out.find(": aot tier (compiled code from the cache)"), std::string::npos)
      << next.out;
  EXPECT_EQ(next.out.find("not compiled yet"), std::string::npos) << next.out;
  EXPECT_EQ(home.Compiles(), std::vector<pid_t>{});
}

// A second run while the first one's compile runs uses the interpreter too
// and starts no second compile.
TEST(TierUpE2E, ASecondRunDuringTheCompileStartsNoOtherCompile) {
  GatedHome home;
  const std::string wasm = WriteTierUpModule(home.dir(), "m.wasm", 4, 2);
  CmdResult first = home.Run({"run", "--progress", "--tier-up-bytes", "0", wasm});
  ASSERT_EQ(first.code, 0) << first.out;
  const pid_t bg = BackgroundPid(first.out);
  ASSERT_GT(bg, 0) << first.out;
  // Once its compiler waits at the gate, the compile holds the module's lock.
  ASSERT_TRUE(WaitFor([&] { return !Descendants(bg).empty(); }, kTierUpWaitMs));

  CmdResult second = home.Run({"run", "--progress", "-v", "--tier-up-bytes", "0", wasm});
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_NE(second.out.find("tier-up 2 ok\n"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("is being compiled by another process: running it on the interpreter"),
            std::string::npos)
      << second.out;
  EXPECT_EQ(BackgroundPid(second.out), -1) << second.out;
  EXPECT_EQ(home.Compiles(), std::vector<pid_t>{bg});

  home.Open();
  ASSERT_TRUE(WaitFor([&] { return !TierUpAlive(bg); }, kTierUpWaitMs));
  EXPECT_EQ(home.Records(), 1u);
  CmdResult third = home.Run({"run", "-v", "--tier-up-bytes", "0", wasm});
  ASSERT_EQ(third.code, 0) << third.out;
  EXPECT_NE(third.out.find(": aot tier (compiled code from the cache)"), std::string::npos)
      << third.out;
}

// Ctrl-C at the terminal of the interpreted run (SIGINT to its foreground
// process group) ends the run, not the compile it started.
TEST(TierUpE2E, CtrlCOfTheRunDoesNotStopTheBackgroundCompile) {
  GatedHome home;
  const std::string wasm = WriteTierUpModule(home.dir(), "stdin.wasm", 4, 3, /*read_stdin=*/true);
  std::vector<std::string> argv = {DaemonBin(), "run", "--tier-up-bytes", "0", wasm};
  Child run(argv, home.Env(), /*terminal=*/true);
  ASSERT_TRUE(
      run.ReadUntil([](const std::string& o) { return BackgroundPid(o) > 0; }, kTierUpWaitMs))
      << run.output();
  const pid_t bg = BackgroundPid(run.output());
  // The guest now waits for a line on its terminal.
  kill(-run.pid(), SIGINT);
  EXPECT_EQ(run.Wait(kTierUpWaitMs), 128 + SIGINT) << run.output();
  EXPECT_EQ(run.output().find("tier-up 3 ok"), std::string::npos) << "interrupted before output";
  EXPECT_TRUE(TierUpAlive(bg)) << "the compile survived the Ctrl-C";
  home.Open();
  ASSERT_TRUE(WaitFor([&] { return !TierUpAlive(bg); }, kTierUpWaitMs));
  EXPECT_EQ(home.Records(), 1u) << "and completed";
}

// A module read through a descriptor of a deleted file cannot be opened by
// another process: the run uses the interpreter and starts no compile.
TEST(TierUpE2E, AFileOnlyTheRunCanOpenRunsWithoutABackgroundCompile) {
  GatedHome home;
  home.Open();
  const std::string wasm = WriteTierUpModule(home.dir(), "gone.wasm", 4, 7);
  std::string env;
  for (const std::string& e : home.Env()) env += e + " ";
  CmdResult r = Sh("exec 3< " + ShellQuote(wasm) + "; rm " + ShellQuote(wasm) + "; " + env +
                   ShellQuote(DaemonBin()) + " run -v --progress --tier-up-bytes 0 /dev/fd/3");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("tier-up 7 ok\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/fd/3 is not compiled yet and cannot be compiled in the background"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("interpreter tier (no background compile"), std::string::npos) << r.out;
  EXPECT_EQ(home.Compiles(), std::vector<pid_t>{});
  EXPECT_EQ(home.Records(), 0u);
}

// -q: nothing on stderr but the guest's; the compile starts all the same.
TEST(TierUpE2E, QuietRunPrintsNothingButStillCompilesInTheBackground) {
  GatedHome home;
  const std::string wasm = WriteTierUpModule(home.dir(), "q.wasm", 4, 4);
  CmdResult r = home.Run({"run", "-q", "--tier-up-bytes", "0", wasm});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "tier-up 4 ok\n");
  EXPECT_EQ(home.Compiles().size(), 1u);
  home.Open();
  ASSERT_TRUE(
      WaitFor([&] { return home.Records() == 1u && home.Compiles().empty(); }, kTierUpWaitMs));
}

// --tier aot waits for the compile and runs on AOT; --tier interp starts
// nothing; neither starts a background compile.
TEST(TierUpE2E, ExplicitTiersDoNotTierUp) {
  GatedHome home;
  home.Open();
  const std::string wasm = WriteTierUpModule(home.dir(), "t.wasm", 4, 5);
  CmdResult interp = home.Run({"run", "-v", "--progress", "--tier", "interp", wasm});
  ASSERT_EQ(interp.code, 0) << interp.out;
  EXPECT_NE(interp.out.find(": interpreter tier (compiled now)"), std::string::npos) << interp.out;
  EXPECT_EQ(home.Compiles(), std::vector<pid_t>{});
  EXPECT_EQ(home.Records(), 0u);

  CmdResult aot = home.Run({"run", "-v", "--tier", "aot", "--tier-up-bytes", "0", wasm});
  ASSERT_EQ(aot.code, 0) << aot.out;
  EXPECT_NE(aot.out.find("tier-up 5 ok\n"), std::string::npos) << aot.out;
  EXPECT_NE(aot.out.find(": aot tier (compiled now)"), std::string::npos) << aot.out;
  EXPECT_EQ(aot.out.find("background"), std::string::npos) << aot.out;
  EXPECT_EQ(home.Records(), 1u);
}

// `arcella compile` fills the cache `arcella run` reads, for its metering.
TEST(TierUpE2E, CompileCommandMakesTheNextRunWarm) {
  GatedHome home;
  home.Open();
  const std::string wasm = WriteTierUpModule(home.dir(), "c.wasm", 4, 6);
  CmdResult c = home.Run({"compile", "-q", "--metering", "interrupt", wasm});
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_EQ(c.out, "");
  CmdResult same = home.Run({"run", "-v", "--metering", "interrupt", wasm});
  ASSERT_EQ(same.code, 0) << same.out;
  EXPECT_NE(same.out.find(": aot tier (compiled code from the cache)"), std::string::npos)
      << same.out;
  CmdResult other = home.Run({"run", "-v", "-q", "--tier-up-bytes", "1MiB", wasm});
  ASSERT_EQ(other.code, 0) << other.out;
  EXPECT_NE(other.out.find(": aot tier (compiled now)"), std::string::npos)
      << "another metering is another artefact: " << other.out;

  CmdResult missing = home.Run({"compile", home.dir() + "/nope.wasm"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("arcella compile: "), std::string::npos) << missing.out;
  EXPECT_NE(missing.out.find("nope.wasm"), std::string::npos) << missing.out;
  CmdResult bad = home.Run({"compile", "--metering", "lots", wasm});
  EXPECT_EQ(bad.code, 2) << bad.out;
}

}  // namespace
}  // namespace arcella::e2e
