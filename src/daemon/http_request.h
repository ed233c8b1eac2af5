// What the HTTP ingress makes of one parsed request (http_ingress.h): the
// component's HttpRequest, or the refusal to answer instead (a status and a
// message naming what is wrong). Separate from the server so the fuzz target
// (fuzz/http_request_fuzz.cc) drives exactly this code behind Beast's parser.
#pragma once

#include <boost/beast/http.hpp>
#include <string>
#include <variant>

#include "component/wasip2/http_message.h"

namespace arcella::daemon {

// The whole request header a parser takes (bytes); more is a 431.
inline constexpr size_t kHttpHeaderLimit = 64 * 1024;

struct HttpRefusal {
  unsigned status = 400;
  std::string message;
};

// Origin-form targets ("/a?b") as they are; absolute-form
// ("http://host/a?b") split into authority and path (RFC 9112 §3.2.2);
// anything else refused. The authority otherwise comes from Host. A method
// of at most kMaxHttpMethodBytes (else 400). At most
// kMaxHttpHeaders fields of kMaxHttpHeaderBytes each (431), a target of at
// most kMaxHttpHeaderBytes (414).
std::variant<component::HttpRequest, HttpRefusal> ToComponentRequest(
    const boost::beast::http::request<boost::beast::http::string_body>& req);

}  // namespace arcella::daemon
