// libFuzzer target for what the HTTP ingress reads (docs/HTTP.md). The first
// byte picks:
//  - even: the rest is raw bytes from a client: Beast's request parser with
//    the ingress's limits, then ToComponentRequest (src/daemon/
//    http_request.cc); an accepted request must encode
//    (EncodeHttpRequest) and decode back to the same request;
//  - odd: the rest is a kHttpCall text from a worker: DecodeHttpRequest and
//    DecodeHttpResponse (src/platform/http_call.cc) must refuse with a
//    message or give a value that survives encoding again.
// Nothing may throw, crash or leak.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/http_request.h"
#include "platform/http_call.h"

namespace http = boost::beast::http;
using arcella::component::HttpRequest;
using arcella::component::HttpResponse;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Same(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.path_with_query == b.path_with_query && a.scheme == b.scheme &&
         a.authority == b.authority && a.headers == b.headers && a.body == b.body;
}

void FromClient(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(arcella::platform::kMaxHttpBody);
  parser.header_limit(arcella::daemon::kHttpHeaderLimit);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return;
  auto out = arcella::daemon::ToComponentRequest(parser.get());
  if (auto* refusal = std::get_if<arcella::daemon::HttpRefusal>(&out)) {
    Check(refusal->status >= 400 && refusal->status < 500 && !refusal->message.empty());
    return;
  }
  const HttpRequest& r = std::get<HttpRequest>(out);
  Check(!r.path_with_query.empty() && r.path_with_query[0] == '/');
  auto back = arcella::platform::DecodeHttpRequest(arcella::platform::EncodeHttpRequest(r));
  Check(back.ok() && Same(*back, r));
}

void FromWorker(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto req = arcella::platform::DecodeHttpRequest(text);
  if (req.ok()) {
    auto again = arcella::platform::DecodeHttpRequest(arcella::platform::EncodeHttpRequest(*req));
    Check(again.ok() && Same(*again, *req));
  } else {
    Check(!req.status().message().empty());
  }
  auto res = arcella::platform::DecodeHttpResponse(text);
  if (res.ok()) {
    Check(res->status >= 100 && res->status <= 999);
    auto again = arcella::platform::DecodeHttpResponse(arcella::platform::EncodeHttpResponse(*res));
    Check(again.ok() && again->status == res->status && again->headers == res->headers &&
          again->body == res->body);
  } else {
    Check(!res.status().message().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    FromClient(data + 1, size - 1);
  } else {
    FromWorker(data + 1, size - 1);
  }
  return 0;
}
