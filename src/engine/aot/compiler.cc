#include "engine/aot/compiler.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/aot/cache_store.h"
#include "engine/aot/cc_process.h"
#include "engine/aot/codegen.h"
#include "engine/aot/elf_symbols.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux >= 6.3: the memfd may be mapped executable
#endif

extern "C" const char arcella_wasm_rt_h_text[];

namespace arcella::engine::aot {
namespace {

constexpr char kFlags[] =
    "-O1 -fno-optimize-sibling-calls -fsignaling-nans -fPIC -shared -DNDEBUG -w";
// Bumped when the generated code changes (part of the cache key).
constexpr char kCodegenVersion[] = "codegen-cow1";

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

// A sealed, close-on-exec memory file holding `object`: once sealed, nobody
// (this process included) can change its bytes.
Result<int> SealedMemfd(std::span<const uint8_t> object) {
  int fd = memfd_create("arcella-aot", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create("arcella-aot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Status::Internal(std::string("aot: memfd_create: ") + strerror(errno));
  size_t done = 0;
  while (done < object.size()) {
    ssize_t n = write(fd, object.data() + done, object.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done != object.size() ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    int e = errno;
    close(fd);
    return Status::Internal(std::string("aot: sealing the object in memory: ") + strerror(e));
  }
  return fd;
}

// Loads `object` -- bytes whose MAC was verified by the caller -- from a
// sealed memfd. `path` is the cache entry it came from (for messages).
Result<std::shared_ptr<LoadedObject>> LoadVerified(std::span<const uint8_t> object,
                                                   const std::string& path,
                                                   const std::string& key) {
  ARCELLA_ASSIGN_OR_RETURN(int fd, SealedMemfd(object));
  auto obj = std::make_shared<LoadedObject>();
  obj->memfd = fd;  // kept open while loaded: its /proc name stays unique
  obj->path = path;
  obj->key = key;
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
  obj->ranges = FunctionRanges(object, base, exports);
  return obj;
}

// Generates C for `input`, compiles it in a private folder of the cache and
// returns the object's bytes (not yet published).
Result<std::vector<uint8_t>> Build(const BackendInput& input, const std::string& cc,
                                   const std::string& key, const CacheStore& store) {
  ARCELLA_ASSIGN_OR_RETURN(GeneratedC gen, GenerateC(input, key));
  ARCELLA_ASSIGN_OR_RETURN(const std::string dir, store.MakeTempDir(key.substr(0, 16)));
  Status st = WriteWhole(dir + "/m.c", gen.c);
  if (st.ok()) st = WriteWhole(dir + "/m.h", gen.h);
  if (st.ok()) st = WriteWhole(dir + "/wasm-rt.h", arcella_wasm_rt_h_text);
  if (st.ok()) {
    std::vector<std::string> args;
    std::istringstream ccs(cc);
    for (std::string w; ccs >> w;) args.push_back(w);
    std::istringstream fs(kFlags);
    for (std::string w; fs >> w;) args.push_back(w);
    for (const std::string& a : {std::string("-I"), dir, std::string("-o"), dir + "/m.so",
                                 dir + "/m.c", std::string("-lm")})
      args.push_back(a);
    st = RunCompilerProcess(args, dir + "/cc.log");
    if (st.code() == StatusCode::kInternal) {  // it ran and failed: show its output
      std::vector<uint8_t> log;
      ReadWhole(dir + "/cc.log", &log);
      if (log.size() > 4000) log.resize(4000);
      st = Status::Internal(st.message() + ":\n" + std::string(log.begin(), log.end()));
    }
  }
  std::vector<uint8_t> so;
  if (st.ok() && (!ReadWhole(dir + "/m.so", &so) || so.empty()))
    st = Status::IoError("aot: compiler produced no object");
  store.RemoveTempDir(dir);
  if (!st.ok()) return st;
  return so;
}

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
  if (memfd >= 0) close(memfd);
}

std::string ResolveCacheDir(const CompileOptions& options) {
  return options.cache_dir.empty() ? DefaultCacheDir() : options.cache_dir;
}

std::string DefaultCacheDir() {
  if (const char* h = getenv("ARCELLA_HOME"); h != nullptr && *h) return std::string(h) + "/cache";
  if (const char* x = getenv("XDG_CACHE_HOME"); x != nullptr && x[0] == '/')
    return std::string(x) + "/arcella";
  std::string home;
  if (const char* h = getenv("HOME"); h != nullptr && h[0] == '/') home = h;
  if (home.empty()) {
    char buf[4096];
    passwd pw;
    passwd* res = nullptr;
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res != nullptr &&
        res->pw_dir != nullptr && res->pw_dir[0] == '/')
      home = res->pw_dir;
  }
  if (home.empty()) return "";  // no private place: the caller reports it
  return home + "/.cache/arcella";
}

Status PrepareCache(const CompileOptions& options) {
  const std::string dir = ResolveCacheDir(options);
  if (dir.empty())
    return Status::FailedPrecondition("aot cache: no cache directory (set ARCELLA_HOME or HOME)");
  ARCELLA_ASSIGN_OR_RETURN(std::unique_ptr<CacheStore> store, CacheStore::Open(dir));
  store->CleanStaleTempDirs();
  return Status::Ok();
}

std::string ResolveCompiler(const CompileOptions& options) {
  if (!options.cc.empty()) return options.cc;
  if (const char* c = getenv("CC"); c != nullptr && *c) return c;
  return "cc";
}

Result<std::shared_ptr<LoadedObject>> CompileAndLoad(const BackendInput& input,
                                                     const CompileOptions& options,
                                                     bool* cache_hit) {
  (void)arcella_rt_keep;
  const std::string cc = ResolveCompiler(options);
  const std::string key = CacheKey(input, cc);
  const std::string dir = ResolveCacheDir(options);
  if (dir.empty())
    return Status::FailedPrecondition(
        "aot cache: no private cache directory (set ARCELLA_HOME or HOME)");
  const std::string name = key + ".so";
  const std::string path = dir + "/" + name;
  std::shared_ptr<std::mutex> key_mu;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (auto obj = g_loaded[path].lock()) {
      if (cache_hit) *cache_hit = true;
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
      if (cache_hit) *cache_hit = true;
      return obj;
    }
  }
  ARCELLA_ASSIGN_OR_RETURN(std::unique_ptr<CacheStore> store, CacheStore::Open(dir));
  // The entry is read once; the MAC is checked on those bytes before anything
  // is mapped, and the same bytes are what gets loaded.
  ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> file, store->ReadEntry(name));
  std::shared_ptr<LoadedObject> obj;
  if (!file.empty()) {
    size_t object_size = 0;
    if (store->Verify(file, key, &object_size)) {
      auto loaded = LoadVerified(std::span<const uint8_t>(file.data(), object_size), path, key);
      if (loaded.ok()) obj = *loaded;
    }
    if (!obj) {
      fprintf(
          stderr,
          "arcella: aot cache: rejected %s (not authenticated by this cache's key); recompiling\n",
          path.c_str());
      store->Discard(name);
    }
  }
  if (cache_hit) *cache_hit = obj != nullptr;
  if (!obj) {
    ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> object, Build(input, cc, key, *store));
    std::vector<uint8_t> sealed = object;
    store->Seal(&sealed, key);
    ARCELLA_RETURN_IF_ERROR(store->Publish(name, sealed));
    ARCELLA_ASSIGN_OR_RETURN(obj, LoadVerified(object, path, key));
  }
  std::lock_guard<std::mutex> lock(g_mu);
  g_loaded[path] = obj;
  return obj;
}

}  // namespace arcella::engine::aot
