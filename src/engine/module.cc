// CompileModule: decode -> validate -> instrument -> pick a tier -> compile
// (Engine::Compile adds the registry); Module accessors; Linker.
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "common/sha256.h"
#include "engine/aot/aot_backend.h"
#include "engine/aot/cache_gc.h"
#include "engine/aot/cc_process.h"
#include "engine/aot/compiler.h"
#include "engine/backend.h"
#include "engine/engine.h"
#include "engine/instrument.h"
#include "engine/interp/catch_locals.h"
#include "engine/loader.h"
#include "engine/module_meta.h"

#include <wabt/ir.h>

namespace arcella::engine {

// Up to this many exports, name lookups scan instead of hashing.
constexpr size_t kScanExports = 8;

Module::Module(Tier tier, Metering metering, std::string hash, std::vector<ImportDesc> imports,
               std::vector<ExportDesc> exports, std::vector<std::string> func_names, Layout layout,
               std::shared_ptr<ModuleBackend> backend)
    : tier_(tier),
      metering_(metering),
      hash_(std::move(hash)),
      imports_(std::move(imports)),
      exports_(std::move(exports)),
      func_names_(std::move(func_names)),
      layout_(std::move(layout)),
      backend_(std::move(backend)) {
  // Hash indexes only pay off past a few exports; below that a scan is faster.
  // Export names are unique (validated), so the first index wins anyway.
  if (exports_.size() > kScanExports)
    for (size_t i = 0; i < exports_.size(); ++i)
      export_index_.emplace(exports_[i].name, static_cast<uint32_t>(i));
  if (layout_.exports.size() > kScanExports)
    for (size_t i = 0; i < layout_.exports.size(); ++i)
      internal_index_.emplace(layout_.exports[i].name, static_cast<uint32_t>(i));
}

const ExportDesc* Module::FindExport(std::string_view name) const {
  if (exports_.size() <= kScanExports) {
    for (const auto& e : exports_)
      if (e.name == name) return &e;
    return nullptr;
  }
  auto it = export_index_.find(name);
  return it == export_index_.end() ? nullptr : &exports_[it->second];
}

int64_t Module::InternalExportIndex(std::string_view name) const {
  if (layout_.exports.size() <= kScanExports) {
    for (size_t i = 0; i < layout_.exports.size(); ++i)
      if (layout_.exports[i].name == name) return static_cast<int64_t>(i);
    return -1;
  }
  auto it = internal_index_.find(name);
  return it == internal_index_.end() ? -1 : static_cast<int64_t>(it->second);
}

std::string Module::FunctionName(uint32_t index) const {
  if (index < func_names_.size()) return func_names_[index];
  return "func[" + std::to_string(index) + "]";
}

bool AotAvailable(const std::string& cc) {
  return !aot::FindExecutable(cc.empty() ? std::string("cc") : cc).empty();
}

Result<std::shared_ptr<const Module>> Module::Compile(const std::shared_ptr<Engine>& engine,
                                                      std::span<const uint8_t> wasm,
                                                      const CompileOptions& options) {
  if (!engine) return Status::InvalidArgument("Module::Compile: no engine");
  return engine->Compile(wasm, options);
}

static bool IsMeterExport(const ExportDesc& e) {
  return e.name == kFuelExport || e.name == kInterruptExport;
}

// Warm start: the Module from its metadata record and cached code, without
// decoding `wasm`; null if the cache has no usable record (a record that does
// not parse is discarded) or the code entry it names is gone.
static std::shared_ptr<Module> WarmModule(const CompileOptions& options, const std::string& hash,
                                          const std::string& meta_key) {
  std::optional<std::vector<uint8_t>> record = aot::ReadMetaRecord(options, meta_key);
  if (!record) return nullptr;
  ModuleMeta meta;
  if (!DecodeModuleMeta(*record, &meta) || meta.metering != options.metering) {
    fprintf(stderr,
            "arcella: aot cache: rejected %s/%s.meta (not a valid metadata record); "
            "recompiling\n",
            options.cache_dir.c_str(), meta_key.c_str());
    aot::DiscardMetaRecord(options, meta_key);
    return nullptr;
  }
  record.reset();
  auto backend = aot::LoadAot(meta.aot_key, meta.layout.imports, meta.layout.exports, options);
  if (!backend.ok() || *backend == nullptr) return nullptr;
  return std::make_shared<Module>(Tier::kAot, meta.metering, hash, std::move(meta.imports),
                                  std::move(meta.exports), std::move(meta.func_names),
                                  std::move(meta.layout), std::move(backend).value());
}

// `<meta key>.lock` in the cache folder, flock'ed for the whole AOT compile
// of one module (decode to metadata record), so that two processes compiling
// it wait for one compile before decoding anything, and so that a
// CompileOptions::cached_only lookup can tell "being compiled" from "absent".
// The holder unlinks the file before releasing it (the folder keeps no lock
// per module); a waiter that then gets the lock of an unlinked file opens
// the new one and locks again, as compiler.cc's key lock and the cache GC do.
class ModuleCompileLock {
 public:
  ModuleCompileLock(const std::string& dir, const std::string& meta_key)
      : dir_fd_(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)), name_(meta_key + ".lock") {}
  ~ModuleCompileLock() {
    if (fd_ >= 0) {
      if (aot::LockStillLinked(dir_fd_, name_, fd_)) unlinkat(dir_fd_, name_.c_str(), 0);
      close(fd_);  // releases the lock, after the unlink
    }
    if (dir_fd_ >= 0) close(dir_fd_);
  }
  ModuleCompileLock(const ModuleCompileLock&) = delete;
  ModuleCompileLock& operator=(const ModuleCompileLock&) = delete;

  // Waits for the lock (polling `cancel`: kCancelled).
  Status Acquire(const std::atomic<bool>* cancel) {
    if (dir_fd_ < 0) return Status::IoError("aot cache: cannot open the cache folder: " + Errno());
    for (;;) {
      if (fd_ < 0)
        fd_ = openat(dir_fd_, name_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd_ < 0) return Status::IoError("aot cache: cannot open lock " + name_ + ": " + Errno());
      if (flock(fd_, LOCK_EX | LOCK_NB) == 0) {
        if (aot::LockStillLinked(dir_fd_, name_, fd_)) return Status::Ok();
        close(fd_);  // unlinked by its last holder (or the GC): lock the new file
        fd_ = -1;
        continue;
      }
      if (errno != EWOULDBLOCK && errno != EINTR)
        return Status::IoError("aot cache: cannot lock " + name_ + ": " + Errno());
      if (cancel != nullptr && cancel->load(std::memory_order_relaxed))
        return Status::Cancelled("compile cancelled (while waiting for another compile)");
      struct timespec ts = {0, 20 * 1000 * 1000};  // the other compile takes seconds
      nanosleep(&ts, nullptr);
    }
  }

  // True if someone holds the lock now. Creates nothing.
  bool HeldByOther() const {
    if (dir_fd_ < 0) return false;
    int fd = openat(dir_fd_, name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;  // no compile has it
    const bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);  // releases it if we got it
    return held;
  }

 private:
  static std::string Errno() { return strerror(errno); }
  int dir_fd_;
  std::string name_;
  int fd_ = -1;
};

Result<std::shared_ptr<Module>> CompileModule(std::span<const uint8_t> wasm,
                                              const CompileOptions& options, bool aot_available,
                                              std::string hash) {
  if (IsComponentBinary(wasm))
    return Status::Unsupported(
        "this is a WebAssembly component, not a core module (components are not runnable by "
        "the core engine)");
  // A module that may run on the AOT tier is looked up by its original bytes
  // first: a hit needs no decode, validation or instrumentation.
  std::string meta_key;
  std::optional<ModuleCompileLock> compile_lock;
  const bool may_aot = options.tier != Tier::kInterp && aot_available && !options.cache_dir.empty();
  if (options.cached_only && options.tier != Tier::kInterp) {
    if (!may_aot) return Status::NotFound("not in the AOT cache (this engine has no AOT tier)");
    meta_key = aot::MetaKey(hash, options.metering, options);
    if (meta_key.empty())
      return Status::NotFound("not in the AOT cache (this engine build has no build id)");
    if (auto warm = WarmModule(options, hash, meta_key)) return warm;
    if (ModuleCompileLock(options.cache_dir, meta_key).HeldByOther())
      return Status::AlreadyExists("not in the AOT cache yet: being compiled by another process");
    // A compile may have published the record and released its lock since.
    if (auto warm = WarmModule(options, hash, meta_key)) return warm;
    return Status::NotFound("not in the AOT cache");
  }
  if (may_aot) {
    meta_key = aot::MetaKey(hash, options.metering, options);
    if (!meta_key.empty()) {
      if (auto warm = WarmModule(options, hash, meta_key)) return warm;
      // One compile of the module at a time; then it may be there.
      compile_lock.emplace(options.cache_dir, meta_key);
      ARCELLA_RETURN_IF_ERROR(compile_lock->Acquire(options.cancel));
      if (auto warm = WarmModule(options, hash, meta_key)) return warm;
    }
  }
  CountModuleDecode();
  ARCELLA_ASSIGN_OR_RETURN(DecodedModule decoded, Decode(wasm));
  for (const auto& imp : decoded.imports)
    if (imp.module == kMeterModule)
      return Status::InvalidArgument("import module name \"" + std::string(kMeterModule) +
                                     "\" is reserved for the engine");
  for (const auto& exp : decoded.exports)
    if (IsMeterExport(exp))
      return Status::InvalidArgument("export name \"" + exp.name + "\" is reserved for the engine");

  Tier tier = options.tier;
  const std::string aot_blocker = AotBlocker(decoded);  // SIMD, exceptions, tail calls
  if (tier == Tier::kAuto) {
    tier = (!aot_blocker.empty() || !aot_available) ? Tier::kInterp : Tier::kAot;
  } else if (tier == Tier::kAot && !aot_blocker.empty()) {
    return Status::Unsupported("the AOT tier cannot run " + aot_blocker +
                               " code; use --tier interp or --tier auto");
  } else if (tier == Tier::kAot && options.cache_dir.empty()) {
    return Status::Unsupported(
        "the AOT tier needs a cache folder (the engine has none); use --tier interp or --tier "
        "auto");
  } else if (tier == Tier::kAot && !aot_available) {
    return Status::Unsupported("the AOT tier needs a C compiler (\"" + options.cc +
                               "\" not found); use --tier interp or --tier auto");
  }

  // User-visible view, taken before instrumentation.
  std::vector<ImportDesc> user_imports = decoded.imports;
  std::vector<ExportDesc> user_exports = decoded.exports;
  std::vector<std::string> func_names = decoded.func_names;

  BackendInput input;
  input.uses_simd = decoded.uses_simd;
  Module::Layout layout;
  // Exceptions run on the interpreter, whose catch needs a rewrite (catch_locals.h).
  // (Several memories, which both tiers run, need none.)
  const bool lift = tier == Tier::kInterp &&
                    std::any_of(decoded.extensions.begin(), decoded.extensions.end(),
                                [](const FeatureUse& u) { return !AotSupports(u.feature); });
  if (options.metering != Metering::kNone || lift) {
    ARCELLA_RETURN_IF_ERROR(Instrument(decoded.ir.get(), options.metering));
    if (lift) interp::LiftCatchLocals(decoded.ir.get());
    ARCELLA_ASSIGN_OR_RETURN(input.wasm, Encode(*decoded.ir));
    Describe(*decoded.ir, &decoded);
    layout.func_shift = options.metering != Metering::kNone ? 1 : 0;
  } else {
    input.wasm.assign(wasm.begin(), wasm.end());
  }
  layout.imports = decoded.imports;
  layout.exports = decoded.exports;
  input.imports = layout.imports;
  input.exports = layout.exports;
  input.hash = Sha256Hex(std::span<const uint8_t>(input.wasm));
  // The AOT tier generates C from this IR rather than decoding it again.
  if (tier == Tier::kAot) input.ir = std::move(decoded.ir);

  Result<std::shared_ptr<ModuleBackend>> backend = tier == Tier::kAot ? CompileAot(input, options)
                                                                      : CompileInterp(input);
  if (!backend.ok()) return backend.status();
  if (tier == Tier::kAot && !meta_key.empty()) {
    // Best effort: without the record the next compile decodes again.
    ModuleMeta meta;
    meta.metering = options.metering;
    meta.imports = user_imports;
    meta.exports = user_exports;
    meta.func_names = func_names;
    meta.layout = layout;
    if (const std::string* key = aot::AotKeyOf(**backend)) meta.aot_key = *key;
    Status st = aot::WriteMetaRecord(options, meta_key, EncodeModuleMeta(meta));
    if (!st.ok())
      fprintf(stderr, "arcella: aot cache: cannot store the metadata record: %s\n",
              st.message().c_str());
  }
  return std::make_shared<Module>(tier, options.metering, std::move(hash), std::move(user_imports),
                                  std::move(user_exports), std::move(func_names), std::move(layout),
                                  std::move(backend).value());
}

void Linker::DefineFunc(std::string module, std::string name, FuncType type, HostFunc fn) {
  // A later definition of the same name replaces the earlier one.
  for (auto& f : funcs_) {
    if (f.module == module && f.name == name) {
      f.type = std::move(type);
      f.fn = std::move(fn);
      return;
    }
  }
  funcs_.push_back({std::move(module), std::move(name), std::move(type), std::move(fn)});
}

void Linker::DefineInstance(std::string module, std::shared_ptr<Instance> instance) {
  for (auto& i : instances_) {
    if (i.module == module) {
      i.instance = std::move(instance);
      return;
    }
  }
  instances_.push_back({std::move(module), std::move(instance)});
}

void Linker::DefineExport(std::string module, std::string name, std::shared_ptr<Instance> instance,
                          std::string export_name) {
  for (auto& e : exports_) {
    if (e.module == module && e.name == name) {
      e.instance = std::move(instance);
      e.export_name = std::move(export_name);
      return;
    }
  }
  exports_.push_back(
      {std::move(module), std::move(name), std::move(instance), std::move(export_name)});
}

}  // namespace arcella::engine
