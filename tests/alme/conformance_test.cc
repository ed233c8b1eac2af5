// ALME conformance: a real Server driven through a raw socket with frames
// built by hand (docs/ALME.md "Transport" and "Messages").
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "alme/alme_test_util.h"
#include "test_util.h"

namespace arcella::alme {
namespace {

using test::RawPeer;
using test::TestHandler;

class Conformance : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  void StartServer(uint32_t cap = 4096, int max_conns = 64, size_t max_queue = 32u << 20) {
    home_ = arcella::test::TempDir("alme-conf");
    path_ = home_ + "/alme";
    ServerOptions o;
    o.socket_path = path_;
    o.max_frame_bytes = cap;
    o.max_connections = max_conns;
    o.max_write_queue_bytes = max_queue;
    auto s = Server::Start(o, handler_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  // Reads frames until one with `id` arrives (others are kept in `seen`).
  Json ReadId(RawPeer& p, const Json& id, std::vector<Json>* seen = nullptr) {
    for (int i = 0; i < 100000; ++i) {
      Json m;
      if (!p.Read(&m)) return Json();
      if (m["id"] == id && !m.contains("stream")) return m;
      if (seen) seen->push_back(m);
    }
    return Json();
  }
  static std::string ErrName(const Json& m) {
    return m.contains("error") ? m["error"]["name"].get<std::string>() : "";
  }

  std::shared_ptr<TestHandler> handler_ = std::make_shared<TestHandler>();
  std::unique_ptr<Server> server_;
  std::string home_, path_;
};

TEST_F(Conformance, EchoWithBothIdTypes) {
  RawPeer p(path_);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p.Send({{"id", 1}, {"method", "echo"}, {"params", {{"x", "y"}}}}));
  Json m;
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(m["id"], 1);
  EXPECT_EQ(m["result"]["x"], "y");
  ASSERT_TRUE(p.Send({{"id", "req-a"}, {"method", "echo"}, {"extra", 5}}));  // no params
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(m["id"], "req-a");
  EXPECT_TRUE(m["result"].is_object() && m["result"].empty());
  // A non-negative id encoded as a signed MessagePack int (0xd0 0x07) is accepted.
  std::string body = RawPeer::Pack(Json{{"method", "echo"}});
  body[0] = char(0x82);  // map of 2: add "id": int8 7
  body += "\xa2id\xd0\x07";
  ASSERT_TRUE(p.SendRaw(RawPeer::Frame(body)));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(m["id"], 7) << m.dump();
}

TEST_F(Conformance, InvalidMsgpackKeepsConnection) {
  RawPeer p(path_);
  ASSERT_TRUE(p.SendRaw(RawPeer::Frame("\xc1\x01\x02")));  // 0xc1 is never used
  Json m;
  ASSERT_TRUE(p.Read(&m));
  EXPECT_TRUE(m["id"].is_null());
  EXPECT_EQ(ErrName(m), "parse_error");
  EXPECT_EQ(m["error"]["code"], 1);
  EXPECT_NE(m["error"]["message"].get<std::string>().find("at byte 0"), std::string::npos)
      << m.dump();
  // A map cut short names the offset where input ended.
  ASSERT_TRUE(p.SendRaw(RawPeer::Frame("\x82\xa2id\x01")));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "parse_error");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("byte 5"), std::string::npos) << m.dump();
  ASSERT_TRUE(p.Send({{"id", 2}, {"method", "echo"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(m["id"], 2);
  EXPECT_TRUE(m.contains("result"));
}

TEST_F(Conformance, NonMapIsParseError) {
  RawPeer p(path_);
  ASSERT_TRUE(p.SendRaw(RawPeer::Frame(RawPeer::Pack(Json::array({1, 2})))));
  Json m;
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "parse_error");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("not a map"), std::string::npos);
  // Trailing bytes after the map are not "exactly one value".
  ASSERT_TRUE(p.SendRaw(RawPeer::Frame(RawPeer::Pack(Json{{"id", 1}, {"method", "echo"}}) + "x")));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "parse_error");
}

TEST_F(Conformance, InvalidRequests) {
  RawPeer p(path_);
  Json m;
  ASSERT_TRUE(p.Send({{"id", 1}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_request");
  EXPECT_EQ(m["id"], 1);
  EXPECT_NE(m["error"]["message"].get<std::string>().find("method"), std::string::npos);
  ASSERT_TRUE(p.Send({{"method", "echo"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_request");
  EXPECT_TRUE(m["id"].is_null());
  ASSERT_TRUE(p.Send({{"id", 1.5}, {"method", "echo"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_request");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("float"), std::string::npos);
  ASSERT_TRUE(p.Send({{"id", -3}, {"method", "echo"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_request");
  ASSERT_TRUE(p.Send({{"id", 4}, {"method", 12}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_request");
  EXPECT_EQ(m["id"], 4);
  ASSERT_TRUE(p.Send({{"id", 5}, {"method", "echo"}, {"params", Json::array({1})}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_request");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("params"), std::string::npos);
  // Unknown methods go to the handler, which answers unknown_method.
  ASSERT_TRUE(p.Send({{"id", 6}, {"method", "no.such"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "unknown_method");
  EXPECT_EQ(m["error"]["code"], 3);
  // Handler failures and dropped requests.
  ASSERT_TRUE(p.Send({{"id", 7}, {"method", "fail"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_params");
  ASSERT_TRUE(p.Send({{"id", 8}, {"method", "drop"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "internal");
  EXPECT_EQ(m["id"], 8);
}

TEST_F(Conformance, DuplicateInFlightIdRefused) {
  RawPeer p(path_);
  ASSERT_TRUE(p.Send({{"id", 1}, {"method", "slow"}, {"params", {{"ms", 300}}}}));
  ASSERT_TRUE(p.Send({{"id", 1}, {"method", "echo"}}));
  Json m;
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_request");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("in flight"), std::string::npos);
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(m["result"]["slept"], 300);
  ASSERT_TRUE(p.Send({{"id", 1}, {"method", "echo"}}));  // reusable once answered
  ASSERT_TRUE(p.Read(&m));
  EXPECT_TRUE(m.contains("result"));
}

TEST_F(Conformance, OversizedFrameClosesConnection) {
  RawPeer p(path_);
  ASSERT_TRUE(p.SendRaw(RawPeer::Header(4097) + std::string(100, 'a')));
  Json m;
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "frame_too_large");
  EXPECT_EQ(m["error"]["code"], 9);
  EXPECT_NE(m["error"]["message"].get<std::string>().find("4096"), std::string::npos);
  EXPECT_TRUE(p.WaitClosed());
  RawPeer q(path_);  // the server still serves others
  ASSERT_TRUE(q.Send({{"id", 1}, {"method", "echo"}}));
  ASSERT_TRUE(q.Read(&m));
  EXPECT_TRUE(m.contains("result"));
}

TEST_F(Conformance, ZeroLengthFrame) {
  RawPeer p(path_);
  ASSERT_TRUE(p.SendRaw(RawPeer::Header(0)));
  Json m;
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "parse_error");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("length 0"), std::string::npos);
  ASSERT_TRUE(p.Send({{"id", 1}, {"method", "echo"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_TRUE(m.contains("result"));
}

TEST_F(Conformance, TruncatedFrameThenClose) {
  {
    RawPeer p(path_);
    ASSERT_TRUE(p.SendRaw(RawPeer::Header(100) + "abc"));
    p.ShutdownWrite();
    EXPECT_TRUE(p.WaitClosed());  // the server closes its side too
  }
  {
    RawPeer p(path_);
    ASSERT_TRUE(p.SendRaw(RawPeer::Header(100).substr(0, 2)));
  }  // closed abruptly
  RawPeer q(path_);
  Json m;
  ASSERT_TRUE(q.Send({{"id", 1}, {"method", "echo"}}));
  ASSERT_TRUE(q.Read(&m));
  EXPECT_TRUE(m.contains("result"));
}

TEST_F(Conformance, ByteAtATime) {
  RawPeer p(path_);
  std::string f = RawPeer::Frame(RawPeer::Pack(Json{{"id", 9}, {"method", "echo"}}));
  for (char c : f) ASSERT_TRUE(p.SendRaw(std::string(1, c)));
  Json m;
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(m["id"], 9);
}

TEST_F(Conformance, TwentyClientsHundredConcurrentRequests) {
  constexpr int kClients = 20, kRequests = 100;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      RawPeer p(path_);
      if (!p.ok()) return;
      std::string batch;  // all requests pipelined before reading
      for (int i = 0; i < kRequests; ++i) {
        Json id = (i % 2) ? Json(i) : Json("c" + std::to_string(c) + "-" + std::to_string(i));
        batch += RawPeer::Frame(
            RawPeer::Pack(Json{{"id", id}, {"method", "echo"}, {"params", {{"c", c}, {"i", i}}}}));
      }
      if (!p.SendRaw(batch)) return;
      std::set<int> seen;
      for (int i = 0; i < kRequests; ++i) {
        Json m;
        if (!p.Read(&m, 10000)) return;
        int ri = m["result"]["i"];
        Json want = (ri % 2) ? Json(ri) : Json("c" + std::to_string(c) + "-" + std::to_string(ri));
        if (m["id"] != want || m["result"]["c"] != c || !seen.insert(ri).second) return;
      }
      good += static_cast<int>(seen.size());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kClients * kRequests);
}

TEST_F(Conformance, CompletionOrderOnOneConnection) {
  RawPeer p(path_);
  ASSERT_TRUE(p.Send({{"id", 1}, {"method", "slow"}, {"params", {{"ms", 400}}}}));
  ASSERT_TRUE(p.Send({{"id", 2}, {"method", "slow"}, {"params", {{"ms", 100}}}}));
  ASSERT_TRUE(p.Send({{"id", 3}, {"method", "echo"}}));
  Json a, b, c;
  ASSERT_TRUE(p.Read(&a));
  ASSERT_TRUE(p.Read(&b));
  ASSERT_TRUE(p.Read(&c));
  EXPECT_EQ(a["id"], 3);
  EXPECT_EQ(b["id"], 2);
  EXPECT_EQ(c["id"], 1);
}

TEST_F(Conformance, StreamAndCancel) {
  RawPeer p(path_);
  ASSERT_TRUE(p.Send({{"id", "s"}, {"method", "stream"}}));
  Json m;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(p.Read(&m));
    EXPECT_EQ(m["id"], "s");
    EXPECT_EQ(m["stream"]["n"], i);
  }
  ASSERT_TRUE(p.Send({{"id", 99}, {"method", "cancel"}, {"params", {{"target", "s"}}}}));
  Json final_s, final_c;
  for (int i = 0; i < 10000 && (final_s.is_null() || final_c.is_null()); ++i) {
    ASSERT_TRUE(p.Read(&m));
    if (m["id"] == "s" && !m.contains("stream")) final_s = m;
    if (m["id"] == 99) final_c = m;
  }
  EXPECT_EQ(final_s["result"]["cancelled"], true) << final_s.dump();
  EXPECT_EQ(final_c["result"]["cancelled"], true) << final_c.dump();
  // Cancelling something not in flight, and a bad target.
  ASSERT_TRUE(p.Send({{"id", 100}, {"method", "cancel"}, {"params", {{"target", "s"}}}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(m["result"]["cancelled"], false);
  ASSERT_TRUE(p.Send({{"id", 101}, {"method", "cancel"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_EQ(ErrName(m), "invalid_params");
  for (int i = 0; i < 100 && handler_->cancels.load() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(handler_->cancels.load(), 1);
}

TEST_F(Conformance, ConnectionCloseCancelsStream) {
  {
    RawPeer p(path_);
    ASSERT_TRUE(p.Send({{"id", 1}, {"method", "stream"}}));
    Json m;
    ASSERT_TRUE(p.Read(&m));
  }
  for (int i = 0; i < 200 && handler_->streams_ended.load() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(handler_->cancels.load(), 1);
  EXPECT_EQ(handler_->streams_ended.load(), 1);
}

TEST_F(Conformance, SocketAndDirectoryModes) {
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(home_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  server_->Stop();
  EXPECT_FALSE(std::filesystem::exists(path_));  // removed on Stop
}

// A shared socket directory is refused, never re-moded (it may be /tmp).
TEST_F(Conformance, OthersWritableDirectoryRefusedAndLeftAlone) {
  std::string dir = arcella::test::TempDir("alme-shared");
  ASSERT_EQ(::chmod(dir.c_str(), 01777), 0);
  ServerOptions o;
  o.socket_path = dir + "/alme";
  auto s = Server::Start(o, handler_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("writable by others (mode 1777)"), std::string::npos)
      << s.status().message();
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_FALSE(std::filesystem::exists(o.socket_path));
}

TEST_F(Conformance, OtherUidRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to setuid(65534)";
  // Loosen the modes so that uid 65534 can reach the socket at all: the
  // SO_PEERCRED check is what must refuse it.
  ASSERT_EQ(::chmod(home_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(path_.c_str(), 0666), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(10);
    RawPeer p(path_);
    if (!p.ok()) _exit(11);
    p.Send({{"id", 1}, {"method", "echo"}});
    Json m;
    if (!p.Read(&m)) _exit(12);
    if (!m["id"].is_null() || m["error"]["name"] != "permission_denied") _exit(13);
    if (m["error"]["message"].get<std::string>().find("65534") == std::string::npos) _exit(14);
    if (!p.WaitClosed()) _exit(15);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(Conformance, SlowReaderDoesNotBlockOthers) {
  server_->Stop();
  StartServer(4096, 64, /*max_queue=*/1u << 20);
  RawPeer slow(path_);
  ASSERT_TRUE(slow.Send({{"id", 1}, {"method", "flood"}, {"params", {{"bytes", 65536}}}}));
  // `slow` never reads. Others are served meanwhile.
  RawPeer fast(path_);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(fast.Send({{"id", i}, {"method", "echo"}}));
    Json m;
    ASSERT_TRUE(fast.Read(&m, 2000));
    ASSERT_EQ(m["id"], i);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  // The slow peer's queue passed 1 MiB: it is dropped and its stream refused.
  for (int i = 0; i < 300 && !handler_->flood_refused.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(handler_->flood_refused.load());
  EXPECT_TRUE(slow.WaitClosed());
}

// At max_connections the longest-idle connection makes room (told why);
// only when every connection has work in flight is the newcomer refused.
TEST_F(Conformance, MaxConnections) {
  server_->Stop();
  StartServer(4096, /*max_conns=*/2);
  RawPeer a(path_), b(path_);
  Json m;
  ASSERT_TRUE(a.Send({{"id", 1}, {"method", "echo"}}));
  ASSERT_TRUE(a.Read(&m));
  ASSERT_TRUE(b.Send({{"id", 1}, {"method", "echo"}}));
  ASSERT_TRUE(b.Read(&m));
  RawPeer c(path_);
  ASSERT_TRUE(c.Send({{"id", 1}, {"method", "echo"}}));
  ASSERT_TRUE(c.Read(&m));
  EXPECT_TRUE(m.contains("result")) << m.dump();
  ASSERT_TRUE(a.Read(&m));  // `a` was idle the longest: closed, with the reason
  EXPECT_EQ(ErrName(m), "unavailable");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("idle the longest"), std::string::npos)
      << m.dump();
  EXPECT_TRUE(a.WaitClosed());
  // Both connections busy: a newcomer is refused.
  for (RawPeer* p : {&b, &c}) {
    ASSERT_TRUE(p->Send({{"id", 2}, {"method", "slow"}, {"params", {{"ms", 1500}}}}));
    // The echo's answer shows the server has read (and counted) the slow one.
    ASSERT_TRUE(p->Send({{"id", 3}, {"method", "echo"}}));
    ASSERT_TRUE(p->Read(&m));
    EXPECT_EQ(m["id"], 3) << m.dump();
  }
  RawPeer d(path_);
  ASSERT_TRUE(d.Read(&m));
  EXPECT_EQ(ErrName(m), "unavailable");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("too many connections"),
            std::string::npos);
  EXPECT_TRUE(d.WaitClosed());
}

TEST_F(Conformance, StaleSocketReplacedLiveOneRefused) {
  ServerOptions o;
  o.socket_path = path_;
  auto second = Server::Start(o, handler_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("another daemon is listening on " + path_),
            std::string::npos)
      << second.status().ToString();
  // A socket file nobody listens on is replaced.
  std::string stale = home_ + "/stale";
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, stale.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);
  }
  o.socket_path = stale;
  auto third = Server::Start(o, handler_);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  RawPeer p(stale);
  Json m;
  ASSERT_TRUE(p.Send({{"id", 1}, {"method", "echo"}}));
  ASSERT_TRUE(p.Read(&m));
  EXPECT_TRUE(m.contains("result"));
  (*third)->Stop();
  // A regular file in the way is not deleted.
  std::string file = home_ + "/file";
  ::close(::creat(file.c_str(), 0600));
  o.socket_path = file;
  auto fourth = Server::Start(o, handler_);
  ASSERT_FALSE(fourth.ok());
  EXPECT_NE(fourth.status().message().find("not a socket"), std::string::npos);
}

TEST_F(Conformance, StopEndsStreams) {
  RawPeer p(path_);
  ASSERT_TRUE(p.Send({{"id", 1}, {"method", "stream"}}));
  Json m;
  ASSERT_TRUE(p.Read(&m));
  server_->Stop();  // must not hang on the streaming handler
  EXPECT_TRUE(p.WaitClosed());
  EXPECT_EQ(handler_->streams_ended.load(), 1);
}

}  // namespace
}  // namespace arcella::alme
