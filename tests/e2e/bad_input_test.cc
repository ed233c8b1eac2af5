// Bad inputs against one running daemon, over the raw socket and through the
// CLI: each gets a clear error (code, exit code, message naming what and
// where), and after each the daemon still answers ping with its state
// unchanged.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

// A raw ALME connection: hand-built frames, no client library.
class Raw {
 public:
  explicit Raw(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  }
  ~Raw() { close(fd_); }
  void Send(const std::string& bytes) {
    ASSERT_EQ(write(fd_, bytes.data(), bytes.size()), ssize_t(bytes.size()));
  }
  static std::string Frame(const std::string& body) {
    uint32_t n = body.size();
    std::string f = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
    return f + body;
  }
  static std::string Msgpack(const Json& j) {
    auto v = Json::to_msgpack(j);
    return std::string(v.begin(), v.end());
  }
  // Next frame's value; null on EOF or after 5 s.
  Json Read() {
    std::string hdr = ReadN(4);
    if (hdr.size() < 4) return nullptr;
    uint32_t n = (uint32_t(uint8_t(hdr[0])) << 24) | (uint32_t(uint8_t(hdr[1])) << 16) |
                 (uint32_t(uint8_t(hdr[2])) << 8) | uint8_t(hdr[3]);
    std::string body = ReadN(n);
    return Json::from_msgpack(body);
  }
  // True if the daemon closed the connection (EOF within 5 s).
  bool Closed() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return false;
    char c;
    return read(fd_, &c, 1) == 0;
  }

 private:
  std::string ReadN(size_t n) {
    std::string s;
    while (s.size() < n) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) break;
      char buf[4096];
      ssize_t k = read(fd_, buf, std::min(sizeof buf, n - s.size()));
      if (k <= 0) break;
      s.append(buf, size_t(k));
    }
    return s;
  }
  int fd_ = -1;
};

class BadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = new Daemon();
    work_ = test::TempDir("arcella-e2e-work");
    CopyFile(CoreLoggerDir() + "/http-logger.wasm", work_ + "/http-logger.wasm");
    CopyFile(CoreLoggerDir() + "/http-logger.component.toml",
             work_ + "/http-logger.component.toml");
    ASSERT_EQ(daemon_->Cli("install " + work_ + "/http-logger.wasm").code, 0);
    ASSERT_EQ(daemon_->Cli("deploy http-logger@0.1.0 --group web --replicas 2").code, 0);
    ASSERT_EQ(daemon_->Cli("start http-logger@0.1.0").code, 0);
    ASSERT_TRUE(
        WaitFor([] { return Request(*daemon_, "status")["deployments"][0]["state"] == "active"; },
                5000));
    state_ = new Json(StateOf(Request(*daemon_, "status")));
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(daemon_->Stop(), 0);
    delete daemon_;
    delete state_;
    Sh("rm -rf " + ShellQuote(work_));
  }
  // After every bad input: still serving, nothing changed.
  void TearDown() override {
    auto ping = Request(*daemon_, "ping");
    EXPECT_EQ(ping.value("protocol", 0), 1) << ping.dump();
    EXPECT_EQ(StateOf(Request(*daemon_, "status")), *state_);
    auto mods = Request(*daemon_, "module.list")["modules"];
    ASSERT_EQ(mods.size(), 1u) << mods.dump();
    EXPECT_EQ(mods[0]["id"], "http-logger@0.1.0");
  }
  const Daemon& d() { return *daemon_; }
  CmdResult Cli(const std::string& args) { return daemon_->Cli(args); }
  static std::string Path(const std::string& name) { return work_ + "/" + name; }

  static Daemon* daemon_;
  static Json* state_;
  static std::string work_;
};
Daemon* BadInput::daemon_ = nullptr;
Json* BadInput::state_ = nullptr;
std::string BadInput::work_;

Json ErrorOf(const Json& reply) { return reply.value("error", Json::object()); }

TEST_F(BadInput, GarbageBytesThenTheConnectionStillWorks) {
  Raw raw(d().socket());
  // A well-formed length around bytes that are no MessagePack value.
  raw.Send(Raw::Frame(std::string("\xc1\xc1garbage!", 9)));
  Json e = raw.Read();
  ASSERT_TRUE(e.is_object()) << e.dump();
  EXPECT_TRUE(e["id"].is_null());
  EXPECT_EQ(e["error"]["name"], "parse_error") << e.dump();
  EXPECT_NE(e["error"]["message"].get<std::string>().find("byte 0"), std::string::npos) << e.dump();
  // The length prefix kept the stream in sync: a ping on the same connection works.
  raw.Send(Raw::Frame(Raw::Msgpack({{"id", 7}, {"method", "ping"}})));
  Json p = raw.Read();
  EXPECT_EQ(p["id"], 7);
  EXPECT_EQ(p["result"]["protocol"], 1) << p.dump();
}

TEST_F(BadInput, OversizedFrameAnsweredThenClosed) {
  Raw raw(d().socket());
  raw.Send(std::string("\x7f\xff\xff\xff", 4) + "x");  // 2 GiB announced, cap is 16 MiB
  Json e = raw.Read();
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["error"]["name"], "frame_too_large") << e.dump();
  std::string msg = e["error"]["message"];
  EXPECT_NE(msg.find("2147483647"), std::string::npos) << msg;
  EXPECT_NE(msg.find("16777216"), std::string::npos) << msg;
  EXPECT_TRUE(raw.Closed());
  // Pure junk where the length should be is the same case.
  Raw raw2(d().socket());
  raw2.Send("GARBAGE GARBAGE");
  EXPECT_EQ(raw2.Read()["error"]["name"], "frame_too_large");
}

TEST_F(BadInput, InvalidMessagePack) {
  Raw raw(d().socket());
  raw.Send(Raw::Frame(std::string("\x82\xa2id\x01", 5)));  // map of 2, only 1 entry: truncated
  Json e = raw.Read();
  EXPECT_EQ(e["error"]["name"], "parse_error") << e.dump();
  raw.Send(Raw::Frame(Raw::Msgpack(Json::array({1, 2, 3}))));  // valid, but not a map
  e = raw.Read();
  EXPECT_EQ(e["error"]["name"], "parse_error") << e.dump();
  raw.Send(Raw::Frame(Raw::Msgpack({{"id", 1}})));  // no method
  e = raw.Read();
  EXPECT_EQ(e["id"], 1);
  EXPECT_EQ(e["error"]["name"], "invalid_request") << e.dump();
  EXPECT_NE(e["error"]["message"].get<std::string>().find("method"), std::string::npos) << e.dump();
  raw.Send(Raw::Frame(Raw::Msgpack({{"id", 2}, {"method", "no.such.method"}})));
  e = raw.Read();
  EXPECT_EQ(e["error"]["name"], "unknown_method") << e.dump();
  EXPECT_NE(e["error"]["message"].get<std::string>().find("no.such.method"), std::string::npos);
}

TEST_F(BadInput, WrongParamTypes) {
  Json e = ErrorOf(
      Request(d(), "deployment.scale", {{"target", "http-logger@0.1.0/web"}, {"replicas", "20"}}));
  EXPECT_EQ(e["code"], int(alme::ErrorCode::kInvalidParams)) << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("replicas"), std::string::npos) << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("integer"), std::string::npos) << e.dump();
  e = ErrorOf(Request(d(), "deployment.start", {{"target", 42}}));
  EXPECT_EQ(e["code"], int(alme::ErrorCode::kInvalidParams)) << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("target"), std::string::npos) << e.dump();
  e = ErrorOf(Request(d(), "module.install", {{"path", "relative.wasm"}}));
  EXPECT_EQ(e["code"], int(alme::ErrorCode::kInvalidParams)) << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("absolute"), std::string::npos) << e.dump();
  // A call argument that does not fit the export's i32 parameter.
  auto r = Cli("call http-logger@0.1.0 log_request notanumber");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("notanumber"), std::string::npos) << r.out;
  // The CLI rejects a non-number itself (exit 2) before sending anything.
  r = Cli("scale http-logger@0.1.0/web --replicas twenty");
  EXPECT_EQ(r.code, 2) << r.out;
}

TEST_F(BadInput, InvalidTomlNamesFileAndLine) {
  WriteText(Path("broken.deployment.toml"),
            "[deployment]\nmodule_id = \"http-logger@0.1.0\"\ngroup = \"web2\nreplicas = 1\n");
  auto r = Cli("deploy -f " + Path("broken.deployment.toml"));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("broken.deployment.toml"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3"), std::string::npos) << r.out;  // the line of the unterminated string
  EXPECT_TRUE(r.out.find("line 3") != std::string::npos || r.out.find(":3:") != std::string::npos)
      << r.out;
  // A well-formed file with a bad value names the key and what is allowed.
  WriteText(Path("zero.deployment.toml"),
            "[deployment]\nmodule_id = \"http-logger@0.1.0\"\ngroup = \"z\"\nreplicas = 0\n");
  r = Cli("deploy -f " + Path("zero.deployment.toml"));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("zero.deployment.toml"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("replicas"), std::string::npos) << r.out;
  r = Cli("deploy -f " + Path("missing.deployment.toml"));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("missing.deployment.toml"), std::string::npos) << r.out;
}

TEST_F(BadInput, UnknownIds) {
  for (const char* cmd :
       {"start nope@1.0.0", "stop nope@1.0.0", "scale nope@1.0.0 --replicas 2",
        "undeploy nope@1.0.0/web", "inspect nope@1.0.0", "remove nope@1.0.0",
        "call nope@1.0.0/web count", "status nope@1.0.0", "logs nope@1.0.0",
        "start http-logger@0.1.0 --group nosuchgroup", "deploy nope@1.0.0 --group web"}) {
    auto r = Cli(cmd);
    EXPECT_EQ(r.code, 3) << cmd << ": " << r.out;  // docs/CLI.md: 3 = not_found
    EXPECT_TRUE(r.out.find("nope@1.0.0") != std::string::npos ||
                r.out.find("nosuchgroup") != std::string::npos)
        << cmd << ": " << r.out;
  }
  auto r = Cli("call http-logger@0.1.0 no_such_export");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("no_such_export"), std::string::npos) << r.out;
  // A malformed id is a parameter error, not "not found".
  r = Cli("start 'not an id'");
  EXPECT_EQ(r.code, 4) << r.out;
}

TEST_F(BadInput, ReplicasZeroAndMainWithTwoReplicas) {
  auto r = Cli("deploy http-logger@0.1.0 --group z --replicas 0");
  EXPECT_TRUE(r.code == 4 || r.code == 2) << r.out;
  EXPECT_NE(r.out.find("replicas"), std::string::npos) << r.out;
  Json e = ErrorOf(Request(d(), "deployment.create",
                           {{"module_id", "http-logger@0.1.0"}, {"group", "z"}, {"replicas", 0}}));
  EXPECT_EQ(e["code"], int(alme::ErrorCode::kInvalidParams)) << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("replicas"), std::string::npos) << e.dump();
  e = ErrorOf(
      Request(d(), "deployment.scale", {{"target", "http-logger@0.1.0/web"}, {"replicas", 0}}));
  EXPECT_EQ(e["code"], int(alme::ErrorCode::kInvalidParams)) << e.dump();

  r = Cli("deploy http-logger@0.1.0 --group m --replicas 2 --isolation main");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("main"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("replicas"), std::string::npos) << r.out;
  r = Cli("deploy http-logger@0.1.0 --group t --isolation worker --trusted");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("trusted"), std::string::npos) << r.out;
  WriteText(Path("main2.deployment.toml"),
            "[deployment]\nmodule_id = \"http-logger@0.1.0\"\ngroup = \"m\"\nreplicas = 2\n\n"
            "[deployment.overrides]\nisolation = \"main\"\n");
  r = Cli("deploy -f " + Path("main2.deployment.toml"));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("main2.deployment.toml"), std::string::npos) << r.out;
}

TEST_F(BadInput, InstallNonWasmMissingManifestAndDuplicates) {
  WriteText(Path("junk@1.0.0.wasm"), "this is not a wasm file\n");
  auto r = Cli("install " + Path("junk@1.0.0.wasm"));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("junk@1.0.0.wasm"), std::string::npos) << r.out;

  CopyFile(CoreLoggerDir() + "/http-logger.wasm", Path("plain.wasm"));
  r = Cli("install " + Path("plain.wasm"));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("plain.component.toml"), std::string::npos)
      << r.out;  // says what to provide
  EXPECT_NE(r.out.find("name@x.y.z.wasm"), std::string::npos) << r.out;

  r = Cli("install " + Path("no-such-file.wasm"));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("no-such-file.wasm"), std::string::npos) << r.out;

  r = Cli("install " + Path("http-logger.wasm"));
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("http-logger@0.1.0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--force"), std::string::npos) << r.out;
  r = Cli("install --force " + Path("http-logger.wasm"));
  EXPECT_EQ(r.code, 0) << r.out;
  // --force keeps the deployments (restarted on the new binary).
  EXPECT_TRUE(WaitFor([&] { return StateOf(Request(d(), "status")) == *state_; }, 5000));
}

}  // namespace
}  // namespace arcella::e2e

namespace arcella::e2e {
namespace {

// Following streams are capped (docs/ALME.md): the 257th is refused with
// `unavailable`, ordinary requests keep working, and closing streams frees
// their slots.
TEST(Streams, OpenStreamsAreCappedAndNeverStarveRequests) {
  Daemon d;
  std::vector<std::unique_ptr<Raw>> streams;
  // 8 connections x 32 streams (well under the connection cap).
  for (int c = 0; c < 8; ++c) {
    streams.push_back(std::make_unique<Raw>(d.socket()));
    for (int i = 0; i < 32; ++i)
      streams.back()->Send(Raw::Frame(Raw::Msgpack({{"id", i}, {"method", "events.watch"}})));
  }
  // Let the daemon take them all up. A grace period, not a poll: a probe
  // watch accepted early would itself hold a slot and never answer.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Json refused = Request(d, "events.watch");
  ASSERT_TRUE(refused.contains("error")) << refused.dump();
  EXPECT_EQ(refused["error"]["code"], int(alme::ErrorCode::kUnavailable)) << refused.dump();
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("too many open streams"),
            std::string::npos)
      << refused.dump();
  EXPECT_EQ(Request(d, "ping").value("protocol", 0), 1);
  streams.clear();  // closing the connections ends the streams
  // A new stream is accepted again once the slots are freed: it ends with
  // {"cancelled": true} when cancelled, not with `unavailable`.
  EXPECT_TRUE(WaitFor(
      [&] {
        Raw raw(d.socket());
        raw.Send(Raw::Frame(Raw::Msgpack({{"id", 1}, {"method", "events.watch"}})));
        raw.Send(Raw::Frame(
            Raw::Msgpack({{"id", 2}, {"method", "cancel"}, {"params", {{"target", 1}}}})));
        for (int i = 0; i < 4; ++i) {
          Json f = raw.Read();
          if (f.is_null()) return false;
          if (f.value("id", Json()) == 1 && (f.contains("result") || f.contains("error")))
            return f.contains("result") && f["result"].value("cancelled", false);
        }
        return false;
      },
      5000));
}

}  // namespace
}  // namespace arcella::e2e
