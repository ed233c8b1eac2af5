// The kHttpCall texts (src/platform/http_call.h): what crosses to a replica
// and back, and what a lying worker's reply cannot get past.
#include "platform/http_call.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace arcella::platform {
namespace {

using component::HttpRequest;
using component::HttpResponse;

// base64 of `j` as MessagePack, as the encoders write.
std::string Text(const nlohmann::json& j) {
  std::string bin;
  for (uint8_t b : nlohmann::json::to_msgpack(j)) bin.push_back(static_cast<char>(b));
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bin.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bin[i]) << 16;
    if (i + 1 < bin.size()) v |= static_cast<uint8_t>(bin[i + 1]) << 8;
    if (i + 2 < bin.size()) v |= static_cast<uint8_t>(bin[i + 2]);
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < bin.size() ? k[(v >> 6) & 63] : '=';
    out += i + 2 < bin.size() ? k[v & 63] : '=';
  }
  return out;
}

TEST(HttpCall, RequestsAndResponsesWithBinaryBodiesRoundTrip) {
  HttpRequest r;
  r.method = "PURGE";
  r.path_with_query = "/a?b=%00";
  r.authority = "h:1";
  r.headers = {{"X-A", "1"}, {"x-a", "2"}};
  for (int i = 0; i < 256; ++i) r.body.push_back(static_cast<char>(i));
  std::string text = EncodeHttpRequest(r);
  EXPECT_EQ(text.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
            std::string::npos);  // ASCII only
  auto back = DecodeHttpRequest(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->method, "PURGE");
  EXPECT_EQ(back->path_with_query, r.path_with_query);
  EXPECT_EQ(back->authority, "h:1");
  EXPECT_EQ(back->headers, r.headers);
  EXPECT_EQ(back->body, r.body);

  HttpResponse res;
  res.status = 418;
  res.headers = {{"content-type", "text/plain"}};
  res.body = std::string("\0\xff", 2);
  auto rb = DecodeHttpResponse(EncodeHttpResponse(res));
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(rb->status, 418);
  EXPECT_EQ(rb->headers, res.headers);
  EXPECT_EQ(rb->body, res.body);
  EXPECT_TRUE(DecodeHttpResponse(EncodeHttpResponse(HttpResponse{})).ok());  // empty body
}

TEST(HttpCall, AMalformedReplyIsRefusedNamingTheField) {
  auto why = [](const std::string& text) {
    auto r = DecodeHttpResponse(text);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  };
  nlohmann::json ok = {{"status", 200},
                       {"headers", nlohmann::json::array()},
                       {"body", nlohmann::json::binary({})}};
  EXPECT_NE(why("not base64!").find("not base64"), std::string::npos);
  EXPECT_NE(why(Text(nlohmann::json::array())).find("not a MessagePack map"), std::string::npos);
  auto bad = ok;
  bad["status"] = 42;
  EXPECT_NE(why(Text(bad)).find("field \"status\""), std::string::npos);
  bad = ok;
  bad["status"] = -1;
  EXPECT_NE(why(Text(bad)).find("field \"status\""), std::string::npos);
  bad = ok;
  bad["body"] = "text, not bytes";
  EXPECT_NE(why(Text(bad)).find("field \"body\""), std::string::npos);
  bad = ok;
  bad["headers"] = {{"only-a-name"}};
  EXPECT_NE(why(Text(bad)).find("[name, value]"), std::string::npos);
  bad = ok;
  bad["headers"] = nlohmann::json::array();
  for (size_t i = 0; i <= kMaxHttpHeaders; ++i) bad["headers"].push_back({"a", "b"});
  EXPECT_NE(why(Text(bad)).find("more than 100 entries"), std::string::npos);
  bad = ok;
  bad["body"] = nlohmann::json::binary(std::vector<uint8_t>(kMaxHttpBody + 1));
  EXPECT_NE(why(Text(bad)).find("field \"body\" is larger than 8388608 bytes"), std::string::npos);
  EXPECT_NE(why(std::string(13'000'000, 'A')).find("not base64 of a bounded size"),
            std::string::npos);
  EXPECT_TRUE(DecodeHttpResponse(Text(ok)).ok());

  auto req = DecodeHttpRequest(Text(ok));  // a response is no request
  ASSERT_FALSE(req.ok());
  EXPECT_NE(req.status().message().find("field \"method\""), std::string::npos);
}

TEST(HttpCall, TheHandlerExportIsFoundAtAny02Version) {
  EXPECT_EQ(HttpHandlerExport(
                {"logger:log/log@1.0.0#log", "wasi:http/incoming-handler@0.2.0#handle"}),
            "wasi:http/incoming-handler@0.2.0#handle");
  EXPECT_EQ(HttpHandlerExport({"wasi:http/incoming-handler@0.2.12#handle"}),
            "wasi:http/incoming-handler@0.2.12#handle");
  EXPECT_EQ(HttpHandlerExport({"wasi:http/incoming-handler@0.3.0#handle", "handle"}), "");
}

}  // namespace
}  // namespace arcella::platform
