// How one HTTP request reaches a replica and its response comes back: as a
// call of the reserved export name kHttpCall with one argument (the
// request) and one result (the response), so it takes the path of every
// call — load balancing over replicas, a worker's call ring or socket, fuel,
// memory and the deadline per call — and the replica's component serves it
// through its wasi:http/incoming-handler export (docs/HTTP.md).
//
// The texts are base64 of a MessagePack map (ASCII: safe in every frame and
// message). Decoders take untrusted input (a worker's reply): they check
// every field and bound, and say which is wrong (InvalidArgument); nothing
// throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "component/wasip2/http_message.h"

namespace arcella::platform {

// Never a component export's name (WIT names cannot start with '!'), so no
// ALME `call` can name it (Platform::Call refuses it).
inline constexpr std::string_view kHttpCall = "!http";

// Bounds (docs/LIMITS.md): a request's and a response's body, header count
// and the bytes of one header line.
inline constexpr size_t kMaxHttpBody = 8u << 20;
inline constexpr size_t kMaxHttpHeaders = 100;
inline constexpr size_t kMaxHttpHeaderBytes = 8192;
inline constexpr size_t kMaxHttpMethodBytes = 64;

std::string EncodeHttpRequest(const component::HttpRequest& r);
Result<component::HttpRequest> DecodeHttpRequest(std::string_view text);
std::string EncodeHttpResponse(const component::HttpResponse& r);
Result<component::HttpResponse> DecodeHttpResponse(std::string_view text);

// The export that serves HTTP among a component's exported function names
// ("wasi:http/incoming-handler@0.2.x#handle"), or "" if it has none.
std::string HttpHandlerExport(const std::vector<std::string>& exports);

}  // namespace arcella::platform
