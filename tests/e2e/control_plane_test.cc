// The control plane cannot be frozen by clients or guests (issue 6, "A
// control plane that cannot be frozen", "Bounded input"): management
// requests answer while hundreds of guest calls are in flight, cancel and
// disconnect interrupt the calls they started, calls are bounded per
// connection and in total, idle connections time out and never lock the CLI
// out, the CLI has a timeout, a frame of tiny elements cannot blow up the
// daemon's memory, non-UTF-8 strings are refused at the boundary, and
// SIGTERM completes within its grace period.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "alme/alme_test_util.h"
#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

using alme::test::RawPeer;

// A home whose arcella.toml holds `toml` (the daemon is started on it).
std::string HomeWithConfig(const std::string& toml) {
  std::string home = test::TempDir("arcella-control");
  ::mkdir((home + "/config").c_str(), 0700);
  std::ofstream(home + "/config/arcella.toml") << toml;
  ::chmod((home + "/config/arcella.toml").c_str(), 0600);
  return home;
}

// Installs the control_reactor fixture as ctl@1.0.0 and starts `replicas`
// of it as deployment ctl@1.0.0/g.
void DeployReactor(Daemon& d, int replicas) {
  std::string dir = test::TempDir("control-mod");
  CopyFile(test::FixturePath("control_reactor.wasm"), dir + "/ctl@1.0.0.wasm");
  auto r = d.Cli("install " + ShellQuote(dir + "/ctl@1.0.0.wasm"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli("deploy ctl@1.0.0 --group g --replicas " + std::to_string(replicas));
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli("start ctl@1.0.0/g");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(WaitFor(
      [&] {
        Json s = Request(d, "status", {{"target", "ctl@1.0.0/g"}});
        return s.contains("deployments") && s["deployments"].size() == 1 &&
               s["deployments"][0].value("ready", 0) == replicas;
      },
      60'000));
}

Json CallReq(uint64_t id, const std::string& fn, const Json& args = Json::array()) {
  return Json{{"id", id},
              {"method", "call"},
              {"params", {{"target", "ctl@1.0.0/g"}, {"export", fn}, {"args", args}}}};
}

// True if nothing arrives on `peer` for `ms` (used only to show that calls
// are still in flight, never as the thing that makes a test pass quickly).
bool Silent(RawPeer& peer, int ms) {
  pollfd p{peer.fd(), POLLIN, 0};
  return ::poll(&p, 1, ms) == 0;
}

// `call ctl@1.0.0/g fast` through a fresh client with a generous timeout.
Json Fast(const Daemon& d) {
  auto c = alme::Client::Connect(d.socket());
  if (!c.ok()) return Json{{"error", c.status().message()}};
  (*c)->SetCallTimeout(std::chrono::seconds(30));
  alme::RemoteError remote{};
  auto r = (*c)->Call("call", {{"target", "ctl@1.0.0/g"}, {"export", "fast"}}, &remote);
  if (!r.ok()) return Json{{"error", r.status().message()}};
  return *r;
}

uint64_t VmHwmKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// 600 `spin` calls pipelined on one connection (more than the old shared
// pool's 516 threads): ping, status and stop on another connection answer
// while every call is still in flight, and stop ends them all.
TEST(ControlPlane, PipelinedSlowCallsLeaveManagementAnswering) {
  Daemon d(HomeWithConfig("[alme]\nmax_calls_per_connection = 1000\n"));
  ASSERT_NO_FATAL_FAILURE(DeployReactor(d, 1));
  RawPeer calls(d.socket());
  ASSERT_TRUE(calls.ok());
  std::string burst;
  for (uint64_t i = 1; i <= 600; ++i) burst += RawPeer::Frame(RawPeer::Pack(CallReq(i, "spin")));
  ASSERT_TRUE(calls.SendRaw(burst));

  auto c = Connect(d);
  ASSERT_NE(c, nullptr);
  c->SetCallTimeout(std::chrono::seconds(20));
  for (int i = 0; i < 20; ++i) {
    auto p = c->Call("ping", Json::object());
    ASSERT_TRUE(p.ok()) << p.status().message();
    auto s = c->Call("status", Json::object());
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ((*s)["deployments"][0]["state"], "active") << s->dump();
  }
  // Every call is still running or waiting: none has been answered.
  EXPECT_TRUE(Silent(calls, 200));

  auto stop = c->Call("deployment.stop", {{"target", "ctl@1.0.0/g"}});
  ASSERT_TRUE(stop.ok()) << stop.status().message();
  // Stop interrupted the running call and refused the waiting ones: all 600
  // are answered, with errors (none could complete normally).
  int answered = 0;
  Json msg;
  while (answered < 600 && calls.Read(&msg, 30'000)) {
    ASSERT_TRUE(msg.contains("error")) << msg.dump();
    ++answered;
  }
  EXPECT_EQ(answered, 600);
  EXPECT_EQ(d.Cli("ping").code, 0);
}

// Closing the connection interrupts the guest running its call: the only
// replica becomes free and serves the next call.
TEST(ControlPlane, DisconnectInterruptsTheCallItStarted) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(DeployReactor(d, 1));
  auto spinner = std::make_unique<RawPeer>(d.socket());
  ASSERT_TRUE(spinner->Send(CallReq(1, "spin")));
  // Head start: the spin must reach the replica before the second call (two
  // connections are not ordered); nothing observable says "spinning now".
  EXPECT_TRUE(Silent(*spinner, 500));
  // A second client's call queues behind the spinning one...
  RawPeer waiter(d.socket());
  ASSERT_TRUE(waiter.Send(CallReq(1, "fast")));
  EXPECT_TRUE(Silent(waiter, 500));
  // ...until the spinner's client goes away.
  spinner.reset();
  Json msg;
  ASSERT_TRUE(waiter.Read(&msg, 20'000)) << "the spinning call was not interrupted";
  EXPECT_EQ(msg["result"]["results"][0], "7") << msg.dump();

  // The `cancel` method does the same for one request, and answers it.
  RawPeer c2(d.socket());
  ASSERT_TRUE(c2.Send(CallReq(5, "spin")));
  EXPECT_TRUE(Silent(c2, 500));  // head start, as above
  RawPeer w2(d.socket());
  ASSERT_TRUE(w2.Send(CallReq(1, "fast")));
  EXPECT_TRUE(Silent(w2, 300));
  ASSERT_TRUE(c2.Send(Json{{"id", 6}, {"method", "cancel"}, {"params", {{"target", 5}}}}));
  bool saw_cancelled = false;
  for (int i = 0; i < 2 && c2.Read(&msg, 20'000); ++i) {
    if (msg["id"] == 5) {
      EXPECT_EQ(msg["result"]["cancelled"], true) << msg.dump();
      saw_cancelled = true;
    }
  }
  EXPECT_TRUE(saw_cancelled);
  ASSERT_TRUE(w2.Read(&msg, 20'000)) << "the cancelled call was not interrupted";
  EXPECT_EQ(msg["result"]["results"][0], "7") << msg.dump();
  // The replica is healthy afterwards.
  Json f = Fast(d);
  EXPECT_EQ(f["results"][0], "7") << f.dump();
}

// Past the per-connection bound, and past the total bound, a call gets
// `unavailable` naming the bound; management requests still answer.
TEST(ControlPlane, InFlightCallsAreBoundedPerConnectionAndInTotal) {
  Daemon d(HomeWithConfig("[alme]\nmax_calls_per_connection = 4\nmax_calls = 6\n"));
  ASSERT_NO_FATAL_FAILURE(DeployReactor(d, 1));
  auto a = std::make_unique<RawPeer>(d.socket());
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(a->Send(CallReq(i, "spin")));
  Json msg;
  ASSERT_TRUE(a->Read(&msg, 10'000));
  EXPECT_EQ(msg["id"], 5) << msg.dump();
  EXPECT_EQ(msg["error"]["name"], "unavailable") << msg.dump();
  EXPECT_NE(msg["error"]["message"].get<std::string>().find("max_calls_per_connection"),
            std::string::npos)
      << msg.dump();

  auto b = std::make_unique<RawPeer>(d.socket());
  for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(b->Send(CallReq(i, "spin")));
  ASSERT_TRUE(b->Read(&msg, 10'000));
  EXPECT_EQ(msg["id"], 3) << msg.dump();
  EXPECT_EQ(msg["error"]["name"], "unavailable") << msg.dump();
  EXPECT_NE(msg["error"]["message"].get<std::string>().find("alme.max_calls)"), std::string::npos)
      << msg.dump();
  // The CLI reports it with the "unreachable/busy" exit code.
  auto r = d.Cli("--timeout 10s call ctl@1.0.0/g fast");
  EXPECT_EQ(r.code, 7) << r.out;
  EXPECT_NE(r.out.find("max_calls"), std::string::npos) << r.out;

  EXPECT_EQ(d.Cli("ping").code, 0);
  EXPECT_EQ(d.Cli("status").code, 0);
  // Going away interrupts the spinning calls and releases their slots (as
  // each handler returns, so poll).
  a.reset();
  b.reset();
  Json f;
  EXPECT_TRUE(WaitFor(
      [&] {
        f = Fast(d);
        return f.contains("results") && f["results"][0] == "7";
      },
      20'000))
      << f.dump();
}

// Idle connections are closed after alme.idle_timeout (with a frame saying
// why); one with a call in flight is not.
TEST(ControlPlane, IdleConnectionsTimeOut) {
  Daemon d(HomeWithConfig("[alme]\nidle_timeout = \"1s\"\n"));
  ASSERT_NO_FATAL_FAILURE(DeployReactor(d, 1));
  RawPeer idle(d.socket());
  RawPeer busy(d.socket());
  ASSERT_TRUE(busy.Send(CallReq(1, "spin")));
  Json msg;
  ASSERT_TRUE(idle.Read(&msg, 15'000)) << "the idle connection was not closed";
  EXPECT_EQ(msg["error"]["name"], "unavailable") << msg.dump();
  EXPECT_NE(msg["error"]["message"].get<std::string>().find("idle"), std::string::npos);
  EXPECT_TRUE(idle.WaitClosed(5000));
  // The busy one stays open (its call is still in flight).
  EXPECT_TRUE(Silent(busy, 1500));
  ASSERT_TRUE(busy.Send(Json{{"id", 2}, {"method", "ping"}}));
  ASSERT_TRUE(busy.Read(&msg, 5000));
  EXPECT_EQ(msg["id"], 2) << msg.dump();
}

// 300 idle connections (more than max_connections = 256) do not lock the
// CLI out: the longest-idle ones are closed to make room.
TEST(ControlPlane, IdleConnectionsDoNotLockOutTheCli) {
  Daemon d;
  std::vector<std::unique_ptr<RawPeer>> peers;
  for (int i = 0; i < 300; ++i) {
    peers.push_back(std::make_unique<RawPeer>(d.socket()));
    ASSERT_TRUE(peers.back()->ok()) << i;
  }
  auto r = d.Cli("--timeout 20s ping");
  EXPECT_EQ(r.code, 0) << r.out;
  r = d.Cli("--timeout 20s status");
  EXPECT_EQ(r.code, 0) << r.out;
  // The first peers were the ones evicted, told why.
  Json msg;
  ASSERT_TRUE(peers[0]->Read(&msg, 5000));
  EXPECT_NE(msg["error"]["message"].get<std::string>().find("idle the longest"), std::string::npos)
      << msg.dump();
}

// arcella-cli gives up after --timeout (or ARCELLA_TIMEOUT) with exit code 8
// and a clear message; its disconnect cancels the call it started.
TEST(ControlPlane, CliTimeout) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(DeployReactor(d, 1));
  auto r = d.Cli("--timeout 1s call ctl@1.0.0/g spin");
  EXPECT_EQ(r.code, 8) << r.out;
  EXPECT_NE(r.out.find("timed out after 1 s"), std::string::npos) << r.out;
  // The abandoned call was interrupted: the replica serves the next one.
  Json f = Fast(d);
  EXPECT_EQ(f["results"][0], "7") << f.dump();

  r = Sh("ARCELLA_TIMEOUT=500ms " + CliBin() + " --home " + ShellQuote(d.home()) +
         " call ctl@1.0.0/g spin");
  EXPECT_EQ(r.code, 8) << r.out;
  EXPECT_NE(r.out.find("timed out after 0.5 s"), std::string::npos) << r.out;

  r = d.Cli("--timeout soon ping");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--timeout"), std::string::npos) << r.out;
  EXPECT_EQ(d.Cli("--timeout 0 ping").code, 0);
}

// A 16 MiB frame of nils (16 million tiny elements) is refused before it is
// decoded: the daemon's peak memory stays far below what building it would
// take (939 MiB before), and the connection keeps working.
TEST(ControlPlane, FrameOfTinyElementsIsRefusedWithoutBlowingMemory) {
  Daemon d;
  uint64_t before = VmHwmKiB(d.pid());
  ASSERT_GT(before, 0u);
  // {"id":1,"method":"ping","params":{"x":[nil x N]}} built by hand.
  const uint32_t n = (16u << 20) - 64;
  std::string body = RawPeer::Pack(Json{{"id", 1}, {"method", "ping"}});
  body[0] = char(0x83);  // map of 3: add "params" below
  body += RawPeer::Pack("params");
  body += char(0x81);
  body += RawPeer::Pack("x");
  body += char(0xdd);
  body += RawPeer::Header(n);  // array32 of n
  body.append(n, char(0xc0));
  RawPeer raw(d.socket());
  ASSERT_TRUE(raw.SendRaw(RawPeer::Frame(body)));
  Json msg;
  ASSERT_TRUE(raw.Read(&msg, 60'000));
  EXPECT_EQ(msg["error"]["name"], "parse_error") << msg.dump();
  EXPECT_NE(msg["error"]["message"].get<std::string>().find("decoded"), std::string::npos)
      << msg.dump();
  uint64_t after = VmHwmKiB(d.pid());
  // The frame itself is buffered (16 MiB, maybe twice while it arrives);
  // decoding it would have cost hundreds of MiB.
  EXPECT_LT(after - before, 96u * 1024) << "peak grew from " << before << " to " << after << " KiB";
  ASSERT_TRUE(raw.Send(Json{{"id", 2}, {"method", "ping"}}));
  ASSERT_TRUE(raw.Read(&msg, 5000));
  EXPECT_EQ(msg["result"]["protocol"], 1) << msg.dump();
}

// Strings that are not UTF-8 are refused at the boundary with
// invalid_params naming the field; nothing is stored, the daemon serves on.
TEST(ControlPlane, NonUtf8StringsAreRefused) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(DeployReactor(d, 1));
  Json before = StateOf(Request(d, "status"));
  RawPeer raw(d.socket());
  const std::string bad = "gr\xff\xfeoup";
  struct Case {
    Json params;
    const char* method;
    const char* field;
  } cases[] = {
      {{{"module_id", "ctl@1.0.0"}, {"group", bad}}, "deployment.create", "params.group"},
      {{{"module_id", "ctl@1.0.0"}, {"group", "ok"}, {"overrides", {{"env", {{"K", bad}}}}}},
       "deployment.create",
       "params.overrides.env.K"},
      {{{"module_id", "ctl@1.0.0"}, {"group", "ok2"}, {"overrides", {{"env", {{bad, "v"}}}}}},
       "deployment.create",
       "params.overrides.env: key #1"},
      {{{"target", "ctl@1.0.0/g"}, {"export", "fast"}, {"args", {bad}}}, "call", "params.args[0]"},
      {{{"target", bad}}, "deployment.stop", "params.target"},
  };
  uint64_t id = 1;
  for (const auto& c : cases) {
    ASSERT_TRUE(raw.Send(Json{{"id", id}, {"method", c.method}, {"params", c.params}}));
    Json msg;
    ASSERT_TRUE(raw.Read(&msg, 10'000));
    EXPECT_EQ(msg["id"], id);
    EXPECT_EQ(msg["error"]["name"], "invalid_params") << c.field;
    std::string m = msg["error"].value("message", "");
    EXPECT_NE(m.find(c.field), std::string::npos) << m;
    EXPECT_NE(m.find("UTF-8"), std::string::npos) << m;
    ++id;
  }
  // Nothing changed, everything still renders, and calls work.
  EXPECT_EQ(StateOf(Request(d, "status")), before);
  auto r = d.Cli("--json status");
  EXPECT_EQ(r.code, 0) << r.out;
  Json f = Fast(d);
  EXPECT_EQ(f["results"][0], "7") << f.dump();
}

// Guest output that is not UTF-8 is shown by `logs` and `logs --json`
// (U+FFFD in JSON) instead of breaking the CLI.
TEST(ControlPlane, NonUtf8GuestOutputIsPrintable) {
  Daemon d;
  std::string dir = test::TempDir("control-utf8");
  CopyFile(test::FixturePath("control_bad_utf8.wasm"), dir + "/bad-out@1.0.0.wasm");
  ASSERT_EQ(d.Cli("install " + ShellQuote(dir + "/bad-out@1.0.0.wasm")).code, 0);
  ASSERT_EQ(d.Cli("deploy bad-out@1.0.0 --group g").code, 0);
  ASSERT_EQ(d.Cli("start bad-out@1.0.0/g").code, 0);
  ASSERT_TRUE(WaitFor([&] { return d.Cli("call bad-out@1.0.0/g say").code == 0; }, 20'000));
  CmdResult r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = d.Cli("--json logs bad-out@1.0.0/g");
        return r.out.find("hi") != std::string::npos;
      },
      10'000))
      << r.out;
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\xef\xbf\xbdhi"), std::string::npos) << r.out;  // U+FFFD
  r = d.Cli("logs bad-out@1.0.0/g");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\xff\xfehi"), std::string::npos) << r.out;  // the bytes as written
  EXPECT_EQ(d.Cli("ping").code, 0);
}

// SIGTERM with 200 spinning guests, each in a call, finishes within the
// grace period (plus the watchdog's margin).
TEST(ControlPlane, SigtermWithSpinningGuestsEndsWithinGrace) {
  Daemon d(HomeWithConfig("[daemon]\nshutdown_grace = \"3s\"\n[alme]\ncall_threads = 256\n"));
  ASSERT_NO_FATAL_FAILURE(DeployReactor(d, 200));
  std::vector<std::unique_ptr<RawPeer>> peers;
  for (int p = 0; p < 4; ++p) {
    peers.push_back(std::make_unique<RawPeer>(d.socket()));
    for (uint64_t i = 1; i <= 50; ++i) ASSERT_TRUE(peers.back()->Send(CallReq(i, "spin")));
  }
  // Wait until the calls run: a 201st call on the busy replicas is not
  // answered at once while they spin.
  EXPECT_TRUE(Silent(*peers[0], 500));
  pid_t pid = d.pid();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int st = 0;
  bool exited = WaitFor([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, 20'000);
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                               t0)
                  .count();
  ASSERT_TRUE(exited) << "the daemon did not exit within 20 s of SIGTERM";
  d.Forget();
  EXPECT_LE(secs, 3 + 2 + 5);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_TRUE(WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3) << WEXITSTATUS(st);
}

// A daemon whose only replica is blocked inside the host, in a call: the
// guest reads a FIFO whose writer (held open by the test) never writes, so
// no wasm interrupt check can reach it.
struct BlockedGuest {
  std::unique_ptr<Daemon> d;
  std::unique_ptr<RawPeer> caller;
  int writer = -1;
  ~BlockedGuest() {
    if (writer >= 0) ::close(writer);  // EOF for the guest, should it still wait
  }
};

void StartBlockedGuest(BlockedGuest* b, const std::string& grace) {
  std::string data = test::TempDir("control-fifo");
  // The operator's policy allows granting the FIFO's directory.
  b->d = std::make_unique<Daemon>(HomeWithConfig(
      "[daemon]\nshutdown_grace = \"" + grace + "\"\n[policy]\nallow_dirs = [\"" + data + "\"]\n"));
  Daemon& d = *b->d;
  // The worker runs as uid 65534 when the daemon is root: it must reach the FIFO.
  ::chmod(data.c_str(), 0777);
  ASSERT_EQ(::mkfifo((data + "/fifo").c_str(), 0600), 0);
  ::chmod((data + "/fifo").c_str(), 0666);
  std::string dir = test::TempDir("control-fifo-mod");
  CopyFile(test::FixturePath("control_fifo_block.wasm"), dir + "/fifo-block@1.0.0.wasm");
  ASSERT_EQ(d.Cli("install " + ShellQuote(dir + "/fifo-block@1.0.0.wasm")).code, 0);
  auto r = d.Cli("deploy fifo-block@1.0.0 --group g --dir " + ShellQuote(data + "::/data"));
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(d.Cli("start fifo-block@1.0.0/g").code, 0);
  ASSERT_TRUE(WaitFor([&] { return Request(d, "status")["deployments"][0].value("ready", 0) == 1; },
                      20'000));
  b->writer = ::open((data + "/fifo").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(b->writer, 0);
  b->caller = std::make_unique<RawPeer>(d.socket());
  ASSERT_TRUE(
      b->caller->Send(Json{{"id", 1},
                           {"method", "call"},
                           {"params", {{"target", "fifo-block@1.0.0/g"}, {"export", "block"}}}}));
  EXPECT_TRUE(Silent(*b->caller, 500));            // blocked in read(): no answer
  EXPECT_EQ(d.Cli("--timeout 10s ping").code, 0);  // management still answers
}

// Waits (up to 20 s) for the daemon to exit; its exit status, or -1.
int WaitExit(Daemon& d, int64_t* secs) {
  pid_t pid = d.pid();
  auto t0 = std::chrono::steady_clock::now();
  int st = 0;
  bool exited = WaitFor([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, 20'000);
  *secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0)
              .count();
  if (!exited) return -1;
  d.Forget();
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// SIGTERM with a guest blocked in the host: the daemon exits within
// daemon.shutdown_grace + 2 s, logging the forced exit (status 3) if the
// replica did not stop; 0 once blocking WASI reads are interruptible by
// shutdown (then the replica stops in time).
TEST(ControlPlane, SigtermForcesExitWhenAGuestIsBlockedInTheHost) {
  BlockedGuest b;
  ASSERT_NO_FATAL_FAILURE(StartBlockedGuest(&b, "2s"));
  ASSERT_EQ(::kill(b.d->pid(), SIGTERM), 0);
  int64_t secs = 0;
  int code = WaitExit(*b.d, &secs);
  ASSERT_NE(code, -1) << "the daemon did not exit within 20 s of SIGTERM";
  EXPECT_LE(secs, 2 + 2 + 5);
  EXPECT_TRUE(code == 0 || code == 3) << code;
  if (code == 3) {
    std::string log = Sh("cat " + ShellQuote(b.d->home() + "/daemon.out")).out;
    EXPECT_NE(log.find("shutdown did not finish"), std::string::npos) << log;
  }
}

// A second SIGTERM during a long grace period ends the daemon at once.
TEST(ControlPlane, SecondSigtermForcesExit) {
  BlockedGuest b;
  ASSERT_NO_FATAL_FAILURE(StartBlockedGuest(&b, "60s"));
  ASSERT_EQ(::kill(b.d->pid(), SIGTERM), 0);
  // Wait until the first signal was taken (the daemon logs it), then repeat.
  std::string out = b.d->home() + "/daemon.out";
  ASSERT_TRUE(WaitFor(
      [&] {
        return Sh("cat " + ShellQuote(out)).out.find("received SIGTERM") != std::string::npos;
      },
      10'000));
  ASSERT_EQ(::kill(b.d->pid(), SIGTERM), 0);
  int64_t secs = 0;
  int code = WaitExit(*b.d, &secs);
  ASSERT_NE(code, -1) << "the daemon did not exit within 20 s of a second SIGTERM";
  EXPECT_TRUE(code == 0 || code == 3) << code;
  if (code == 3) {
    EXPECT_NE(Sh("cat " + ShellQuote(out)).out.find("second SIGTERM"), std::string::npos);
  }
}

}  // namespace
}  // namespace arcella::e2e
