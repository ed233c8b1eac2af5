// Portable code: a compiled Module handed to another process (an
// arcella-worker) so that it runs the same code without compiling and
// without reading the AOT cache folder or its key.
//
//   daemon:  auto code = ExportCode(*module, wasm_bytes);   // send code.meta + code.fd
//   worker:  auto mod = AdoptCode(worker_engine, std::move(received));
//
// AOT: `fd` is a fresh sealed memory file (F_SEAL_WRITE|GROW|SHRINK|SEAL)
// holding the body of the verified cache entry (object, data blob, sizes,
// magic: exactly the bytes the exporting process loaded, copied from the
// sealed memory file it loaded them from; without the MAC footer, which the
// receiver could not check); `meta` is the module's metadata record
// (engine/module_meta.h: imports, exports, layout, function names, cache
// key). The receiver trusts its peer for these bytes (it cannot check the MAC
// without the cache key) but checks that the fd is a sealed memory file,
// that `meta` parses, and that the object answers to the cache key in
// `meta`; it loads the object through /proc/self/fd/N. Interpreter: `fd` is
// a sealed memory file with the original wasm bytes and `meta` is empty; the
// receiver checks their sha256 against `hash`, then decodes, validates and
// instruments them (the interpreter tier's "compile").
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
// original bytes when module.tier() is kInterp (ignored for kAot). Reads no
// cache folder: the AOT code is copied from the module's loaded object, so an
// entry removed from the cache since does not matter. FailedPrecondition if
// the module has no code to export (not an AOT or interpreter module);
// InvalidArgument if `wasm` is empty or does not hash to module.hash() for an
// interpreter module; Internal if a memory file cannot be made.
Result<PortableCode> ExportCode(const Module& module, std::span<const uint8_t> wasm = {});

// A Module on `engine` running `code` (consumed). `engine` needs neither a
// cache folder nor a compiler. Its registry is used: adopting the same code
// twice returns the same Module while it is alive (and a Module the engine
// compiled itself for the same hash and tier is returned as is). Errors name
// what is wrong: InvalidArgument for a tier other than kAot/kInterp, a hash
// that is not sha256 hex, a descriptor that is not a sealed memory file, a
// metadata record that does not parse (or disagrees with code.metering), an
// object that does not load or does not answer to its cache key, a metering
// other than the engine's (either tier: one engine's modules share one
// instrumentation), or wasm bytes over 1 GiB or that do not hash to
// code.hash; an interpreter module that does not compile fails as
// Engine::Compile does.
Result<std::shared_ptr<const Module>> AdoptCode(const std::shared_ptr<Engine>& engine,
                                                PortableCode code);

// Plain bytes handed over the same way (a component's own bytes, whose core
// modules travel as PortableCode): a fresh sealed memory file holding them.
// Internal if the file cannot be made.
Result<UniqueFd> ExportBytes(std::span<const uint8_t> bytes);
// The bytes of a memory file from ExportBytes: InvalidArgument unless `fd`
// is a sealed memory file of at most `max_bytes` whose sha256 is `hash`.
Result<std::vector<uint8_t>> AdoptBytes(int fd, const std::string& hash, uint64_t max_bytes);

}  // namespace arcella::engine
