// The server's lanes and bounds (ServerOptions): guest calls, streams and
// management requests run apart; calls and streams are bounded per
// connection and in total; idle connections are closed; sockets are
// close-on-exec; request strings must be UTF-8.
#include <fcntl.h>

#include <gtest/gtest.h>

#include "alme/alme_test_util.h"
#include "alme/utf8.h"
#include "test_util.h"

namespace arcella::alme {
namespace {

using test::RawPeer;

// TestHandler whose "slow" runs on the call lane and "stream" on the
// stream lane, like `call` and `logs -f` in the daemon.
class LaneHandler : public test::TestHandler {
 public:
  Lane LaneOf(const std::string& method, const Json&) const override {
    if (method == "slow") return Lane::kCall;
    if (method == "stream") return Lane::kStream;
    return Lane::kManagement;
  }
};

class Control : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) server_->Stop();
  }
  void Start(ServerOptions o) {
    path_ = arcella::test::TempDir("alme-ctl") + "/alme";
    o.socket_path = path_;
    auto s = Server::Start(o, handler_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  static std::string ErrName(const Json& m) {
    return m.contains("error") ? m["error"]["name"].get<std::string>() : "";
  }
  static std::string ErrMsg(const Json& m) {
    return m.contains("error") ? m["error"]["message"].get<std::string>() : "";
  }

  std::shared_ptr<LaneHandler> handler_ = std::make_shared<LaneHandler>();
  std::unique_ptr<Server> server_;
  std::string path_;
};

TEST_F(Control, CallsAreBoundedAndNeverDelayManagement) {
  ServerOptions o;
  o.call_threads = 2;
  o.max_calls_per_connection = 3;
  o.max_calls = 5;
  Start(o);
  RawPeer a(path_);
  for (int i = 1; i <= 4; ++i)
    ASSERT_TRUE(a.Send({{"id", i}, {"method", "slow"}, {"params", {{"ms", 3000}}}}));
  Json m;
  ASSERT_TRUE(a.Read(&m));  // the 4th is refused at once
  EXPECT_EQ(m["id"], 4);
  EXPECT_EQ(ErrName(m), "unavailable");
  EXPECT_NE(ErrMsg(m).find("max_calls_per_connection"), std::string::npos) << m.dump();
  // Both call threads are busy and one call is queued: management requests
  // on the same connection are answered first anyway.
  ASSERT_TRUE(a.Send({{"id", 10}, {"method", "echo"}, {"params", {{"x", 1}}}}));
  ASSERT_TRUE(a.Read(&m, 1000));
  EXPECT_EQ(m["id"], 10) << m.dump();
  RawPeer b(path_);
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(b.Send({{"id", i}, {"method", "slow"}, {"params", {{"ms", 3000}}}}));
  ASSERT_TRUE(b.Read(&m));
  EXPECT_EQ(m["id"], 3);
  EXPECT_NE(ErrMsg(m).find("alme.max_calls)"), std::string::npos) << m.dump();
}

TEST_F(Control, StreamsAreBoundedPerConnection) {
  ServerOptions o;
  o.max_streams_per_connection = 2;
  Start(o);
  RawPeer a(path_);
  Json m;
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(a.Send({{"id", i}, {"method", "stream"}, {"params", {{"interval_ms", 50}}}}));
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    ASSERT_TRUE(a.Read(&m));
    if (m["id"] == 3 && m.contains("error")) {
      refused = true;
      EXPECT_EQ(ErrName(m), "unavailable");
      EXPECT_NE(ErrMsg(m).find("streams on this connection"), std::string::npos) << m.dump();
    }
  }
  EXPECT_TRUE(refused);
  // Another connection may still open streams.
  RawPeer b(path_);
  ASSERT_TRUE(b.Send({{"id", 1}, {"method", "stream"}, {"params", {{"interval_ms", 50}}}}));
  ASSERT_TRUE(b.Read(&m));
  EXPECT_TRUE(m.contains("stream")) << m.dump();
}

TEST_F(Control, IdleConnectionsAreClosedBusyOnesAreNot) {
  ServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(300);
  Start(o);
  RawPeer idle(path_), streaming(path_);
  ASSERT_TRUE(streaming.Send({{"id", 1}, {"method", "stream"}, {"params", {{"interval_ms", 20}}}}));
  Json m;
  ASSERT_TRUE(idle.Read(&m, 5000));
  EXPECT_EQ(ErrName(m), "unavailable");
  EXPECT_NE(ErrMsg(m).find("idle"), std::string::npos) << m.dump();
  EXPECT_TRUE(idle.WaitClosed());
  // The streaming connection outlives several idle periods.
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(streaming.Read(&m, 2000)) << i;
    ASSERT_TRUE(m.contains("stream")) << m.dump();
  }
}

TEST_F(Control, SocketsAreCloseOnExec) {
  Start(ServerOptions{});
  RawPeer a(path_);
  Json m;
  ASSERT_TRUE(a.Send({{"id", 1}, {"method", "echo"}}));
  ASSERT_TRUE(a.Read(&m));
  // Every socket in this process that is not the test's own peer.
  int sockets = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    if (fd == a.fd()) continue;
    char link[64], target[128];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = ::readlink(link, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    if (std::string(target).rfind("socket:", 0) != 0) continue;
    ++sockets;
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC) << "fd " << fd << " " << target;
  }
  EXPECT_GE(sockets, 2);  // the listener and the accepted connection
}

TEST_F(Control, NonUtf8StringsAreRefused) {
  Start(ServerOptions{});
  RawPeer a(path_);
  Json m;
  ASSERT_TRUE(
      a.Send({{"id", 1}, {"method", "echo"}, {"params", {{"a", {{"b", {"ok", "x\xc3"}}}}}}}));
  ASSERT_TRUE(a.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_params") << m.dump();
  EXPECT_NE(ErrMsg(m).find("params.a.b[1]: not valid UTF-8"), std::string::npos) << m.dump();
  ASSERT_TRUE(a.Send({{"id", 2}, {"method", "ec\xffho"}}));
  ASSERT_TRUE(a.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_request") << m.dump();
  ASSERT_TRUE(a.Send({{"id", 3}, {"method", "echo"}, {"params", {{"\xe2\x82", 1}}}}));
  ASSERT_TRUE(a.Read(&m));
  EXPECT_NE(ErrMsg(m).find("key #1"), std::string::npos) << m.dump();
  // Well-formed UTF-8 passes, including 4-byte sequences.
  ASSERT_TRUE(
      a.Send({{"id", 4}, {"method", "echo"}, {"params", {{"s", "h\xc3\xa9 \xf0\x9f\x98\x80"}}}}));
  ASSERT_TRUE(a.Read(&m));
  EXPECT_EQ(m["result"]["s"], "h\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(Utf8, Validation) {
  size_t bad = 99;
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("ab\xff", &bad));
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // cut short
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

}  // namespace
}  // namespace arcella::alme
