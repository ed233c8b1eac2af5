// kHttpCall's request and response texts (http_call.h).
#include "platform/http_call.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace arcella::platform {

namespace {

using component::HttpHeaders;
using nlohmann::json;

std::string Base64(const std::vector<uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

Result<std::vector<uint8_t>> Unbase64(std::string_view text, const char* what) {
  // Bounded before decoding: a body and its headers, base64'd, and slack.
  constexpr size_t kMax = (kMaxHttpBody + kMaxHttpHeaders * kMaxHttpHeaderBytes + 4096) / 3 * 4;
  if (text.size() % 4 != 0 || text.size() > kMax)
    return Status::InvalidArgument(std::string(what) + ": not base64 of a bounded size (" +
                                   std::to_string(text.size()) + " characters)");
  std::vector<uint8_t> out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return Status::InvalidArgument(std::string(what) + ": not base64");
  size_t pad = 0;  // EVP_DecodeBlock counts the padding's zero bytes
  if (!text.empty() && text.back() == '=')
    pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

json HeadersJson(const HttpHeaders& h) {
  json a = json::array();
  for (const auto& [n, v] : h) a.push_back(json::array({n, v}));
  return a;
}

Status Bad(const char* what, const std::string& field, const std::string& why) {
  return Status::InvalidArgument(std::string(what) + ": field \"" + field + "\" " + why);
}

Result<json> Map(std::string_view text, const char* what) {
  ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, Unbase64(text, what));
  json j = json::from_msgpack(bytes, /*strict=*/true, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument(std::string(what) + ": not a MessagePack map");
  return j;
}

Status String(const json& j, const char* what, const char* key, size_t max, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return Bad(what, key, "is missing or not a string");
  if (it->get_ref<const std::string&>().size() > max)
    return Bad(what, key, "is longer than " + std::to_string(max) + " bytes");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status Headers(const json& j, const char* what, HttpHeaders* out) {
  auto it = j.find("headers");
  if (it == j.end() || !it->is_array()) return Bad(what, "headers", "is missing or not an array");
  if (it->size() > kMaxHttpHeaders)
    return Bad(what, "headers", "has more than " + std::to_string(kMaxHttpHeaders) + " entries");
  for (const json& e : *it) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_string())
      return Bad(what, "headers", "has an entry that is not [name, value]");
    const auto& n = e[0].get_ref<const std::string&>();
    const auto& v = e[1].get_ref<const std::string&>();
    if (n.size() + v.size() > kMaxHttpHeaderBytes)
      return Bad(what, "headers",
                 "has an entry longer than " + std::to_string(kMaxHttpHeaderBytes) + " bytes");
    out->emplace_back(n, v);
  }
  return Status::Ok();
}

Status Body(const json& j, const char* what, std::string* out) {
  auto it = j.find("body");
  if (it == j.end() || !it->is_binary()) return Bad(what, "body", "is missing or not bytes");
  const auto& b = it->get_binary();
  if (b.size() > kMaxHttpBody)
    return Bad(what, "body", "is larger than " + std::to_string(kMaxHttpBody) + " bytes");
  out->assign(b.begin(), b.end());
  return Status::Ok();
}

}  // namespace

std::string EncodeHttpRequest(const component::HttpRequest& r) {
  json j = {{"method", r.method},
            {"path", r.path_with_query},
            {"scheme", r.scheme},
            {"authority", r.authority},
            {"headers", HeadersJson(r.headers)},
            {"body", json::binary(std::vector<uint8_t>(r.body.begin(), r.body.end()))}};
  return Base64(json::to_msgpack(j));
}

Result<component::HttpRequest> DecodeHttpRequest(std::string_view text) {
  const char* what = "HTTP request";
  ARCELLA_ASSIGN_OR_RETURN(json j, Map(text, what));
  component::HttpRequest r;
  ARCELLA_RETURN_IF_ERROR(String(j, what, "method", kMaxHttpMethodBytes, &r.method));
  ARCELLA_RETURN_IF_ERROR(String(j, what, "path", kMaxHttpHeaderBytes, &r.path_with_query));
  ARCELLA_RETURN_IF_ERROR(String(j, what, "scheme", 64, &r.scheme));
  ARCELLA_RETURN_IF_ERROR(String(j, what, "authority", kMaxHttpHeaderBytes, &r.authority));
  if (r.method.empty()) return Bad(what, "method", "is empty");
  ARCELLA_RETURN_IF_ERROR(Headers(j, what, &r.headers));
  ARCELLA_RETURN_IF_ERROR(Body(j, what, &r.body));
  return r;
}

std::string EncodeHttpResponse(const component::HttpResponse& r) {
  json j = {{"status", r.status},
            {"headers", HeadersJson(r.headers)},
            {"body", json::binary(std::vector<uint8_t>(r.body.begin(), r.body.end()))}};
  return Base64(json::to_msgpack(j));
}

Result<component::HttpResponse> DecodeHttpResponse(std::string_view text) {
  const char* what = "HTTP response";
  ARCELLA_ASSIGN_OR_RETURN(json j, Map(text, what));
  component::HttpResponse r;
  auto it = j.find("status");
  if (it == j.end() || !it->is_number_unsigned() || it->get<uint64_t>() < 100 ||
      it->get<uint64_t>() > 999)
    return Bad(what, "status", "is missing or not a status code 100..999");
  r.status = static_cast<uint16_t>(it->get<uint64_t>());
  ARCELLA_RETURN_IF_ERROR(Headers(j, what, &r.headers));
  ARCELLA_RETURN_IF_ERROR(Body(j, what, &r.body));
  return r;
}

std::string HttpHandlerExport(const std::vector<std::string>& exports) {
  constexpr std::string_view kPrefix = "wasi:http/incoming-handler@0.2.";
  for (const std::string& e : exports)
    if (e.rfind(kPrefix, 0) == 0 && e.size() > 7 && e.compare(e.size() - 7, 7, "#handle") == 0)
      return e;
  return "";
}

}  // namespace arcella::platform
