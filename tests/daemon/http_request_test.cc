// ToComponentRequest (src/daemon/http_request.h) behind Beast's parser, as
// the ingress reads a client's bytes.
#include "daemon/http_request.h"

#include <gtest/gtest.h>

#include <boost/beast/core.hpp>

#include "platform/http_call.h"

namespace arcella::daemon {
namespace {

namespace http = boost::beast::http;

std::variant<component::HttpRequest, HttpRefusal> Read(const std::string& bytes) {
  http::request_parser<http::string_body> p;
  p.header_limit(kHttpHeaderLimit);  // as the ingress's
  p.eager(true);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(bytes), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(p.is_done());
  return ToComponentRequest(p.get());
}

TEST(HttpRequest, AnOriginFormRequestKeepsMethodTargetHeadersAndBody) {
  auto out = Read("PATCH /a/b?x=1 HTTP/1.1\r\nHost: example.org:8080\r\nX-Test: hello\r\n"
                  "Content-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(std::holds_alternative<component::HttpRequest>(out));
  const auto& r = std::get<component::HttpRequest>(out);
  EXPECT_EQ(r.method, "PATCH");
  EXPECT_EQ(r.path_with_query, "/a/b?x=1");
  EXPECT_EQ(r.scheme, "http");
  EXPECT_EQ(r.authority, "example.org:8080");
  ASSERT_EQ(r.headers.size(), 3u);
  EXPECT_EQ(r.headers[1].first, "X-Test");
  EXPECT_EQ(r.headers[1].second, "hello");
  EXPECT_EQ(r.body, "abc");
}

TEST(HttpRequest, AnAbsoluteFormTargetGivesItsAuthorityAndPath) {
  auto out = Read("GET http://h.test:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_TRUE(std::holds_alternative<component::HttpRequest>(out));
  const auto& r = std::get<component::HttpRequest>(out);
  EXPECT_EQ(r.path_with_query, "/p?q");
  EXPECT_EQ(r.authority, "h.test:81");
  out = Read("GET https://h.test HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(std::holds_alternative<component::HttpRequest>(out));
  EXPECT_EQ(std::get<component::HttpRequest>(out).path_with_query, "/");
  EXPECT_EQ(std::get<component::HttpRequest>(out).scheme, "https");
}

TEST(HttpRequest, TargetsThatAreNoPathAndTooManyOrTooLongFieldsAreRefusedNamingWhy) {
  auto star = Read("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(std::holds_alternative<HttpRefusal>(star));
  EXPECT_EQ(std::get<HttpRefusal>(star).status, 400u);
  EXPECT_NE(std::get<HttpRefusal>(star).message.find("got \"*\""), std::string::npos);

  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= platform::kMaxHttpHeaders; ++i)
    many += "h" + std::to_string(i) + ": v\r\n";
  auto m = Read(many + "\r\n");
  ASSERT_TRUE(std::holds_alternative<HttpRefusal>(m));
  EXPECT_EQ(std::get<HttpRefusal>(m).status, 431u);
  EXPECT_NE(std::get<HttpRefusal>(m).message.find("more than 100 header fields"),
            std::string::npos);

  auto longf = Read("GET / HTTP/1.1\r\nx-big: " + std::string(platform::kMaxHttpHeaderBytes, 'a') +
                    "\r\n\r\n");
  ASSERT_TRUE(std::holds_alternative<HttpRefusal>(longf));
  EXPECT_EQ(std::get<HttpRefusal>(longf).status, 431u);
  EXPECT_NE(std::get<HttpRefusal>(longf).message.find("x-big"), std::string::npos);

  auto method = Read(std::string(65, 'M') + " / HTTP/1.1\r\n\r\n");  // found by the fuzzer
  ASSERT_TRUE(std::holds_alternative<HttpRefusal>(method));
  EXPECT_EQ(std::get<HttpRefusal>(method).message,
            "bad request: the method is longer than 64 bytes");

  auto target = Read("GET /" + std::string(platform::kMaxHttpHeaderBytes, 'a') +
                     " HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(std::holds_alternative<HttpRefusal>(target));
  EXPECT_EQ(std::get<HttpRefusal>(target).status, 414u);
}

}  // namespace
}  // namespace arcella::daemon
