// AOT compile, cache and load: generated C -> cc -> cached .so -> dlopen.
//
// The C is split into units (c_split.h) compiled by a pool of compiler
// processes (compile_pool.h) while wasm2c still writes, then the main unit
// is compiled and linked with the unit objects into one shared object.
//
// Cache entries (the cache directory must be private, see cache_store.h):
//   <key>.so    key = sha256(wasm bytes, engine version, compiler, flags,
//               runtime header, codegen version); content: the shared
//               object, the data blob (data_blob.h), u64 object size, u64
//               blob size, "ARCSOD1\0"; then the HMAC footer.
//   <ukey>.o    one compiled unit, ukey = sha256(shared header digest, unit
//               digest, compiler, the unit's flags, runtime header, versions):
//               a module that changes a little recompiles a little.
//   <key>.lock  flock'd while <key> is compiled: two processes (or threads)
//               compiling one module wait for one compile, then re-check.
//   <mkey>.meta the module's metadata record (engine/module_meta.h): what a
//               cache hit needs to make the Module without decoding the wasm.
//               mkey = MetaKey: sha256 of the ORIGINAL module's hash,
//               metering, engine version and build, compiler, flags, runtime
//               header, codegen version. It names the <key>.so entry.
// Every entry ends with HMAC-SHA256(cache secret, bytes || key) + magic. A
// module entry is copied by the kernel into a sealed memfd, its MAC checked
// there, and that memfd is what gets dlopen'ed and mapped (nothing on disk is
// mapped; the bytes verified are the bytes loaded). Other entries are read
// once and the MAC checked on those bytes. A bad entry is discarded and
// rebuilt. Entries are published with an atomic rename.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
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
  // The verified entry (object, data blob, sizes) mapped read-only from the
  // memfd: the code's data segment pointers point into it. Pages never read
  // (most of the object) cost no resident memory.
  const uint8_t* map = nullptr;
  size_t map_size = 0;

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

// Opens (creating it 0700) and checks options.cache_dir, creates its key
// and removes compile folders left by dead processes. An empty cache_dir is
// an error.
Status PrepareCache(const CompileOptions& options);
// The C compiler command (options.cc, else "cc"; looked up on $PATH).
std::string ResolveCompiler(const CompileOptions& options);

// Tests only: the bytes of function C per unit (0 restores the default),
// process-wide, so that small modules split into several units.
void SetUnitBudgetForTesting(uint64_t bytes);

// What one CompileAndLoad did (for progress, tests and measurements).
struct CompileStats {
  bool cache_hit = false;         // the module's entry was found: nothing compiled
  uint32_t units_total = 0;       // function units + the main unit
  uint32_t units_compiled = 0;    // units a compiler ran for (main included)
  uint32_t units_cached = 0;      // function units taken from the object cache
  uint64_t max_compiler_rss = 0;  // bytes, the largest compiler process group
};

// Returns the loaded object for `input`, compiling it if the cache has no
// valid entry, with options.jobs compilers within options.compile_memory_bytes;
// polls options.cancel (then: every compiler killed, temporary files removed,
// kCancelled) and calls options.on_progress after each unit. `cache_hit`
// (optional) tells whether the disk cache was used.
Result<std::shared_ptr<LoadedObject>> CompileAndLoad(const BackendInput& input,
                                                     const CompileOptions& options,
                                                     bool* cache_hit = nullptr,
                                                     CompileStats* stats = nullptr);

// The loaded object of a module entry handed over by another process
// (engine/portable_code.h): `fd` is a sealed memory file holding exactly the
// entry's body (object, data blob, sizes, magic; no cache footer), checked to
// answer to `key`. Never touches a cache folder. Takes ownership of `fd`.
// Errors (Internal) name `what` and the problem.
Result<std::shared_ptr<LoadedObject>> LoadSealedEntry(int fd, const std::string& what,
                                                      const std::string& key);

// Warm start (no decode): the key of the metadata record of the module whose
// ORIGINAL bytes hash to `module_hash` (sha256 hex), compiled with `metering`
// by the compiler and flags of `options`. It also covers this engine build
// (the GNU build id of the code holding the engine): a record written by
// another build is never looked at, so a changed instrumentation or layout
// never reuses one. "" (no warm start) if the build has no build id.
std::string MetaKey(const std::string& module_hash, Metering metering,
                    const CompileOptions& options);
// MetaKey as build `build_id` would compute it (tests).
std::string MetaKeyForBuild(const std::string& module_hash, Metering metering,
                            const CompileOptions& options, const std::string& build_id);
// The GNU build id (hex) of the code holding the engine; "" if none.
const std::string& EngineBuildId();
// The verified record `<meta_key>.meta`, or nothing (missing; a record not
// authenticated for `meta_key` is discarded with a message).
std::optional<std::vector<uint8_t>> ReadMetaRecord(const CompileOptions& options,
                                                   const std::string& meta_key);
// Seals and publishes `record` as `<meta_key>.meta`.
Status WriteMetaRecord(const CompileOptions& options, const std::string& meta_key,
                       std::vector<uint8_t> record);
// Removes `<meta_key>.meta` (a record that does not parse).
void DiscardMetaRecord(const CompileOptions& options, const std::string& meta_key);
// The loaded object of the cache entry `<key>.so`, never compiling: null if
// the cache has no valid entry for `key` (a bad one is discarded).
Result<std::shared_ptr<LoadedObject>> LoadCached(const std::string& key,
                                                 const CompileOptions& options);

}  // namespace arcella::engine::aot
