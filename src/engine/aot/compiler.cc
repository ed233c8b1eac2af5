#include "engine/aot/compiler.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/aot/codegen.h"
#include "engine/aot/elf_symbols.h"

extern "C" const char arcella_wasm_rt_h_text[];
extern "C" char** environ;

namespace arcella::engine::aot {
namespace {

constexpr char kFlags[] =
    "-O1 -fno-optimize-sibling-calls -fsignaling-nans -fPIC -shared -DNDEBUG -w";
constexpr char kMagic[16] = {'A', 'R', 'C', 'E', 'L', 'L', 'A', '-', 'A', 'O', 'T', '-', 'S', 'O', '1', '\n'};
constexpr size_t kFooter = 32 + sizeof kMagic;
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

Status MakeDirs(const std::string& path) {
  std::string cur;
  std::stringstream ss(path);
  std::string part;
  if (!path.empty() && path[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    if (mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::IoError("creating " + cur + ": " + strerror(errno));
  }
  return Status::Ok();
}

bool ReadWhole(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return !f.bad();
}

Status WriteWhole(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) return Status::IoError("writing " + path + ": " + strerror(errno));
  return Status::Ok();
}

// Checks the footer; returns false for a missing, truncated or damaged entry.
bool VerifyEntry(const std::vector<uint8_t>& file) {
  if (file.size() < kFooter + 64) return false;
  size_t body = file.size() - kFooter;
  if (std::memcmp(file.data() + body + 32, kMagic, sizeof kMagic) != 0) return false;
  uint8_t d[32];
  Sha256(file.data(), body, d);
  return std::memcmp(d, file.data() + body, 32) == 0;
}

template <typename F>
bool Sym(void* h, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(h, name));
  return *out != nullptr;
}

// Loads a verified entry; null if it is not a valid entry for `key`.
std::shared_ptr<LoadedObject> TryLoad(const std::string& path, const std::string& key) {
  std::vector<uint8_t> file;
  if (!ReadWhole(path, &file) || !VerifyEntry(file)) return nullptr;
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) return nullptr;
  auto obj = std::make_shared<LoadedObject>();
  obj->handle = h;
  obj->path = path;
  obj->key = key;
  const char* (*key_fn)() = nullptr;
  if (!Sym(h, "arcella_cache_key", &key_fn) || key != key_fn() ||
      !Sym(h, "arcella_instance_size", &obj->instance_size) ||
      !Sym(h, "arcella_init_module", &obj->init_module) ||
      !Sym(h, "arcella_instantiate", &obj->instantiate) ||
      !Sym(h, "arcella_free", &obj->free_instance) || !Sym(h, "arcella_memory0", &obj->memory0) ||
      !Sym(h, "arcella_export_ptr", &obj->export_ptr) ||
      !Sym(h, "arcella_export_fn", &obj->export_fn)) {
    return nullptr;  // destructor dlcloses
  }
  link_map* lm = nullptr;
  uintptr_t base = 0;
  if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm != nullptr) base = lm->l_addr;
  const uint32_t* export_func = nullptr;
  uint32_t (*export_count)() = nullptr;
  std::span<const uint32_t> exports;
  if (Sym(h, "arcella_export_func_index", &export_func) && Sym(h, "arcella_export_count", &export_count))
    exports = std::span<const uint32_t>(export_func, export_count() + 1);  // + start
  Sym(h, "arcella_release_images", &obj->release_images);
  obj->ranges = FunctionRanges(std::span<const uint8_t>(file.data(), file.size() - kFooter), base, exports);
  return obj;
}

// Runs the compiler; its output goes to `log`.
Status RunCompiler(const std::string& cc, const std::string& dir, std::string* log) {
  std::vector<std::string> args;
  std::istringstream ccs(cc);
  for (std::string w; ccs >> w;) args.push_back(w);
  std::istringstream fs(kFlags);
  for (std::string w; fs >> w;) args.push_back(w);
  for (const std::string& a : {std::string("-I"), dir, std::string("-o"), dir + "/m.so", dir + "/m.c",
                               std::string("-lm")})
    args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log_path = dir + "/cc.log";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Status::Unsupported("aot: cannot run C compiler '" + cc + "': " + strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::vector<uint8_t> out;
  ReadWhole(log_path, &out);
  log->assign(out.begin(), out.end());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (log->size() > 4000) log->resize(4000);
    return Status::Internal("aot: C compiler '" + cc + "' failed:\n" + *log);
  }
  return Status::Ok();
}

void RemoveTree(const std::string& dir) {
  for (const char* f : {"m.c", "m.h", "wasm-rt.h", "m.so", "cc.log"}) unlink((dir + "/" + f).c_str());
  rmdir(dir.c_str());
}

Status Build(const BackendInput& input, const std::string& cc, const std::string& key,
             const std::string& cache_dir, const std::string& final_path) {
  ARCELLA_ASSIGN_OR_RETURN(GeneratedC gen, GenerateC(input, key));
  std::string tmpl = cache_dir + "/.tmp-" + key.substr(0, 16) + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    return Status::IoError("aot: creating temp dir in " + cache_dir + ": " + strerror(errno));
  const std::string dir = tmpl;
  Status st = WriteWhole(dir + "/m.c", gen.c);
  if (st.ok()) st = WriteWhole(dir + "/m.h", gen.h);
  if (st.ok()) st = WriteWhole(dir + "/wasm-rt.h", arcella_wasm_rt_h_text);
  std::string log;
  if (st.ok()) st = RunCompiler(cc, dir, &log);
  std::vector<uint8_t> so;
  if (st.ok() && !ReadWhole(dir + "/m.so", &so)) st = Status::IoError("aot: compiler produced no object");
  if (st.ok()) {
    uint8_t d[32];
    Sha256(so.data(), so.size(), d);
    so.insert(so.end(), d, d + 32);
    so.insert(so.end(), kMagic, kMagic + sizeof kMagic);
    std::string tmp_so = dir + "/m.so";
    st = WriteWhole(tmp_so, std::string_view(reinterpret_cast<const char*>(so.data()), so.size()));
    if (st.ok() && rename(tmp_so.c_str(), final_path.c_str()) != 0)
      st = Status::IoError("aot: publishing " + final_path + ": " + strerror(errno));
  }
  RemoveTree(dir);
  return st;
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
}

std::string ResolveCacheDir(const CompileOptions& options) {
  if (!options.cache_dir.empty()) return options.cache_dir;
  if (const char* h = getenv("ARCELLA_HOME"); h != nullptr && *h) return std::string(h) + "/cache";
  const char* home = getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.arcella/cache";
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
  const std::string path = dir + "/" + key + ".so";
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
  ARCELLA_RETURN_IF_ERROR(MakeDirs(dir));
  std::shared_ptr<LoadedObject> obj = TryLoad(path, key);
  if (cache_hit) *cache_hit = obj != nullptr;
  if (!obj) {
    ARCELLA_RETURN_IF_ERROR(Build(input, cc, key, dir, path));
    obj = TryLoad(path, key);
    if (!obj) {
      const char* err = dlerror();
      return Status::Internal(std::string("aot: cannot load ") + path + ": " + (err ? err : "invalid entry"));
    }
  }
  std::lock_guard<std::mutex> lock(g_mu);
  g_loaded[path] = obj;
  return obj;
}

}  // namespace arcella::engine::aot
