// Component text -> component binary, through jco's text parser (wasm-tools
// `parse`) run by node on tools/npm/component-parse.mjs. All texts of one
// call go to ONE node process; results are cached by content hash in
// `cache_dir`, so a second run starts no process at all.
//
//   ComponentTextTools tools = DefaultComponentTextTools(build_dir + "/component-wat");
//   auto out = ConvertComponentTexts({"(component)"}, tools);
//   // (*out)[0]: the bytes, or InvalidArgument "3:7: expected ..." from the parser
//
// The cache key is the SHA-256 of the text and of the lockfile and script
// (another jco version, another cache entry). A cache entry is a file
// <key>.wasm (the binary) or <key>.wasm.err (the parser's message).
// Errors: Unsupported when node or the script is missing (the npm test tools
// are not installed: scripts/bootstrap.sh installs them); IoError when the
// process fails or leaves no result.
// Threads: one call at a time per cache_dir is not required (files are
// renamed into place), but two concurrent calls may both run the parser.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace arcella::wast {

struct ComponentTextTools {
  std::string node = "node";  // the node executable (on $PATH unless it has a '/')
  std::string script;         // tools/npm/component-parse.mjs
  std::string lockfile;       // tools/npm/package-lock.json (hashed into the keys)
  std::string cache_dir;      // created if missing
};

// Per text: the binary, or the parser's refusal (InvalidArgument "line:col: what").
using ComponentBinaryOrError = Result<std::vector<uint8_t>>;

Result<std::vector<ComponentBinaryOrError>> ConvertComponentTexts(
    const std::vector<std::string>& texts, const ComponentTextTools& tools);

}  // namespace arcella::wast
