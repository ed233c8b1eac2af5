// The Arcella execution engine: one API over two tiers.
//
//   auto mod = Module::Compile(bytes, {.metering = Metering::kFuel});
//   Linker linker;
//   linker.DefineFunc("env", "log", {{ValType::kI32}, {}}, my_log);
//   auto inst = Instance::Create(*mod, linker, {.limits = {.fuel = 1'000'000}});
//   auto out = (*inst)->Call("run", {Value::I32(7)});
//
// Tiers: AOT (wasm2c -> cc -> shared object, cached by content hash) and the
// wabt interpreter. Both see the same instrumented module, so fuel counts and
// limits agree exactly. The engine knows nothing of the platform above it.
//
// Threading: Module is immutable and shareable. Linker is a value. An
// Instance is used by one thread at a time, except Interrupt(), which any
// thread may call. Many instances may run on many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "engine/trap.h"
#include "engine/types.h"

namespace arcella::engine {

enum class Tier { kAuto, kAot, kInterp };
const char* TierName(Tier t);  // "auto", "aot", "interp"

// What the module is instrumented with before either tier sees it.
enum class Metering {
  kNone,       // uninstrumented: no fuel, no deadline, no Interrupt()
  kInterrupt,  // interrupt-flag check at function entries and loop headers
  kFuel,       // kInterrupt + fuel: 1 unit per instruction (0 for nop/block/loop/end)
};

// Compile progress, reported while the AOT tier builds a module.
struct CompileProgress {
  uint32_t units_done = 0;   // C translation units compiled (or found cached)
  uint32_t units_total = 0;  // 0 while not known yet (C generation)
  std::chrono::milliseconds elapsed{0};
  std::chrono::milliseconds estimate{0};  // remaining; 0 if unknown
};

struct CompileOptions {
  Tier tier = Tier::kAuto;  // kAuto: AOT unless SIMD or no C compiler
  Metering metering = Metering::kNone;
  // AOT cache directory; must be private (owned by the effective uid, not
  // group/other-writable; created 0700 if missing) or AOT compiles fail.
  // Empty: DefaultAotCacheDir().
  std::string cache_dir;
  // C compiler for the AOT tier. Empty: $CC, else "cc".
  std::string cc;
  // Compiler processes run at once; 0: one per core.
  unsigned jobs = 0;
  // Memory all compiler processes together may use; 0: half the physical RAM.
  uint64_t compile_memory_bytes = 0;
  // Set (from any thread) to stop the compile: every compiler process is
  // killed, temporary files removed, and Compile returns kCancelled.
  const std::atomic<bool>* cancel = nullptr;
  // Called on the compiling thread as units finish (AOT only). Must not throw.
  std::function<void(const CompileProgress&)> on_progress;
};

class ModuleBackend;    // engine-internal
class InstanceBackend;  // engine-internal

// A validated, compiled module. Immutable; share it freely.
class Module {
 public:
  // Decodes, validates, instruments and compiles `wasm`. Errors name the
  // problem and byte offset. Never aborts on bad input.
  static Result<std::shared_ptr<const Module>> Compile(std::span<const uint8_t> wasm,
                                                       const CompileOptions& options);

  Tier tier() const { return tier_; }  // kAot or kInterp, never kAuto
  Metering metering() const { return metering_; }
  const std::string& hash() const { return hash_; }  // sha256 hex of the input bytes
  // User-visible imports and exports (instrumentation internals hidden).
  const std::vector<ImportDesc>& imports() const { return imports_; }
  const std::vector<ExportDesc>& exports() const { return exports_; }
  const ExportDesc* FindExport(std::string_view name) const;
  // Name of defined-or-imported function `index` (name section, export, or "func[N]").
  std::string FunctionName(uint32_t index) const;

  // Engine-internal: the instrumented module's full import/export lists, in
  // the order the backend uses (user-visible lists above are a filtered view).
  struct Layout {
    std::vector<ImportDesc> imports;
    std::vector<ExportDesc> exports;
    uint32_t func_shift = 0;  // functions the instrumentation prepended
  };
  Module(Tier tier, Metering metering, std::string hash, std::vector<ImportDesc> imports,
         std::vector<ExportDesc> exports, std::vector<std::string> func_names, Layout layout,
         std::shared_ptr<ModuleBackend> backend);
  const std::shared_ptr<ModuleBackend>& backend() const { return backend_; }
  const Layout& layout() const { return layout_; }
  // Index of `name` in layout().exports, or -1. O(1).
  int64_t InternalExportIndex(std::string_view name) const;

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using NameIndex = std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>>;
  Tier tier_;
  Metering metering_;
  std::string hash_;
  std::vector<ImportDesc> imports_;
  std::vector<ExportDesc> exports_;
  std::vector<std::string> func_names_;
  Layout layout_;
  std::shared_ptr<ModuleBackend> backend_;
  NameIndex export_index_;    // name -> index in exports_
  NameIndex internal_index_;  // name -> index in layout_.exports
};

class Instance;

// What a host function sees of its caller.
class Caller {
 public:
  virtual ~Caller() = default;
  // The caller's memory 0 (data, byte size); empty if it has none. Valid
  // until the guest runs again (memory.grow may move nothing, but resizes).
  virtual std::span<uint8_t> memory() = 0;
  virtual Instance& instance() = 0;
  void* user_data();
};

// A host function. Write results[i] (types preset). Return nullopt on
// success or a Trap (e.g. TrapKind::kExit for proc_exit, kHostError).
// Runs on the calling guest's thread; must not throw.
using HostFunc = std::function<std::optional<Trap>(Caller& caller, std::span<const Value> args,
                                                   std::span<Value> results)>;

// Resolves imports by (module, name).
class Linker {
 public:
  void DefineFunc(std::string module, std::string name, FuncType type, HostFunc fn);
  // Every export of `instance` becomes importable as (module, export name).
  // The instance must be of the same tier as the importer.
  void DefineInstance(std::string module, std::shared_ptr<Instance> instance);

  struct HostEntry {
    std::string module, name;
    FuncType type;
    HostFunc fn;
  };
  struct InstanceEntry {
    std::string module;
    std::shared_ptr<Instance> instance;
  };
  const std::vector<HostEntry>& funcs() const { return funcs_; }
  const std::vector<InstanceEntry>& instances() const { return instances_; }

 private:
  std::vector<HostEntry> funcs_;
  std::vector<InstanceEntry> instances_;
};

// Per-instance limits. Identical semantics on both tiers.
struct InstanceLimits {
  // Fuel given at creation (needs Metering::kFuel). nullopt: unlimited.
  std::optional<uint64_t> fuel;
  // Cap for each linear memory; memory.grow past it returns -1. 0 = 4 GiB.
  uint64_t max_memory_bytes = 0;
  // Cap for each table's element count; table.grow past it returns -1.
  uint32_t max_table_elements = 10'000'000;
  // Maximum nested wasm call depth.
  uint32_t max_stack_depth = 10'000;
  // Wall-clock deadline per Call(); zero = none. Needs Metering >= kInterrupt.
  std::chrono::nanoseconds deadline{0};
};

struct InstanceOptions {
  InstanceLimits limits;
  void* user_data = nullptr;  // returned by Caller::user_data()
  // Called when fuel runs out: return more fuel to continue (time slicing),
  // or 0 to trap with kOutOfFuel. Unset: trap.
  std::function<uint64_t(Instance&)> on_out_of_fuel;
  // Called on the creating thread once the instance exists, before its start
  // function runs: keep it (shared_from_this) to Interrupt() a start function
  // that runs long, before Create returns.
  std::function<void(Instance&)> on_attach;
};

struct CallOutcome {
  std::vector<Value> results;  // empty if trapped
  std::optional<Trap> trap;
  bool ok() const { return !trap.has_value(); }
};

// A function export resolved once by Instance::GetFunc, for repeated calls
// through Instance::Invoke without a name lookup or allocation. A plain
// value; valid while the instance that made it lives, usable only with it.
class FuncHandle {
 public:
  FuncHandle() = default;
  bool valid() const { return type_ != nullptr; }
  const FuncType& type() const { return *type_; }  // only if valid()

 private:
  friend class Instance;
  const Instance* owner_ = nullptr;
  const FuncType* type_ = nullptr;
  uint32_t export_index_ = 0;  // in module().layout().exports
};

class Instance : public std::enable_shared_from_this<Instance> {
 public:
  // Links imports through `linker`, instantiates (data/elem segments, start
  // function). Unresolved or mistyped imports are listed in the error. A trap
  // in the start function is returned as an error naming the trap.
  static Result<std::shared_ptr<Instance>> Create(std::shared_ptr<const Module> module,
                                                  const Linker& linker,
                                                  const InstanceOptions& options);
  ~Instance();

  // Calls export `name`. Wrong name or argument types -> error Status.
  // A trap -> outcome.trap. The instance stays usable after a trap.
  Result<CallOutcome> Call(std::string_view name, std::span<const Value> args);

  // Fast path. GetFunc resolves function export `name` once (NotFound /
  // InvalidArgument like Call). Invoke then calls it with no lookup and no
  // allocation: `args` must match type().params and `results` must have
  // type().results.size() elements (written on success, types set); a
  // mismatch, or a FuncHandle of another instance, returns a kHostError trap
  // before any guest code runs. Deadlines, fuel and Interrupt() apply as in
  // Call. Same thread rules as Call.
  Result<FuncHandle> GetFunc(std::string_view name) const;
  std::optional<Trap> Invoke(const FuncHandle& func, std::span<const Value> args,
                             std::span<Value> results);

  Result<Value> GetGlobal(std::string_view export_name) const;
  Status SetGlobal(std::string_view export_name, const Value& v);
  // Memory 0 (or nullopt span if none).
  std::span<uint8_t> memory();
  // Exported memory by name.
  Result<std::span<uint8_t>> ExportedMemory(std::string_view name);

  // Fuel remaining (0 if unlimited/unmetered) and setting it.
  uint64_t fuel() const;
  Status SetFuel(uint64_t fuel);
  // Fuel consumed since creation (includes refills), if metered.
  uint64_t fuel_consumed() const;

  // Makes the running (or next) call trap with kInterrupted at the next
  // function entry or loop header. Thread-safe. Needs Metering >= kInterrupt.
  void Interrupt();
  // True while an Interrupt() or an expired deadline waits to stop the
  // current call. Host functions that block (sleep, poll) poll this.
  bool InterruptPending() const;

  const Module& module() const { return *module_; }
  const std::shared_ptr<const Module>& module_ptr() const { return module_; }
  void* user_data() const { return options_.user_data; }
  const InstanceOptions& options() const { return options_; }

  // Engine-internal.
  InstanceBackend* backend() const { return backend_.get(); }
  // Called by a tier once its instance can take SetInterruptFlag/GetGlobal/
  // SetGlobal, before any guest code (the start function) runs.
  void AttachBackend(InstanceBackend* backend);
  Instance(std::shared_ptr<const Module> module, InstanceOptions options);
  struct MeterState;  // engine-internal metering state

 private:
  friend class MeteringAccess;
  std::shared_ptr<const Module> module_;
  InstanceOptions options_;
  std::unique_ptr<InstanceBackend> backend_;
  std::unique_ptr<MeterState> meter_;
};

// True if a usable C compiler for the AOT tier was found.
bool AotAvailable(const CompileOptions& options = {});

// This user's private AOT cache: $ARCELLA_HOME/cache, else
// $XDG_CACHE_HOME/arcella, else $HOME/.cache/arcella (the password database's
// home if HOME is unset); "" if there is none. Never a shared path like /tmp.
std::string DefaultAotCacheDir();

// Checks (creating it 0700) the AOT cache of `options`, creates its secret
// key if missing, and removes compile folders left by dead processes. The
// daemon calls it at start; compiles do the same checks on their own.
Status PrepareAotCache(const CompileOptions& options);

}  // namespace arcella::engine
