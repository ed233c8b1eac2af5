// ToComponentRequest (http_request.h).
#include "daemon/http_request.h"

#include "platform/http_call.h"

namespace arcella::daemon {

namespace http = boost::beast::http;

std::variant<component::HttpRequest, HttpRefusal> ToComponentRequest(
    const http::request<http::string_body>& req) {
  using platform::kMaxHttpHeaderBytes;
  using platform::kMaxHttpHeaders;
  component::HttpRequest r;
  r.method = std::string(req.method_string());
  if (r.method.size() > platform::kMaxHttpMethodBytes)
    return HttpRefusal{400, "bad request: the method is longer than " +
                                std::to_string(platform::kMaxHttpMethodBytes) + " bytes"};
  std::string target(req.target());
  if (target.size() > kMaxHttpHeaderBytes)
    return HttpRefusal{414, "the request target is longer than " +
                                std::to_string(kMaxHttpHeaderBytes) + " bytes"};
  std::string absolute_authority;
  for (const char* scheme : {"http://", "https://"}) {
    std::string_view s(scheme);
    if (target.size() > s.size() && target.compare(0, s.size(), s) == 0) {
      size_t slash = target.find('/', s.size());
      absolute_authority = target.substr(s.size(), slash - s.size());
      r.scheme = std::string(s.substr(0, s.size() - 3));
      target = slash == std::string::npos ? "/" : target.substr(slash);
      break;
    }
  }
  if (target.empty() || target[0] != '/')
    return HttpRefusal{400, "bad request: the target must be a path (\"/...\") or an absolute "
                            "URL, got \"" +
                                target.substr(0, 256) + "\""};
  r.path_with_query = std::move(target);
  size_t count = 0;
  for (const auto& f : req) {
    if (++count > kMaxHttpHeaders)
      return HttpRefusal{431, "more than " + std::to_string(kMaxHttpHeaders) + " header fields"};
    std::string name(f.name_string()), value(f.value());
    if (name.size() + value.size() > kMaxHttpHeaderBytes)
      return HttpRefusal{431, "header field " + name.substr(0, 64) + " is longer than " +
                                  std::to_string(kMaxHttpHeaderBytes) + " bytes"};
    if (f.name() == http::field::host && r.authority.empty()) r.authority = value;
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  if (!absolute_authority.empty()) r.authority = std::move(absolute_authority);
  r.body = req.body();
  return r;
}

}  // namespace arcella::daemon
