// AOT compile, cache and load: generated C -> cc -> cached .so -> dlopen.
//
// Cache entries are $cache_dir/<key>.so, key = sha256(wasm bytes, engine
// version, compiler, flags). Each entry ends with a footer (sha256 of the
// object + magic), checked before dlopen; a bad entry is rebuilt. Entries are
// published with an atomic rename, so concurrent compiles are safe.
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
  std::string path;
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

// Where cache entries go (options.cache_dir, $ARCELLA_HOME/cache, ~/.arcella/cache).
std::string ResolveCacheDir(const CompileOptions& options);
// The C compiler command (options.cc, $CC, "cc").
std::string ResolveCompiler(const CompileOptions& options);

// Returns the loaded object for `input`, compiling it if the cache has no
// valid entry. `cache_hit` (optional) tells whether the disk cache was used.
Result<std::shared_ptr<LoadedObject>> CompileAndLoad(const BackendInput& input,
                                                     const CompileOptions& options,
                                                     bool* cache_hit = nullptr);

}  // namespace arcella::engine::aot
