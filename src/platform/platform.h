// Platform: the daemon's core. Owns the desired state (StateStore, module
// blobs), compiles modules, turns deployments into DeploymentPlans and
// applies them to a ReplicaHost, and reconciles after a restart.
//
// Every operation persists the desired state first (one transaction), then
// applies it; after a crash, Reconcile() makes reality match again.
//
// Targets (start/stop/scale/undeploy/status/call): a deployment id
// "<module id>/<group>", or a module id meaning all its deployments,
// optionally narrowed by a group.
//
// Thread-safe, and no lock is platform-wide across slow work: compiles run
// outside every lock (concurrent compiles of one module wait for one, in
// the Engine's registry); applies are serialised per deployment (a slow
// stop holds up only its own deployment); status reads snapshots; a short
// commit lock makes each budget check and the desired-state write it allows
// one step.
//
// Budgets (config limits.total_*): a start or scale that would exceed them
// is refused before anything changes, with the numbers.
//
// Crash loops: applying a started deployment is journaled in the state
// database until its replicas settle. At the next start Reconcile applies
// a deployment the daemon died in last; one it died in twice is quarantined
// (failed, reason in status) until the operator starts it again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "platform/config.h"
#include "platform/events.h"
#include "platform/grants.h"
#include "platform/home.h"
#include "platform/link_handles.h"
#include "platform/log_hub.h"
#include "platform/manifest.h"
#include "platform/replica_host.h"
#include "platform/run_plan.h"
#include "platform/spec.h"
#include "platform/state_store.h"

namespace arcella::platform {

class BlobStore;

// What the budgets need to know of a core module, read from its binary: its
// linear memories (declared maximum in pages, if any) and whether it is a
// command (exports `_start`: one thread per replica).
struct ModuleShape {
  std::vector<std::optional<uint64_t>> memories;
  bool command = false;
  bool http = false;  // a component exporting wasi:http/incoming-handler
};

// One HTTP request served (Platform::ServeHttp).
struct HttpServed {
  std::string deployment;  // whose route matched
  CallResult call;         // results[0]: the response (http_call.h); or a trap
};

// An import or export of a component's world, for `inspect`.
struct WorldItem {
  std::string name;  // "wasi:cli/stdout@0.2.3", "greet"
  std::string kind;  // "instance", "func", "type", ...
  std::string type;  // a function's type; an instance's function names
};

struct ModuleInfo {
  ModuleRecord record;
  ComponentManifest manifest;
  std::vector<engine::ImportDesc> imports;  // core modules only
  std::vector<engine::ExportDesc> exports;
  std::vector<WorldItem> world_imports;  // components only
  std::vector<WorldItem> world_exports;
  std::string wit;                       // components, if asked for: the WIT text of its world
  std::vector<std::string> deployments;  // ids
};

// A link of a deployment and its health: the provider's state ("active",
// "stopped", "failed", ... or "missing" when no such deployment exists).
struct LinkView {
  std::string import;
  std::string provider;
  std::string state;
};

struct DeploymentView {
  DeploymentRecord record;
  DeploymentSpec spec;
  State state = State::kResolved;       // aggregate
  std::vector<ReplicaStatus> replicas;  // by index ("resolved" while stopped)
  std::string error;                    // why it cannot run, if so
  Grants grants;                        // effective grants, as last applied
  std::vector<LinkView> links;
  std::string http_route;  // served by the HTTP ingress under this route ("": not served)
};

// The AOT compile of an install: its progress (called on the installing
// thread, see engine::CompileOptions::on_progress) and a flag that, once set
// from any thread, stops it (compiler processes killed, temporary files
// removed); a cancelled install stores nothing and returns kCancelled. The
// platform sets the flag itself too when it cancels every compile
// (CancelCompiles, Shutdown), so it must outlive the Install call. An
// install of bytes another install is compiling waits for that compile
// (engine.h, registry) and gets no progress until it compiles itself.
// `tier`: the tier the module is compiled on (kAuto: AOT unless the module
// needs the interpreter, engine.h); persisted with the module (its tier).
struct InstallCompileHooks {
  std::function<void(const engine::CompileProgress&)> on_progress;
  std::atomic<bool>* cancel = nullptr;
  engine::Tier tier = engine::Tier::kAuto;
};

// Makes the platform's ReplicaHost. `code` hands out the compiled code of
// installed modules (for replicas in the daemon); it lives as long as the
// platform, which destroys the host first.
using HostFactory = std::function<Result<std::unique_ptr<ReplicaHost>>(CodeProvider* code)>;

class Platform : private CodeProvider, private LinkCaller {
 public:
  // Opens the state database and blob store under `home` (which must exist).
  // `events` and `logs` must outlive the platform.
  // `cc` is the AOT tier's C compiler command (the daemon passes $CC); the
  // platform's one engine::Engine caches compiled code in home.cache_dir().
  // `make_host` makes where replicas run (the daemon: a RoutingHost); empty:
  // an InProcessHost for every deployment.
  static Result<std::unique_ptr<Platform>> Open(const Home& home, const Config& config,
                                                EventBus* events, LogHub* logs,
                                                const std::string& cc = "cc",
                                                const HostFactory& make_host = {});
  ~Platform();

  // Compiles and applies every deployment to its desired state (after start).
  // Problems with single deployments are logged and leave them failed.
  // Deployments the daemon died while applying are applied last (one at a
  // time, each waited for); one it died in twice stays stopped, quarantined.
  Status Reconcile();
  // Before Reconcile: start nothing. Desired states stay in the database;
  // status shows started deployments as not started (safe mode) until an
  // explicit start.
  void EnterSafeMode();

  using Progress = std::function<void(const std::string& stage)>;
  using CompileHooks = InstallCompileHooks;
  // Installs a binary (core module or component). Manifest: `manifest_text`
  // if non-empty, else NAME.component.toml beside the file, else the file
  // name name@version.wasm. AOT compilation happens here. AlreadyExists
  // unless `force` (which keeps the module's deployments and restarts them).
  Result<ModuleInfo> Install(const std::string& path, bool force, const std::string& manifest_text,
                             const Progress& progress = {}, const CompileHooks& compile = {});
  Result<std::vector<ModuleRecord>> ListModules();
  // `wit`: also print a component's world as WIT text (ModuleInfo::wit).
  Result<ModuleInfo> Inspect(const std::string& module_id, bool wit = false);
  // FailedPrecondition naming the deployments while deployed.
  Status RemoveModule(const std::string& module_id);

  // Creates a deployment (stopped). `origin` names the source in errors.
  // `grant_origin` says who asks (grants.h): the operator (ALME) or, by
  // default, the least trusted, the hot-deploy folder. Grants the policy or
  // the home rule refuse make the deploy fail, naming the grant.
  Result<DeploymentView> Deploy(const DeploymentSpec& spec, KeyStyle style,
                                const std::string& origin,
                                GrantOrigin grant_origin = GrantOrigin::kHotDeploy);
  Result<std::vector<DeploymentView>> Start(const std::string& target, const std::string& group);
  // Stop and Undeploy refuse a deployment that started deployments (any,
  // for Undeploy) link to, naming them, unless `force`, which stops them too.
  Result<std::vector<DeploymentView>> Stop(const std::string& target, const std::string& group,
                                           bool force = false);
  Result<std::vector<DeploymentView>> Scale(const std::string& target, const std::string& group,
                                            uint32_t replicas);
  Result<std::vector<std::string>> Undeploy(const std::string& target, const std::string& group,
                                            bool force = false);
  // Links deployment `id`'s import `import` to deployment `provider`
  // (type-checked, cycles refused; the deployment's replicas restart with
  // it), or with no provider removes the link. docs/COMPONENTS.md "Links".
  Result<DeploymentView> SetLink(const std::string& id, const std::string& import,
                                 const std::optional<std::string>& provider);
  // All deployments, or those selected by target (empty: all).
  Result<std::vector<DeploymentView>> StatusOf(const std::string& target = "");
  // Calls an export on one replica: round robin over the replicas of a
  // deployment; a module target takes its started deployments in turn.
  // `control` (may be null) lets the caller cancel it (ReplicaHost::Call).
  Result<CallResult> Call(const std::string& target, const std::string& export_name,
                          const std::vector<std::string>& args, CallControl* control = nullptr);
  // The HTTP ingress (docs/HTTP.md): the started deployment whose route is
  // the longest prefix of `path` (at a '/' boundary) serves the request
  // (`request_text`, http_call.h) on one of its replicas, round robin, as
  // a call. NotFound when no route matches; the call's errors otherwise.
  Result<HttpServed> ServeHttp(std::string_view path, const std::string& request_text,
                               CallControl* control = nullptr);

  // Calls a component export ("IFACE#f", exact) of deployment `id` (not a
  // module target) with values, as a link does: no text, no database read.
  // Unsupported where the host cannot (a worker deployment).
  Result<ValCallResult> CallValues(const std::string& id, const std::string& export_name,
                                   std::vector<component::Val> args) {
    return host_->CallValues(id, export_name, std::move(args));
  }

  // Cancels every compile in flight (installs and the compiles of deploys,
  // starts and Reconcile: their compiler processes are killed, temporary
  // files removed; they return kCancelled) and makes later compiles return
  // kCancelled at once. Returns without waiting for them. Thread-safe. The
  // daemon calls it first on SIGTERM, so nothing it joins waits for a compile.
  void CancelCompiles();

  // CancelCompiles(), then stops every replica (gracefully) and refuses
  // further operations.
  void Shutdown();

  const Config& config() const { return config_; }
  LogHub* logs() const { return logs_; }
  // The worker processes of the host (status).
  std::vector<WorkerInfo> Workers() const { return host_->Workers(); }
  EventBus* events() const { return events_; }

 private:
  Platform(Home home, Config config, std::unique_ptr<StateStore> store,
           std::unique_ptr<BlobStore> blobs, EventBus* events, LogHub* logs);

  Result<std::vector<DeploymentView>> SetDesired(const std::string& target,
                                                 const std::string& group, Desired desired);
  Result<std::vector<DeploymentRecord>> Select(const std::string& target, const std::string& group);
  // One artefact per module serves replicas with and without fuel/timeout.
  Result<std::shared_ptr<const engine::Module>> CompiledModule(const ModuleRecord& m);
  // The tier to compile installed `m` on again (after a restart): kInterp if
  // it was installed on the interpreter, else kAuto (as installed).
  static engine::Tier InstalledTier(const ModuleRecord& m);
  // CodeProvider: the compiled code of an installed module.
  Result<std::shared_ptr<const engine::Module>> Load(const CodeRef& code) override;
  Result<engine::PortableCode> Export(const CodeRef& code) override;
  Result<std::shared_ptr<const LoadedComponent>> LoadComponent(const CodeRef& code) override;
  // Components (platform_component.cc): decodes `bytes` and compiles every
  // core module (progress per module through `hooks`; cancellable).
  Result<std::shared_ptr<const LoadedComponent>> CompileComponent(
      const std::shared_ptr<const std::vector<uint8_t>>& bytes, const std::string& what,
      const CompileHooks& hooks, const Progress& progress);
  // The installed component `m`, compiled (from memory, or the AOT cache).
  Result<std::shared_ptr<const LoadedComponent>> CompiledComponent(const ModuleRecord& m);
  // Refuses imports neither WASI 0.2 nor `links` provide, listing them all.
  Status CheckComponentImports(const std::string& deployment, const LoadedComponent& c,
                               const std::map<std::string, std::string>& links);
  // Links (platform_links.cc). The links of deployment `id`, type-checked
  // against their providers, cycles refused.
  Result<std::vector<PlanLink>> ResolveLinks(const std::string& id,
                                             const std::map<std::string, std::string>& links,
                                             const LoadedComponent& importer);
  Status CheckNoCycle(const std::string& id, const std::map<std::string, std::string>& links);
  // (dependent deployment, its import) for every link to one of `providers`.
  std::vector<std::pair<std::string, std::string>> DependentsOf(
      const std::set<std::string>& providers, bool started_only);
  Status RefuseIfDepended(const std::string& verb, const std::vector<DeploymentRecord>& deps,
                          bool started_only, bool force);
  std::vector<LinkView> LinkViews(const DeploymentSpec& spec);
  // LinkCaller: a linked import's call, to an active replica of its provider.
  component::TrapOr<std::vector<component::Val>> CallLink(
      const LinkCall& call, std::vector<component::Val> args) override;
  uint64_t NewLinkScope() override { return link_handles_.NewScope(); }
  void DropLinkHandle(uint64_t scope, uint32_t token) override;
  void EndLinkScope(uint64_t scope) override;
  // Drops `h` at its provider (its destructor runs there); failures logged.
  void DropAtProvider(const LinkHandle& h);
  // engine_->Compile with `cancel` (a fresh flag if null) registered for
  // CancelCompiles while it runs.
  Result<std::shared_ptr<const engine::Module>> CompileCancellable(std::span<const uint8_t> bytes,
                                                                   engine::CompileOptions options,
                                                                   std::atomic<bool>* cancel);
  Result<DeploymentPlan> PlanFor(const DeploymentRecord& d, const DeploymentSpec& spec);
  // Caller holds DeploymentLock(d.id).
  Status ApplyRecord(const DeploymentRecord& d);
  // Takes the deployment's lock, re-reads its record, applies it.
  Status ApplyLatest(const std::string& id);
  std::shared_ptr<std::mutex> DeploymentLock(const std::string& id);
  bool ShuttingDown();
  // Apply journal: `id` is being applied until its replicas settle.
  void Settle(const std::string& id);
  void SettleLoop();
  void WaitSettled(const std::vector<std::string>& ids);
  // Budgets.
  struct Usage {
    uint64_t replicas = 0, memories = 0, memory = 0, threads = 0;
  };
  Result<ModuleShape> ShapeOf(const ModuleRecord& m);
  Status AddUsage(const DeploymentRecord& d, Usage* u);
  // Refuses (FailedPrecondition, with the numbers) if the started
  // deployments with `changed` in place of their records exceed a budget.
  // Caller holds commit_mu_.
  Status CheckBudget(const std::string& what,
                     const std::map<std::string, DeploymentRecord>& changed);
  // Removes an unreferenced blob and the modules compiled from it.
  void DropBlob(const std::string& hash);
  DeploymentView ViewOf(const DeploymentRecord& d);
  DeploymentView ViewOf(const DeploymentRecord& d, const Result<DeploymentStatus>& st);
  void Publish(const std::string& kind, const std::string& id, const std::string& state,
               const std::string& message = "");

  Home home_;
  Config config_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<BlobStore> blobs_;
  EventBus* events_;
  LogHub* logs_;
  // Before host_: replicas that end during the host's shutdown still end
  // their link scopes here.
  LinkHandles link_handles_;
  std::unique_ptr<ReplicaHost> host_;
  // Guards the in-memory maps below; held only briefly (never across a
  // compile, a guest call, an apply or blocking I/O).
  std::recursive_mutex mu_;
  // Serialises budget checks with the desired-state writes they allow, and
  // module commits. Taken before mu_, never while holding it.
  std::mutex commit_mu_;
  bool shut_down_ = false;
  bool safe_mode_ = false;
  uint64_t memory_budget_ = 0;  // limits.total_guest_memory, resolved
  // Compiled modules, kept alive while installed (the Engine's registry
  // holds them weakly). Concurrent compiles of one module are not coalesced
  // here: the Engine's registry makes them wait for one compile, each waiter
  // with its own cancel flag (one cancelled install never cancels another's
  // wait; a waiter whose leader was cancelled compiles itself).
  std::map<std::string, std::shared_ptr<const engine::Module>> compiled_;  // by hash
  std::shared_ptr<engine::Engine> engine_;                                 // set by Open
  // Installed components, decoded and compiled (by blob hash).
  std::map<std::string, std::shared_ptr<const LoadedComponent>> components_;
  // The cancel flags of the compiles in flight (CancelCompiles sets them).
  std::mutex cancel_mu_;
  std::set<std::atomic<bool>*> compile_flags_;                    // guarded by cancel_mu_
  bool compiles_cancelled_ = false;                               // guarded by cancel_mu_
  std::map<std::string, ModuleShape> shapes_;                     // by module hash
  std::map<std::string, std::shared_ptr<std::mutex>> dep_locks_;  // one apply at a time
  std::map<std::string, std::string> quarantine_;                 // deployment id -> reason
  std::set<std::string> held_;  // started deployments kept stopped by --safe-mode

  std::mutex settle_mu_;
  std::condition_variable settle_cv_;
  std::map<std::string, std::chrono::steady_clock::time_point> settling_;  // id -> give up at
  bool settle_quit_ = false;
  std::thread settler_;
  // target -> next turn, for calls spread over a module's deployments
  std::map<std::string, uint64_t> call_turn_;
  // Call targets resolved to their started deployments, valid while the
  // store's generation is (guarded by mu_).
  struct CallTargets {
    uint64_t generation = 0;
    std::vector<std::string> started;
  };
  std::map<std::string, CallTargets> call_targets_;
  // Rebuilds routes_ if the store changed since (the caller must not hold
  // mu_: a component's shape may have to be loaded).
  Status RefreshHttpRoutes();
  // The route deployment `id` is served under ("" if none).
  std::string HttpRouteOf(const std::string& id);
  // HTTP routes as of a store generation, route -> ids (guarded by mu_).
  uint64_t routes_generation_ = UINT64_MAX;
  std::map<std::string, std::vector<std::string>> routes_;
  // deployment id -> why it could not be applied
  std::map<std::string, std::string> errors_;
  // deployment id -> its grants as last resolved (PlanFor)
  std::map<std::string, Grants> grants_;
};

}  // namespace arcella::platform
