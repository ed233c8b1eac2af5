// The Arcella execution engine: one API over two tiers.
//
//   auto engine = Engine::Create({.cache_dir = "/home/me/.cache/arcella"});
//   auto mod = (*engine)->Compile(bytes);
//   Linker linker;
//   linker.DefineFunc("env", "log", {{ValType::kI32}, {}}, my_log);
//   auto inst = Instance::Create(*mod, linker, {.limits = {.fuel = 1'000'000}});
//   auto out = (*inst)->Call("run", {Value::I32(7)});
//
// Tiers: AOT (wasm2c -> cc -> shared object, cached by content hash) and the
// wabt interpreter. Both see the same instrumented module, so fuel counts and
// limits agree exactly. The engine knows nothing of the platform above it.
//
// Threading: Engine and Module are shareable and thread-safe. Linker is a
// value. An Instance is used by one thread at a time, except Interrupt(),
// which any thread may call. Many instances may run on many threads at once.
//
// The engine library reads no environment variable: the caller (the daemon,
// `arcella run`) puts the compiler, the cache folder and the rest into an
// EngineConfig.
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

struct arcella_mem_budget;  // the runtime's budget record (engine/rt/arcella_rt.h)

namespace arcella::engine {

enum class Tier { kAuto, kAot, kInterp };
const char* TierName(Tier t);  // "auto", "aot", "interp"

// What an Engine instruments every module with before either tier sees it
// (EngineConfig::metering). One compiled module serves every instance: with
// kFuel, fuel is switched on per instance (InstanceLimits::fuel) and an
// instance without a fuel limit runs on fuel that never runs out.
enum class Metering {
  kNone,       // uninstrumented: no fuel, no deadline, no Interrupt() (benchmarks)
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

// Per-call options of Engine::Compile, which reads only `tier`,
// `cached_only`, `cancel` and `on_progress`; the other fields are filled in
// from the EngineConfig (they are how the engine hands its settings to the
// AOT tier) and must be left unset by callers.
struct CompileOptions {
  Tier tier = Tier::kAuto;  // kAuto: the Engine's default tier
  // Ask the AOT cache, never compile. A compile that may use the AOT tier
  // (kAot, or kAuto resolving to it) returns the Module if this Engine's
  // registry or its cache folder has the module's compiled code (no decode);
  // otherwise, without decoding, generating C or starting a compiler, and
  // writing nothing to the cache folder: AlreadyExists if another process
  // or thread is compiling this module into the cache right now (it holds
  // the module's compile lock), else NotFound (also when the Engine has no
  // AOT tier). Interpreter compiles (kInterp) ignore it: they compile.
  bool cached_only = false;
  Metering metering = Metering::kNone;  // from EngineConfig::metering
  // AOT cache directory (EngineConfig::cache_dir).
  std::string cache_dir = {};
  // C compiler for the AOT tier (EngineConfig::cc).
  std::string cc = {};
  // Compiler processes run at once; 0: one per core.
  unsigned jobs = 0;
  // Memory all compiler processes together may use; 0: half the physical RAM.
  uint64_t compile_memory_bytes = 0;
  // Set (from any thread) to stop the compile: every compiler process is
  // killed, temporary files removed, and Compile returns kCancelled.
  const std::atomic<bool>* cancel = nullptr;
  // Called on the compiling thread as units finish (AOT only). Must not throw.
  std::function<void(const CompileProgress&)> on_progress = {};
};

class ModuleBackend;     // engine-internal
class InstanceBackend;   // engine-internal
class DeadlineWatchdog;  // engine-internal (deadline.h)
class Module;

// What an Engine is made of. Checked by Engine::Create.
struct EngineConfig {
  // The AOT tier's cache folder: absolute, private to this user (owned by the
  // effective uid, not group/other-writable; created 0700 if missing), holding
  // the cache's secret key. Empty: no AOT tier (kAuto compiles use the
  // interpreter; an explicit kAot compile fails). Never a shared folder.
  std::string cache_dir = {};
  // The C compiler command of the AOT tier (a name looked up in $PATH by the
  // compile, or a path). The engine never reads $CC: callers pass it here.
  std::string cc = "cc";
  // Tier of compiles that ask for Tier::kAuto. kAuto: AOT unless the module
  // uses SIMD or no C compiler / cache folder is available.
  Tier default_tier = Tier::kAuto;
  // Instrumentation of every module of this Engine. kFuel (default): fuel and
  // interrupts, fuel switched on per instance. kInterrupt: deadlines and
  // Interrupt() but no fuel limits. kNone: no limits at all (benchmarks).
  Metering metering = Metering::kFuel;
  // Compiler processes run at once; 0: one per core.
  unsigned jobs = 0;
  // Memory all compiler processes together may use; 0: half the physical RAM.
  uint64_t compile_memory_bytes = 0;
};

// The one object that owns configuration, the AOT compile cache, the code
// registry and the deadline watchdog (like wasmtime's Engine).
//
// Ownership: made by Create as a shared_ptr. Every Module it compiles holds
// its Engine (and every Instance its Module), so the Engine lives until the
// last of them is gone; dropping the caller's reference early is fine.
//
// Registry: Compile of the same bytes at the same tier returns the same
// shared Module while any holder keeps it alive; concurrent compiles of the
// same bytes wait for one. Modules are shared within one Engine only: two
// Engines (e.g. with different cache folders) never share code objects'
// Module values, and each fills only its own cache folder.
//
// Threads: every method is thread-safe. The watchdog thread starts at the
// first deadline and is joined when the Engine is destroyed.
//
// Errors: Create returns InvalidArgument / FailedPrecondition naming the
// setting and the problem; Compile errors name the problem and byte offset
// (and never abort on bad input); a cancelled compile returns kCancelled.
class Engine : public std::enable_shared_from_this<Engine> {
 public:
  static Result<std::shared_ptr<Engine>> Create(EngineConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const EngineConfig& config() const { return config_; }

  // Decodes, validates, instruments (EngineConfig::metering) and compiles
  // `wasm`, or returns the registry's Module for the same bytes and tier.
  // With options.cached_only, only looks the module up (see CompileOptions).
  // Reads only options.tier, options.cached_only, options.cancel and
  // options.on_progress; setting
  // cache_dir, cc, jobs or compile_memory_bytes there is an InvalidArgument
  // (they belong to EngineConfig). A waiter whose own compile was not
  // cancelled compiles again if the compile it waited for was cancelled.
  Result<std::shared_ptr<const Module>> Compile(std::span<const uint8_t> wasm,
                                                const CompileOptions& options = {});

  // True if this Engine can compile on the AOT tier (a cache folder and the
  // C compiler are there).
  bool AotAvailable() const;

  // Modules alive in the registry (tests, diagnostics).
  size_t registry_size() const;

  // Engine-internal: the watchdog that fires per-call deadlines.
  DeadlineWatchdog& watchdog() const;

  // Linear-memory budget, shared by every instance of this Engine's modules
  // on both tiers (e.g. a worker's share of the host's memory). It counts
  // the current size (pages * 64 KiB) of every linear memory such an
  // instance defines (an imported memory counts once, for its owner):
  // instantiation fails with FailedPrecondition if a memory's initial size
  // does not fit what is left ("memory 0 needs 1048576 bytes initially; the
  // engine's memory budget of 4194304 bytes has 65536 left"), memory.grow
  // past it returns -1 to the guest (as past InstanceLimits::
  // max_memory_bytes), and freeing an instance gives its bytes back.
  // Concurrent growth never takes the use past the budget. A grow costs one
  // atomic operation more; loads and stores cost nothing.
  //
  // SetMemoryBudget: 0 = unlimited (the default). Any thread, any time;
  // setting it below memory_in_use() shrinks nothing, it only makes later
  // growth fail until enough is freed.
  void SetMemoryBudget(uint64_t bytes);
  uint64_t memory_budget() const;
  // Bytes of linear memory live instances of this Engine's modules hold now.
  uint64_t memory_in_use() const;
  // Engine-internal: the record the tiers charge memories to.
  arcella_mem_budget* memory_budget_state() const { return memory_budget_.get(); }

  // Engine-internal (portable_code.cc): the registry's Module for `hash` at
  // `tier` (kAot or kInterp) if one is alive, else the Module `make` returns,
  // registered under that hash and tier with its engine set to this one. `make`
  // runs without the registry's lock; if another thread registered the same
  // hash and tier meanwhile, that Module wins and `make`'s is dropped.
  Result<std::shared_ptr<const Module>> FindOrRegister(
      const std::string& hash, Tier tier,
      const std::function<Result<std::shared_ptr<Module>>()>& make);

  struct Registry;  // engine-internal

 private:
  explicit Engine(EngineConfig config);
  EngineConfig config_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<DeadlineWatchdog> watchdog_;
  std::shared_ptr<arcella_mem_budget> memory_budget_ = NewMemoryBudget();
  static std::shared_ptr<arcella_mem_budget> NewMemoryBudget();
};

// A validated, compiled module. Immutable; share it freely.
class Module {
 public:
  // Same as engine->Compile(wasm, options).
  static Result<std::shared_ptr<const Module>> Compile(const std::shared_ptr<Engine>& engine,
                                                       std::span<const uint8_t> wasm,
                                                       const CompileOptions& options = {});

  Tier tier() const { return tier_; }  // kAot or kInterp, never kAuto
  Metering metering() const { return metering_; }
  const std::string& hash() const { return hash_; }  // sha256 hex of the input bytes
  // The Engine that compiled this module (never null for compiled modules).
  const std::shared_ptr<Engine>& engine() const { return engine_; }
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
  // Engine-internal: the name-section/export names FunctionName reads.
  const std::vector<std::string>& function_names() const { return func_names_; }
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
  friend class Engine;
  std::shared_ptr<Engine> engine_;  // set by Engine::Compile
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
  // Export `export_name` of `instance` (a function, memory, table or global)
  // becomes importable as (module, name). Takes precedence over
  // DefineInstance of the same module; a later definition of the same
  // (module, name) replaces an earlier one. Memories, tables and globals need
  // the importer's tier; functions are called through the instance's own
  // metering (fuel, interrupts) like Instance::Invoke.
  void DefineExport(std::string module, std::string name, std::shared_ptr<Instance> instance,
                    std::string export_name);

  struct HostEntry {
    std::string module, name;
    FuncType type;
    HostFunc fn;
  };
  struct InstanceEntry {
    std::string module;
    std::shared_ptr<Instance> instance;
  };
  struct ExportEntry {
    std::string module, name;
    std::shared_ptr<Instance> instance;
    std::string export_name;
  };
  const std::vector<HostEntry>& funcs() const { return funcs_; }
  const std::vector<InstanceEntry>& instances() const { return instances_; }
  const std::vector<ExportEntry>& exports() const { return exports_; }

 private:
  std::vector<HostEntry> funcs_;
  std::vector<InstanceEntry> instances_;
  std::vector<ExportEntry> exports_;
};

// Per-instance limits. Identical semantics on both tiers.
struct InstanceLimits {
  // Fuel given at creation (needs an Engine with Metering::kFuel). nullopt:
  // fuel never runs out (no on_out_of_fuel calls; fuel() reports 0).
  std::optional<uint64_t> fuel;
  // Cap for each linear memory; memory.grow past it returns -1. 0 = 4 GiB.
  uint64_t max_memory_bytes = 0;
  // Cap for each table's element count; table.grow past it returns -1.
  uint32_t max_table_elements = 10'000'000;
  // Maximum nested wasm call depth.
  uint32_t max_stack_depth = 10'000;
  // Wall-clock deadline per Call(); zero = none. Needs Metering >= kInterrupt
  // (the Engine default).
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
  // Interpreter tier: an instance that imports no memory, table or global
  // from another instance is created in the store of `store_with` (an
  // interpreter instance), not in a store of its own, so that a later
  // instance can import memories, tables or globals from both (it can import
  // them only from instances of one store). Instances of one store take
  // turns under one lock. Read only by Instance::Create; ignored on the AOT
  // tier (no stores) and if `store_with` is not an interpreter instance.
  const Instance* store_with = nullptr;
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
  // Forgets a pending Interrupt() or expired deadline that no call has
  // consumed yet (e.g. this instance did not run when an embedder that
  // interrupts several instances interrupted them). Thread-safe.
  void ClearInterrupt();
  // Makes the running (or next) call trap with kDeadline, as if its own
  // deadline had expired: for an embedder that keeps one deadline over
  // calls into several instances. Thread-safe.
  void ExpireDeadline();

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

// True if the C compiler command `cc` ("cc" if empty) is found in $PATH
// (or is an executable path).
bool AotAvailable(const std::string& cc = "cc");

}  // namespace arcella::engine
