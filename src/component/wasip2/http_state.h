// The state behind wasi:http/types in one WasiP2: its resources' objects,
// shared by the client side (http.cc: fields, outgoing-request, the denied
// outgoing-handler) and the server side (http_server.cc: incoming-request,
// outgoing-response, response-outparam). Internal to src/component/wasip2.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "component/wasip2/host.h"
#include "component/wasip2/http_message.h"
#include "component/wasip2/state.h"

namespace arcella::component {

inline constexpr const char* kHttpTypes = "wasi:http/types@0.2.12";

struct HttpFields {
  std::vector<std::pair<std::string, std::string>> entries;  // lower-case name, value
  bool immutable = false;
};

struct HttpOutgoingRequest {
  std::shared_ptr<HttpFields> headers;  // immutable once in a request
  Val method = Val::Variant(0);         // get
  Val path = Val::None(), scheme = Val::None(), authority = Val::None();
  bool body_taken = false;
};

struct HttpOptions {
  Val timeouts[3] = {Val::None(), Val::None(), Val::None()};  // connect, first byte, between
};

// What an outgoing-body's stream wrote. A request's body discards (`keep`
// false: HTTP is denied); a response's keeps at most `limit` bytes.
struct HttpBodyData {
  bool keep = false;
  size_t limit = 0;
  std::string bytes;
  bool finished = false;  // outgoing-body.finish was called
  bool overflow = false;  // a write went past `limit`
};

struct HttpOutgoingBody {
  std::shared_ptr<HttpBodyData> data;
  bool stream_taken = false;
};

struct HttpIncomingRequest {
  std::string method;  // as sent
  std::string path, scheme, authority;
  std::shared_ptr<HttpFields> headers;  // immutable
  std::shared_ptr<const std::string> body;
  bool consumed = false;
};

struct HttpIncomingBody {
  std::shared_ptr<const std::string> body;
  bool stream_taken = false;
};

struct HttpFutureTrailers {
  bool taken = false;
};

struct HttpOutgoingResponse {
  uint16_t status = 200;
  std::shared_ptr<HttpFields> headers;  // immutable once in a response
  std::shared_ptr<HttpBodyData> body;   // null until body() was called
};

// A response-outparam: what its set() was given.
struct HttpOutparam {
  bool set = false;
  std::shared_ptr<HttpOutgoingResponse> response;  // set with ok(...)
  std::string error;                               // set with err(...): the case's name
};

struct HttpState {
  explicit HttpState(std::shared_ptr<WasiP2State> s) : st(std::move(s)) {}
  std::shared_ptr<WasiP2State> st;
  ResourceTable<HttpFields> fields;
  ResourceTable<HttpOutgoingRequest> requests;
  ResourceTable<HttpOptions> options;
  ResourceTable<HttpOutgoingBody> bodies;
  ResourceTable<HttpIncomingRequest> incoming;
  ResourceTable<HttpIncomingBody> incoming_bodies;
  ResourceTable<HttpFutureTrailers> trailers;
  ResourceTable<HttpOutgoingResponse> responses;
  ResourceTable<HttpOutparam> outparams;
  // The request being served (WasiP2::NewIncomingRequest .. TakeResponse)
  // and the most its response body may hold.
  std::shared_ptr<HttpOutparam> current;
  size_t max_response_body = 0;
  ResourceRef fields_t = WitResource(kHttpTypes, "fields");
  ResourceRef request_t = WitResource(kHttpTypes, "outgoing-request");
  ResourceRef options_t = WitResource(kHttpTypes, "request-options");
  ResourceRef body_t = WitResource(kHttpTypes, "outgoing-body");
  ResourceRef incoming_t = WitResource(kHttpTypes, "incoming-request");
  ResourceRef incoming_body_t = WitResource(kHttpTypes, "incoming-body");
  ResourceRef trailers_t = WitResource(kHttpTypes, "future-trailers");
  ResourceRef response_t = WitResource(kHttpTypes, "outgoing-response");
  ResourceRef outparam_t = WitResource(kHttpTypes, "response-outparam");
};

// A new own handle of `type` for `v` (a full table traps).
template <typename T>
TrapOr<Val> HttpOwn(ResourceTable<T>& table, std::shared_ptr<T> v, const ResourceRef& type) {
  uint32_t rep = table.Insert(std::move(v));
  if (rep == 0) return WasiTrap("wasi:http/types: too many open " + type->name + "s");
  return Val::Own(type, rep);
}

// The object behind handle `h` (an unknown one traps naming `what`).
template <typename T>
TrapOr<std::shared_ptr<T>> HttpGet(ResourceTable<T>& table, const Val& h, const char* what) {
  auto v = table.Get(static_cast<uint32_t>(h.u));
  if (!v) return WasiTrap(std::string("wasi:http/types: unknown ") + what + " handle");
  return v;
}

// A lower-cased header name, or nullopt if it is not an HTTP token.
std::optional<std::string> HttpFieldName(const std::string& s);
// A list<u8> field value as bytes, or nullopt if it holds CR, LF or NUL.
std::optional<std::string> HttpFieldValue(const Val& bytes);
Val HttpByteList(const std::string& s);
// An output stream appending to `data` (past its limit: the write fails).
std::shared_ptr<OutputStreamImpl> MakeHttpBodyOutput(std::shared_ptr<HttpBodyData> data);

// The server side's functions (http_server.cc).
void AddHttpServerImpls(const std::shared_ptr<HttpState>& h, WasiInterfaceDef* types);
// WasiP2::NewIncomingRequest and TakeResponse on a state (wasi_p2.h).
Result<std::vector<Val>> NewIncomingHttpRequest(WasiP2State& st, HttpRequest request,
                                                size_t max_body);
Result<HttpResponse> TakeHttpResponse(WasiP2State& st, const Val& outparam);

}  // namespace arcella::component
