// One HTTP request and its response as plain values: what the daemon's HTTP
// ingress hands to a component's wasi:http/incoming-handler and gets back
// (docs/HTTP.md). Bodies are whole (the ingress buffers them, bounded).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace arcella::component {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;  // name, value

struct HttpRequest {
  std::string method = "GET";   // as sent ("GET", "PATCH", "PURGE", ...)
  std::string path_with_query;  // "/a/b?x=1"
  std::string scheme = "http";  // "http" or "https"
  std::string authority;        // the Host header, may be empty
  HttpHeaders headers;          // in order; names as sent
  std::string body;
};

struct HttpResponse {
  uint16_t status = 200;
  HttpHeaders headers;  // lower-case names
  std::string body;
};

}  // namespace arcella::component
