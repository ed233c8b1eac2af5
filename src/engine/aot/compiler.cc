#include "engine/aot/compiler.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "engine/aot/cache_gc.h"
#include "engine/aot/cache_store.h"
#include "engine/aot/cc_process.h"
#include "engine/aot/codegen.h"
#include "engine/aot/compile_pool.h"
#include "engine/aot/data_blob.h"
#include "engine/aot/elf_symbols.h"

extern "C" const char arcella_wasm_rt_h_text[];

namespace arcella::engine::aot {
namespace {

// Flags of every compile; the unit's optimisation level comes first. The
// -fno-* passes make "lean -O1": about 20-35% less compiler CPU than plain
// -O1 for code within 5% of its speed (docs/LIMITS.md, "Optimisation level").
constexpr char kFlags[] =
    "-fno-tree-dominator-opts -fno-tree-dse -fno-inline-functions-called-once -fno-tree-pta "
    "-fno-optimize-sibling-calls -fsignaling-nans -fPIC -DNDEBUG -w";
constexpr char kOptLevel[] = "-O1";
// A unit holding a function of more C than this is compiled at -O0 (see
// docs/LIMITS.md for the measurements behind it).
constexpr uint64_t kGiantFunctionBytes = 24ull << 20;
// Function C per unit (docs/LIMITS.md).
constexpr uint64_t kUnitBudget = 4ull << 20;
std::atomic<uint64_t> g_unit_budget{kUnitBudget};
// Compiler memory estimate for a unit: base + factor x its C bytes (CRuby,
// gcc 12 -O1: the largest of 40 ~4 MB units peaked at 1.05 GB).
constexpr uint64_t kCompilerBaseBytes = 64ull << 20;
constexpr uint64_t kCompilerBytesPerCByte = 240;
// Bumped when the generated code changes (part of the cache key).
constexpr char kCodegenVersion[] = "codegen-split1-foldfuel";
constexpr char kEntryMagic[8] = {'A', 'R', 'C', 'S', 'O', 'D', '1', '\0'};

// Runtime entry points referenced only by generated code: naming them here
// links their objects into every executable that can load AOT modules.
extern "C" const void* const arcella_rt_keep[] = {
    reinterpret_cast<const void*>(&wasm_rt_allocate_memory),
    reinterpret_cast<const void*>(&wasm_rt_grow_memory),
    reinterpret_cast<const void*>(&wasm_rt_free_memory),
    reinterpret_cast<const void*>(&arcella_rt_allocate_memory_image),
    reinterpret_cast<const void*>(&arcella_rt_release_image),
    reinterpret_cast<const void*>(&wasm_rt_allocate_funcref_table),
    reinterpret_cast<const void*>(&wasm_rt_allocate_externref_table),
    reinterpret_cast<const void*>(&wasm_rt_grow_funcref_table),
    reinterpret_cast<const void*>(&wasm_rt_grow_externref_table),
    reinterpret_cast<const void*>(&wasm_rt_free_funcref_table),
    reinterpret_cast<const void*>(&wasm_rt_free_externref_table),
    reinterpret_cast<const void*>(&wasm_rt_register_func_type),
    reinterpret_cast<const void*>(&wasm_rt_trap),
    reinterpret_cast<const void*>(&wasm_rt_is_initialized),
    reinterpret_cast<const void*>(&arcella_rt_host_call),
    reinterpret_cast<const void*>(&arcella_funcref_box),
    reinterpret_cast<const void*>(&arcella_funcref_unbox),
};

void Sha256(const void* data, size_t n, uint8_t out[32]) {
  unsigned int len = 32;
  EVP_Digest(data, n, out, &len, EVP_sha256(), nullptr);
}

std::string Hex(const uint8_t* d, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += k[d[i] >> 4];
    s += k[d[i] & 15];
  }
  return s;
}

std::string CacheKey(const BackendInput& in, const std::string& cc) {
  std::string material(in.wasm.begin(), in.wasm.end());
  material += '\0';
  material += ARCELLA_ENGINE_VERSION;
  material += '\0';
  material += cc;
  material += '\0';
  material += kOptLevel;
  material += kFlags;
  material += '\0';
  material += arcella_wasm_rt_h_text;  // the generated code's ABI
  material += '\0';
  material += kCodegenVersion;
  uint8_t d[32];
  Sha256(material.data(), material.size(), d);
  return Hex(d, 32);
}

Status WriteWhole(const std::string& path, std::string_view data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("writing " + path + ": " + strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  int e = errno;
  close(fd);
  if (done != data.size()) return Status::IoError("writing " + path + ": " + strerror(e));
  return Status::Ok();
}

bool ReadWhole(const std::string& path, std::vector<uint8_t>* out) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return false;
    }
    if (n == 0) break;
    out->insert(out->end(), buf, buf + n);
  }
  close(fd);
  return true;
}

template <typename F>
bool Sym(void* h, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(h, name));
  return *out != nullptr;
}

// Splits a verified entry's content into object and data blob.
bool ParseEntry(std::span<const uint8_t> content, std::span<const uint8_t>* so,
                std::span<const uint8_t>* data) {
  if (content.size() < 24 ||
      memcmp(content.data() + content.size() - 8, kEntryMagic, sizeof kEntryMagic) != 0)
    return false;
  auto get = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(content[at + i]) << (8 * i);
    return v;
  };
  const uint64_t so_size = get(content.size() - 24), data_size = get(content.size() - 16);
  if (so_size > content.size() - 24 || data_size != content.size() - 24 - so_size) return false;
  *so = content.subspan(0, so_size);
  *data = content.subspan(so_size, data_size);
  return true;
}

// Loads the verified module entry held by the sealed memfd `fd` (its first
// `body` bytes: object, data blob, sizes, magic; see CacheStore::
// OpenVerifiedEntry). Takes ownership of `fd`. `path` is the cache entry it
// came from (for messages).
Result<std::shared_ptr<LoadedObject>> LoadVerified(int fd, uint64_t body, const std::string& path,
                                                   const std::string& key) {
  auto obj = std::make_shared<LoadedObject>();
  obj->memfd = fd;  // kept open while loaded: its /proc name stays unique
  obj->path = path;
  obj->key = key;
  void* map = mmap(nullptr, static_cast<size_t>(body), PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED)
    return Status::Internal("aot: cannot map " + path + ": " + strerror(errno));
  obj->map = static_cast<const uint8_t*>(map);
  obj->map_size = static_cast<size_t>(body);
  std::span<const uint8_t> so, data;
  if (!ParseEntry(std::span<const uint8_t>(obj->map, obj->map_size), &so, &data))
    return Status::Internal("aot: " + path + " is not a module entry");
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  void* h = dlopen(proc.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* err = dlerror();
    return Status::Internal("aot: cannot load " + path + ": " + (err ? err : "dlopen failed"));
  }
  obj->handle = h;
  const char* (*key_fn)() = nullptr;
  if (!Sym(h, "arcella_cache_key", &key_fn) || key != key_fn() ||
      !Sym(h, "arcella_instance_size", &obj->instance_size) ||
      !Sym(h, "arcella_init_module", &obj->init_module) ||
      !Sym(h, "arcella_instantiate", &obj->instantiate) ||
      !Sym(h, "arcella_free", &obj->free_instance) || !Sym(h, "arcella_memory0", &obj->memory0) ||
      !Sym(h, "arcella_export_ptr", &obj->export_ptr) ||
      !Sym(h, "arcella_export_fn", &obj->export_fn)) {
    return Status::Internal("aot: " + path +
                            " is not the object for its cache key");  // destructor dlcloses
  }
  // Data segments: the code reads them through arcella_data_segments[].
  const uint8_t** segs = nullptr;
  uint32_t (*seg_count)() = nullptr;
  std::vector<const uint8_t*> ptrs;
  if (!Sym(h, "arcella_data_segments", &segs) ||
      !Sym(h, "arcella_data_segment_count", &seg_count) ||
      !DecodeDataBlob(data, seg_count(), &ptrs))
    return Status::Internal("aot: " + path + " has no valid data segments for its code");
  for (size_t i = 0; i < ptrs.size(); ++i) segs[i] = ptrs[i];
  link_map* lm = nullptr;
  uintptr_t base = 0;
  if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm != nullptr) base = lm->l_addr;
  const uint32_t* export_func = nullptr;
  uint32_t (*export_count)() = nullptr;
  std::span<const uint32_t> exports;
  if (Sym(h, "arcella_export_func_index", &export_func) &&
      Sym(h, "arcella_export_count", &export_count))
    exports = std::span<const uint32_t>(export_func, export_count() + 1);  // + start
  Sym(h, "arcella_release_images", &obj->release_images);
  obj->ranges = FunctionRanges(so, base, exports);
  return obj;
}

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Seals `bytes` for `key` and publishes them as `name`.
Status SealAndPublish(const CacheStore& store, const std::string& name, const std::string& key,
                      std::vector<uint8_t> bytes) {
  store.Seal(&bytes, key);
  return store.Publish(name, bytes);
}

// The object of a verified entry `name` for `key`, or nothing (a bad entry
// is discarded with a message).
std::optional<std::vector<uint8_t>> ReadVerified(const CacheStore& store, const std::string& name,
                                                 const std::string& key) {
  auto file = store.ReadEntry(name);
  if (!file.ok() || file->empty()) return std::nullopt;
  size_t size = 0;
  if (store.Verify(*file, key, &size)) {
    file->resize(size);
    return std::move(*file);
  }
  fprintf(stderr,
          "arcella: aot cache: rejected %s/%s (not authenticated by this cache's key); "
          "recompiling\n",
          store.path().c_str(), name.c_str());
  store.Discard(name);
  return std::nullopt;
}

struct Built {
  std::vector<uint8_t> so;
  std::vector<uint8_t> data;
};

// Generates the C units for `input` in a private folder of the cache,
// compiles them (reusing cached unit objects) and links them; returns the
// object and the data blob (not yet published). The folder is removed
// whatever happens; a cancel kills every compiler.
Result<Built> Build(const BackendInput& input, const std::string& cc, const std::string& key,
                    const CacheStore& store, const CompileOptions& options, CompileStats* stats) {
  ARCELLA_ASSIGN_OR_RETURN(const std::string dir, store.MakeTempDir(key.substr(0, 16)));
  struct Cleanup {
    const CacheStore& store;
    const std::string& dir;
    ~Cleanup() { store.RemoveTempDir(dir); }
  } cleanup{store, dir};
  // Declared after the cleanup: compilers die before their folder goes.
  CompilePool pool(options.jobs, options.compile_memory_bytes, options.cancel);
  ARCELLA_RETURN_IF_ERROR(WriteWhole(dir + "/wasm-rt.h", arcella_wasm_rt_h_text));

  const auto start = std::chrono::steady_clock::now();
  uint32_t done = 0, total = 0;
  auto progress = [&] {
    if (!options.on_progress) return;
    CompileProgress p;
    p.units_done = done;
    p.units_total = total;
    p.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (total > 0 && done > 0 && done < total) p.estimate = p.elapsed * (total - done) / done;
    options.on_progress(p);
  };
  const std::vector<std::string> cc_words = Words(cc);
  if (cc_words.empty()) return Status::InvalidArgument("aot: empty C compiler command");
  const std::vector<std::string> flags = Words(kFlags);
  std::string header_digest;
  std::vector<std::string> objects;

  SplitHooks hooks;
  hooks.dir = dir;
  hooks.unit_budget = g_unit_budget.load(std::memory_order_relaxed);
  hooks.on_header = [&](const std::string& digest) {
    header_digest = digest;
    return pool.Pump();
  };
  // A module of one unit is compiled with its main unit in one step (one
  // compiler process for small modules); from the second unit on, units go
  // to the pool as they are written.
  std::optional<CUnit> first;
  uint32_t submitted = 0;
  std::function<Status(const CUnit&)> submit = [&](const CUnit& u) -> Status {
    ++submitted;
    const std::string opt = u.largest_function > kGiantFunctionBytes ? "-O0" : kOptLevel;
    std::string material = header_digest + '\0' + u.digest + '\0' + cc + '\0' + opt + kFlags +
                           '\0' + ARCELLA_ENGINE_VERSION + '\0' + kCodegenVersion + '\0' +
                           arcella_wasm_rt_h_text;
    uint8_t d[32];
    Sha256(material.data(), material.size(), d);
    const std::string ukey = Hex(d, 32), name = ukey + ".o";
    const std::string obj = dir + "/u" + std::to_string(u.index) + ".o";
    objects.push_back(obj);
    if (auto cached = ReadVerified(store, name, ukey)) {
      TouchCacheEntry(store.dir_fd(), name);  // GC: recently used (cache_gc.h)
      ARCELLA_RETURN_IF_ERROR(
          WriteWhole(obj, std::string_view(reinterpret_cast<const char*>(cached->data()),
                                           cached->size())));
      ++done;
      if (stats) stats->units_cached++;
      progress();
      return pool.Pump();
    }
    CompileJob job;
    job.argv = cc_words;
    job.argv.push_back(opt);
    job.argv.insert(job.argv.end(), flags.begin(), flags.end());
    for (const std::string& a :
         {std::string("-I"), dir, std::string("-c"), std::string("-o"), obj, u.path})
      job.argv.push_back(a);
    job.log_path = dir + "/u" + std::to_string(u.index) + ".log";
    job.memory_estimate = kCompilerBaseBytes + kCompilerBytesPerCByte * u.bytes;
    job.what = u.path;
    job.on_done = [&, obj, name, ukey]() -> Status {
      std::vector<uint8_t> bytes;
      if (!ReadWhole(obj, &bytes) || bytes.empty())
        return Status::IoError("aot: compiler produced no object " + obj);
      ARCELLA_RETURN_IF_ERROR(SealAndPublish(store, name, ukey, std::move(bytes)));
      ++done;
      if (stats) stats->units_compiled++;
      progress();
      return Status::Ok();
    };
    pool.Submit(std::move(job));
    return pool.Pump();
  };
  hooks.on_unit = [&](const CUnit& u) -> Status {
    if (submitted == 0 && !first) {
      first = u;
      return pool.Pump();
    }
    if (first) {
      CUnit f = *first;
      first.reset();
      ARCELLA_RETURN_IF_ERROR(submit(f));
    }
    return submit(u);
  };
  progress();
  ARCELLA_ASSIGN_OR_RETURN(GeneratedModule gen, GenerateSplitC(input, key, hooks));
  total = submitted + 1;
  if (stats) stats->units_total = total;
  progress();
  ARCELLA_RETURN_IF_ERROR(pool.Drain());

  // The main unit, compiled and linked with the unit objects in one step.
  struct stat st;
  CompileJob link;
  link.argv = cc_words;
  link.argv.push_back(first && first->largest_function > kGiantFunctionBytes ? "-O0" : kOptLevel);
  link.argv.insert(link.argv.end(), flags.begin(), flags.end());
  for (const std::string& a : {std::string("-shared"), std::string("-I"), dir, std::string("-o"),
                               dir + "/m.so", gen.main_path})
    link.argv.push_back(a);
  link.argv.insert(link.argv.end(), objects.begin(), objects.end());
  if (first) link.argv.push_back(first->path);  // the only unit: compiled here
  link.argv.push_back("-lm");
  link.log_path = dir + "/link.log";
  link.memory_estimate = kCompilerBaseBytes +
                         kCompilerBytesPerCByte *
                             ((stat(gen.main_path.c_str(), &st) == 0 ? st.st_size : 0) +
                              (first ? first->bytes : 0));
  link.what = gen.main_path;
  link.on_done = [&] {
    ++done;
    if (stats) stats->units_compiled++;
    progress();
    return Status::Ok();
  };
  pool.Submit(std::move(link));
  ARCELLA_RETURN_IF_ERROR(pool.Drain());
  if (stats) stats->max_compiler_rss = pool.max_compiler_rss();
  Built out;
  if (!ReadWhole(dir + "/m.so", &out.so) || out.so.empty())
    return Status::IoError("aot: compiler produced no object");
  out.data = std::move(gen.data);
  return out;
}

// The cache entry's bytes: object, data blob, sizes, magic.
std::vector<uint8_t> EntryBytes(const Built& b) {
  std::vector<uint8_t> e;
  e.reserve(b.so.size() + b.data.size() + 24 + CacheStore::kFooterSize);
  e.insert(e.end(), b.so.begin(), b.so.end());
  e.insert(e.end(), b.data.begin(), b.data.end());
  for (uint64_t v : {static_cast<uint64_t>(b.so.size()), static_cast<uint64_t>(b.data.size())})
    for (int i = 0; i < 8; ++i) e.push_back(static_cast<uint8_t>(v >> (8 * i)));
  e.insert(e.end(), kEntryMagic, kEntryMagic + sizeof kEntryMagic);
  return e;
}

// An exclusive flock on <key>.lock in the cache: one compile of a module at
// a time across processes (and threads: each lock is its own open file).
class KeyLock {
 public:
  ~KeyLock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  Status Acquire(const CacheStore& store, const std::string& key, const std::atomic<bool>* cancel) {
    const std::string name = key + ".lock";
    for (;;) {
      if (fd_ < 0)
        fd_ = openat(store.dir_fd(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd_ < 0)
        return Status::IoError("aot cache: cannot open lock " + store.path() + "/" + name + ": " +
                               strerror(errno));
      if (flock(fd_, LOCK_EX | LOCK_NB) == 0) {
        if (LockStillLinked(store.dir_fd(), name, fd_)) return Status::Ok();
        close(fd_);  // the cache GC unlinked it meanwhile: lock the new file
        fd_ = -1;
        continue;
      }
      if (errno != EWOULDBLOCK && errno != EINTR)
        return Status::IoError("aot cache: cannot lock " + store.path() + "/" + name + ": " +
                               strerror(errno));
      if (cancel != nullptr && cancel->load(std::memory_order_relaxed))
        return Status::Cancelled("compile cancelled (while waiting for another compile)");
      struct timespec ts = {0, 20 * 1000 * 1000};  // the other compile takes seconds
      nanosleep(&ts, nullptr);
    }
  }

 private:
  int fd_ = -1;
};

std::mutex g_mu;
std::map<std::string, std::weak_ptr<LoadedObject>> g_loaded;
std::map<std::string, std::shared_ptr<std::mutex>> g_key_mu;

}  // namespace

int64_t LoadedObject::FuncIndexAt(uintptr_t pc) const {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), pc,
                             [](uintptr_t v, const Range& r) { return v < r.lo; });
  if (it == ranges.begin()) return -1;
  --it;
  return pc < it->hi ? static_cast<int64_t>(it->func_index) : -1;
}

void LoadedObject::EnsureInit() {
  std::call_once(init_once_, [this] { init_module(); });
}

LoadedObject::~LoadedObject() {
  if (handle != nullptr) {
    if (release_images != nullptr) release_images();
    dlclose(handle);
  }
  if (map != nullptr) munmap(const_cast<uint8_t*>(map), map_size);
  if (memfd >= 0) close(memfd);
}

Status PrepareCache(const CompileOptions& options) {
  if (options.cache_dir.empty())
    return Status::FailedPrecondition("aot cache: no AOT cache folder configured");
  ARCELLA_ASSIGN_OR_RETURN(std::unique_ptr<CacheStore> store, CacheStore::Open(options.cache_dir));
  store->CleanStaleTempDirs();
  CollectCacheGarbage(store->dir_fd());
  return Status::Ok();
}

void SetUnitBudgetForTesting(uint64_t bytes) {
  g_unit_budget.store(bytes == 0 ? kUnitBudget : bytes, std::memory_order_relaxed);
}

std::string ResolveCompiler(const CompileOptions& options) {
  return options.cc.empty() ? "cc" : options.cc;
}

namespace {

// The loaded object for cache key `key`: from this process, else from the
// cache, else (if `input` is set) compiled. With no `input`, a missing entry
// is a null result.
Result<std::shared_ptr<LoadedObject>> LoadOrBuild(const std::string& key, const BackendInput* input,
                                                  const CompileOptions& options,
                                                  CompileStats* stats) {
  const std::string& dir = options.cache_dir;
  if (dir.empty()) return Status::FailedPrecondition("aot cache: no AOT cache folder configured");
  const std::string name = key + ".so";
  const std::string path = dir + "/" + name;
  std::shared_ptr<std::mutex> key_mu;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (auto obj = g_loaded[path].lock()) {
      stats->cache_hit = true;
      return obj;
    }
    auto& m = g_key_mu[path];
    if (!m) m = std::make_shared<std::mutex>();
    key_mu = m;
  }
  std::lock_guard<std::mutex> key_lock(*key_mu);  // one compile per key in this process
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (auto obj = g_loaded[path].lock()) {
      stats->cache_hit = true;
      return obj;
    }
  }
  ARCELLA_ASSIGN_OR_RETURN(std::unique_ptr<CacheStore> store, CacheStore::Open(dir));
  // The entry is copied into a sealed memfd and its MAC checked there before
  // anything is mapped; that memfd is what gets loaded.
  auto try_load = [&]() -> std::shared_ptr<LoadedObject> {
    auto sealed = store->OpenVerifiedEntry(name, key);
    if (!sealed.ok()) {
      if (sealed.status().code() != StatusCode::kCorruption) return nullptr;  // unreadable
      fprintf(stderr, "arcella: aot cache: rejected %s (%s); recompiling\n", path.c_str(),
              sealed.status().message().c_str());
      store->Discard(name);
      return nullptr;
    }
    if (sealed->fd < 0) return nullptr;  // missing
    auto loaded = LoadVerified(sealed->fd, sealed->body, path, key);
    if (loaded.ok()) return *loaded;
    fprintf(stderr, "arcella: aot cache: rejected %s (%s); recompiling\n", path.c_str(),
            loaded.status().message().c_str());
    store->Discard(name);
    return nullptr;
  };
  std::shared_ptr<LoadedObject> obj = try_load();
  if (!obj && input == nullptr) return obj;
  if (!obj) {
    // One compile per key across processes: wait, then look again.
    KeyLock lock;
    ARCELLA_RETURN_IF_ERROR(lock.Acquire(*store, key, options.cancel));
    obj = try_load();
    if (!obj) {
      ARCELLA_ASSIGN_OR_RETURN(Built built, Build(*input, ResolveCompiler(options), key, *store,
                                                  options, stats));
      ARCELLA_RETURN_IF_ERROR(SealAndPublish(*store, name, key, EntryBytes(built)));
      CollectCacheGarbageSometimes(store->dir_fd());  // bounded unit objects, no stale locks
      built = Built{};  // the object is loaded from the published entry, verified again
      obj = try_load();
      if (!obj) return Status::IoError("aot cache: cannot load the entry just built, " + path);
    }
  }
  if (stats->units_total == 0) stats->cache_hit = true;
  std::lock_guard<std::mutex> lock(g_mu);
  g_loaded[path] = obj;
  return obj;
}

// The GNU build id of the object holding this code, as hex ("" if none).
std::string OwnBuildId() {
  struct Search {
    uintptr_t addr;
    std::string id;
  } search{reinterpret_cast<uintptr_t>(&OwnBuildId), {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* arg) -> int {
        auto* s = static_cast<Search*>(arg);
        bool mine = false;
        for (int i = 0; i < info->dlpi_phnum && !mine; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          const uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          mine = ph.p_type == PT_LOAD && s->addr >= lo && s->addr < lo + ph.p_memsz;
        }
        if (!mine) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const auto* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
          const uint8_t* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* n = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const uint8_t* name = p + sizeof(ElfW(Nhdr));
            const uint8_t* desc = name + ((n->n_namesz + 3) & ~3u);
            if (desc + n->n_descsz > end) break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
              s->id = Hex(desc, n->n_descsz);
              return 1;
            }
            p = desc + ((n->n_descsz + 3) & ~3u);
          }
        }
        return 1;
      },
      &search);
  return search.id;
}

}  // namespace

Result<std::shared_ptr<LoadedObject>> CompileAndLoad(const BackendInput& input,
                                                     const CompileOptions& options, bool* cache_hit,
                                                     CompileStats* stats) {
  (void)arcella_rt_keep;
  CompileStats local_stats;
  if (stats == nullptr) stats = &local_stats;
  *stats = CompileStats{};
  if (options.cache_dir.empty())
    return Status::FailedPrecondition("aot cache: no AOT cache folder configured");
  const std::string key = CacheKey(input, ResolveCompiler(options));
  auto obj = LoadOrBuild(key, &input, options, stats);
  if (cache_hit) *cache_hit = stats->cache_hit;
  return obj;
}

Result<std::shared_ptr<LoadedObject>> LoadCached(const std::string& key,
                                                 const CompileOptions& options) {
  CompileStats stats;
  return LoadOrBuild(key, nullptr, options, &stats);
}

Result<std::shared_ptr<LoadedObject>> LoadSealedEntry(int fd, const std::string& what,
                                                      const std::string& key) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return Status::Internal("aot: " + what + ": " + strerror(e));
  }
  if (st.st_size < 24) {
    close(fd);
    return Status::Internal("aot: " + what + " is too small to be a module entry (" +
                            std::to_string(st.st_size) + " bytes)");
  }
  return LoadVerified(fd, static_cast<uint64_t>(st.st_size), what, key);
}

const std::string& EngineBuildId() {
  static const std::string id = OwnBuildId();
  return id;
}

std::string MetaKeyForBuild(const std::string& module_hash, Metering metering,
                            const CompileOptions& options, const std::string& build_id) {
  if (build_id.empty()) return "";  // no way to tell builds apart: no records
  std::string material = "arcella-module-meta-1";
  material += '\0';
  material += module_hash;
  material += '\0';
  material += std::to_string(static_cast<int>(metering));
  material += '\0';
  material += ARCELLA_ENGINE_VERSION;
  material += '\0';
  material += build_id;
  material += '\0';
  material += ResolveCompiler(options);
  material += '\0';
  material += kOptLevel;
  material += kFlags;
  material += '\0';
  material += arcella_wasm_rt_h_text;
  material += '\0';
  material += kCodegenVersion;
  uint8_t d[32];
  Sha256(material.data(), material.size(), d);
  return Hex(d, 32);
}

std::string MetaKey(const std::string& module_hash, Metering metering,
                    const CompileOptions& options) {
  return MetaKeyForBuild(module_hash, metering, options, EngineBuildId());
}

std::optional<std::vector<uint8_t>> ReadMetaRecord(const CompileOptions& options,
                                                   const std::string& meta_key) {
  auto store = CacheStore::Open(options.cache_dir);
  if (!store.ok()) return std::nullopt;
  return ReadVerified(**store, meta_key + ".meta", meta_key);
}

Status WriteMetaRecord(const CompileOptions& options, const std::string& meta_key,
                       std::vector<uint8_t> record) {
  ARCELLA_ASSIGN_OR_RETURN(std::unique_ptr<CacheStore> store, CacheStore::Open(options.cache_dir));
  return SealAndPublish(*store, meta_key + ".meta", meta_key, std::move(record));
}

void DiscardMetaRecord(const CompileOptions& options, const std::string& meta_key) {
  auto store = CacheStore::Open(options.cache_dir);
  if (store.ok()) (*store)->Discard(meta_key + ".meta");
}

}  // namespace arcella::engine::aot
