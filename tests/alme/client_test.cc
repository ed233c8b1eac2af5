// The synchronous Client against a real Server.
#include "alme/client.h"

#include <atomic>
#include <cstdlib>

#include <gtest/gtest.h>

#include "alme/alme_test_util.h"
#include "test_util.h"

namespace arcella::alme {
namespace {

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = arcella::test::TempDir("alme-client") + "/alme";
    ServerOptions o;
    o.socket_path = path_;
    auto s = Server::Start(o, handler_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  std::shared_ptr<test::TestHandler> handler_ = std::make_shared<test::TestHandler>();
  std::unique_ptr<Server> server_;
  std::string path_;
};

TEST_F(ClientTest, CallAndRemoteError) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Call("echo", Json{{"a", 1}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["a"], 1);
  RemoteError remote{};
  auto e = (*c)->Call("fail", Json::object(), &remote);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(remote.code, ErrorCode::kInvalidParams);
  EXPECT_EQ(remote.message, "fail: asked to fail");
  EXPECT_NE(e.status().message().find("invalid_params"), std::string::npos);
  auto u = (*c)->Call("nope", Json(), &remote);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(remote.code, ErrorCode::kUnknownMethod);
}

TEST_F(ClientTest, StreamCancelledByCallback) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok());
  int items = 0;
  auto r = (*c)->Call("stream", Json::object(), nullptr, [&](const Json& item) {
    EXPECT_EQ(item["n"], items);
    return ++items < 3;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["cancelled"], true);
  EXPECT_GE(items, 3);
  // The cancel's own reply is skipped; the connection stays usable.
  auto e = (*c)->Call("echo", Json{{"after", true}});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)["after"], true);
}

TEST_F(ClientTest, ConnectFailureMessage) {
  auto c = Client::Connect(path_ + ".missing");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("cannot connect to " + path_ + ".missing: "),
            std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("is the daemon running? (start it with `arcella`)"),
            std::string::npos);
}

TEST_F(ClientTest, ServerStopIsATransportError) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok());
  std::atomic<bool> streaming{false};
  std::thread stopper([&] {
    // Stop once the stream is flowing (poll with a deadline, not a delay).
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!streaming.load() && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_->Stop();
  });
  auto r = (*c)->Call("stream", Json::object(), nullptr, [&](const Json&) {
    streaming = true;
    return true;
  });
  stopper.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find("closed the connection"), std::string::npos)
      << r.status().message();
}

TEST(DefaultSocketPath, HomeVariables) {
  ::setenv("ARCELLA_HOME", "/srv/arc", 1);
  EXPECT_EQ(DefaultSocketPath(), "/srv/arc/alme");
  ::unsetenv("ARCELLA_HOME");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(DefaultSocketPath(), "/home/u/.arcella/alme");
}

}  // namespace
}  // namespace arcella::alme
