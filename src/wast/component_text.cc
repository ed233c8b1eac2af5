#include "wast/component_text.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "common/sha256.h"
#include "engine/aot/cc_process.h"

namespace arcella::wast {
namespace {

namespace fs = std::filesystem;

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// A JSON string literal (UTF-8 passed through; controls and quotes escaped).
void AppendJsonString(const std::string& s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      *out += "\\u00";
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

// The cached result for `base` (<key>.wasm), if there is one.
bool LoadCached(const std::string& base, ComponentBinaryOrError* out) {
  std::string data;
  if (ReadWhole(base, &data)) {
    *out = std::vector<uint8_t>(data.begin(), data.end());
    return true;
  }
  if (ReadWhole(base + ".err", &data)) {
    while (!data.empty() && data.back() == '\n') data.pop_back();
    *out = Status::InvalidArgument(data);
    return true;
  }
  return false;
}

}  // namespace

Result<std::vector<ComponentBinaryOrError>> ConvertComponentTexts(
    const std::vector<std::string>& texts, const ComponentTextTools& tools) {
  std::string script, lock;
  if (!ReadWhole(tools.script, &script))
    return Status::Unsupported("component text: cannot read " + tools.script +
                               " (npm test tools not installed? run scripts/bootstrap.sh)");
  if (!ReadWhole(tools.lockfile, &lock))
    return Status::Unsupported("component text: cannot read " + tools.lockfile);
  std::error_code ec;
  fs::create_directories(tools.cache_dir, ec);
  if (ec)
    return Status::IoError("component text: creating " + tools.cache_dir + ": " + ec.message());
  const std::string salt = Sha256Hex(Sha256Hex(script) + Sha256Hex(lock));

  std::vector<ComponentBinaryOrError> results(texts.size(), Status::Internal("not converted"));
  std::vector<std::string> bases(texts.size());
  std::vector<size_t> missing;
  for (size_t i = 0; i < texts.size(); ++i) {
    bases[i] = tools.cache_dir + "/" + Sha256Hex(salt + Sha256Hex(texts[i])) + ".wasm";
    if (!LoadCached(bases[i], &results[i])) missing.push_back(i);
  }
  if (missing.empty()) return results;

  if (engine::aot::FindExecutable(tools.node).empty())
    return Status::Unsupported("component text: '" + tools.node +
                               "' not found (node is needed for jco; run scripts/bootstrap.sh)");
  std::string request = "[";
  for (size_t k = 0; k < missing.size(); ++k) {
    if (k) request += ",\n";
    request += "{\"text\":";
    AppendJsonString(texts[missing[k]], &request);
    request += ",\"out\":";
    AppendJsonString(bases[missing[k]], &request);
    request += "}";
  }
  request += "]\n";
  const std::string req_path = tools.cache_dir + "/request-" + salt.substr(0, 16) + "-" +
                               std::to_string(::getpid()) + ".json";
  {
    std::ofstream out(req_path, std::ios::binary | std::ios::trunc);
    out << request;
    if (!out.flush()) return Status::IoError("component text: writing " + req_path);
  }
  const std::string log_path = req_path + ".log";
  Status run = engine::aot::RunCompilerProcess({tools.node, tools.script, req_path}, log_path);
  std::string log;
  (void)ReadWhole(log_path, &log);
  fs::remove(req_path, ec);
  fs::remove(log_path, ec);
  if (!run.ok()) {
    if (log.size() > 2000) log.resize(2000);
    return Status::IoError("component text: " + run.message() + ": " + log);
  }
  for (size_t i : missing) {
    if (!LoadCached(bases[i], &results[i]))
      return Status::IoError("component text: the parser left no result for text " +
                             std::to_string(i) + ": " + log);
  }
  return results;
}

}  // namespace arcella::wast
