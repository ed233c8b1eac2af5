// Portable code: a compiled Module handed to another process (an
// arcella-worker) so that it runs the same code without compiling and
// without reading the AOT cache folder or its key.
//
//   daemon:  auto code = ExportCode(*module, wasm_bytes);   // send code.meta + code.fd
//   worker:  auto mod = AdoptCode(worker_engine, std::move(received));
//
// AOT: `fd` is a sealed memory file (F_SEAL_WRITE|GROW|SHRINK|SEAL) holding
// the verified cache entry (object + data blob, as OpenVerifiedEntry made
// it); `meta` is the module's metadata record (imports, exports, layout,
// function names, cache key). The receiver trusts its peer for these bytes
// (it cannot check the MAC without the cache key) but checks that the fd is
// a sealed memory file and that the object answers to the cache key in
// `meta`. Interpreter: `fd` is a sealed memory file with the original wasm
// bytes and `meta` is empty; the receiver decodes, validates and instruments
// them (the interpreter tier's "compile").
//
// Thread-safety: both functions are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "engine/engine.h"

namespace arcella::engine {

struct PortableCode {
  Tier tier = Tier::kAot;  // kAot or kInterp
  Metering metering = Metering::kFuel;
  std::string hash;           // sha256 hex of the original wasm bytes (Module::hash())
  std::vector<uint8_t> meta;  // opaque; empty for kInterp
  UniqueFd fd;                // sealed memory file (see above)
};

// What another process needs to run `module`. `wasm` must be the module's
// original bytes when module.tier() is kInterp (ignored for kAot).
// FailedPrecondition if the module's code cannot be exported (e.g. its AOT
// entry is no longer in the cache); InvalidArgument if `wasm` does not hash
// to module.hash() for an interpreter module.
Result<PortableCode> ExportCode(const Module& module, std::span<const uint8_t> wasm = {});

// A Module on `engine` running `code` (consumed). `engine` needs neither a
// cache folder nor a compiler. Its registry is used: adopting the same code
// twice returns the same Module while it is alive. Errors name what is
// wrong: InvalidArgument for a descriptor that is not a sealed memory file,
// a metadata record that does not parse, an object that does not answer to
// its cache key, a metering other than the engine's (interpreter), or wasm
// bytes that do not hash to code.hash.
Result<std::shared_ptr<const Module>> AdoptCode(const std::shared_ptr<Engine>& engine,
                                                PortableCode code);

}  // namespace arcella::engine
