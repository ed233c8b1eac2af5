// AOT compile, cache and load: generated C -> cc -> cached .so -> dlopen.
//
// Cache entries are $cache_dir/<key>.so, key = sha256(wasm bytes, engine
// version, compiler, flags). The cache directory must be private (see
// cache_store.h); each entry ends with HMAC-SHA256(cache secret, object ||
// key) + magic. An entry is read once, its MAC checked on those bytes, and
// the same bytes are loaded from a sealed memfd: nothing on disk is mapped.
// A bad entry is discarded and rebuilt. Entries are published with an atomic
// rename, so concurrent compiles (threads or processes) are safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/backend.h"
#include "engine/rt/arcella_rt.h"

namespace arcella::engine::aot {

// One loaded shared object and its glue entry points.
struct LoadedObject {
  void* handle = nullptr;
  int memfd = -1;    // the sealed memory file the object was loaded from
  std::string path;  // its cache entry
  std::string key;
  uint32_t (*instance_size)() = nullptr;
  void (*init_module)() = nullptr;
  arcella_entry_fn instantiate = nullptr;
  void (*free_instance)(void*) = nullptr;
  wasm_rt_memory_t* (*memory0)(void*) = nullptr;
  void* (*export_ptr)(void*, uint32_t) = nullptr;
  arcella_entry_fn (*export_fn)(uint32_t) = nullptr;
  void (*release_images)() = nullptr;  // optional: drops the module's memory images

  // Code ranges of the module's functions (from the .so's symbol table).
  struct Range {
    uintptr_t lo, hi;
    uint32_t func_index;
  };
  std::vector<Range> ranges;  // sorted by lo
  // Index of the function containing `pc`, or -1.
  int64_t FuncIndexAt(uintptr_t pc) const;

  // Runs init_module exactly once for this object.
  void EnsureInit();

  ~LoadedObject();

 private:
  std::once_flag init_once_;
};

// Where cache entries go: options.cache_dir, else DefaultCacheDir().
std::string ResolveCacheDir(const CompileOptions& options);
// This user's private cache: $ARCELLA_HOME/cache, else $XDG_CACHE_HOME/arcella,
// else $HOME/.cache/arcella (HOME from the password database if unset); ""
// if none can be found. Never a shared directory such as /tmp.
std::string DefaultCacheDir();
// Opens (creating it 0700) and checks the cache directory, creates its key
// and removes compile folders left by dead processes.
Status PrepareCache(const CompileOptions& options);
// The C compiler command (options.cc, $CC, "cc").
std::string ResolveCompiler(const CompileOptions& options);

// Returns the loaded object for `input`, compiling it if the cache has no
// valid entry. `cache_hit` (optional) tells whether the disk cache was used.
Result<std::shared_ptr<LoadedObject>> CompileAndLoad(const BackendInput& input,
                                                     const CompileOptions& options,
                                                     bool* cache_hit = nullptr);

}  // namespace arcella::engine::aot
