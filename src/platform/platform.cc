#include "platform/platform.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fstream>
#include <future>
#include <iterator>
#include <set>
#include <thread>

#include "component/core_modules.h"
#include "component/decoder.h"
#include "component/export_names.h"
#include "component/wit_print.h"
#include "engine/loader.h"
#include "platform/blob_store.h"
#include "platform/file_read.h"
#include "platform/http_call.h"
#include "platform/import_check.h"
#include "platform/inprocess_host.h"
#include "platform/interface_names.h"

namespace arcella::platform {
namespace {

bool IsModuleTarget(const std::string& target) { return target.find('/') == std::string::npos; }

// How long a started deployment counts as "being applied" (apply journal)
// at most: until its replicas leave `starting`, or this long.
constexpr std::chrono::milliseconds kSettleLimit{10'000};
// Each linear memory of an AOT instance reserves 8 GiB of address space;
// 8192 of them keep half the 128 TiB user address space free.
constexpr uint64_t kMaxLinearMemories = 8192;
constexpr uint64_t kPage = 65536;
const char kQuarantined[] =
    "quarantined: the daemon died twice while starting it; fix it and `arcella-cli start` it";

bool ReadLeb(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    uint8_t b = *p++;
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

bool SkipName(const uint8_t*& p, const uint8_t* end, std::string* name = nullptr) {
  uint64_t n;
  if (!ReadLeb(p, end, &n) || n > static_cast<uint64_t>(end - p)) return false;
  if (name) name->assign(reinterpret_cast<const char*>(p), n);
  p += n;
  return true;
}

bool ReadLimits(const uint8_t*& p, const uint8_t* end, std::optional<uint64_t>* max_pages) {
  uint64_t flags, min, max;
  if (!ReadLeb(p, end, &flags) || !ReadLeb(p, end, &min)) return false;
  if (flags & 1) {
    if (!ReadLeb(p, end, &max)) return false;
    *max_pages = max;
  }
  return true;
}

ModuleShape ParseShape(std::span<const uint8_t> wasm) {
  ModuleShape shape;
  const uint8_t* p = wasm.data() + std::min<size_t>(8, wasm.size());
  const uint8_t* end = wasm.data() + wasm.size();
  auto fail = [] {
    ModuleShape s;  // unreadable: count one memory at the cap
    s.memories.emplace_back();
    return s;
  };
  while (p < end) {
    uint8_t id = *p++;
    uint64_t size;
    if (!ReadLeb(p, end, &size) || size > static_cast<uint64_t>(end - p)) return fail();
    const uint8_t* sec_end = p + size;
    const uint8_t* q = p;
    uint64_t count;
    if ((id == 2 || id == 5 || id == 7) && !ReadLeb(q, sec_end, &count)) return fail();
    for (uint64_t i = 0; (id == 2 || id == 5 || id == 7) && i < count; ++i) {
      std::optional<uint64_t> max;
      uint64_t skip;
      if (id == 5) {
        if (!ReadLimits(q, sec_end, &max)) return fail();
        shape.memories.push_back(max);
        continue;
      }
      std::string name;
      if (!SkipName(q, sec_end, id == 7 ? &name : nullptr)) return fail();
      if (id == 2 && !SkipName(q, sec_end)) return fail();
      if (q >= sec_end) return fail();
      uint8_t kind = *q++;
      if (id == 7) {
        if (!ReadLeb(q, sec_end, &skip)) return fail();
        if (kind == 0 && name == "_start") shape.command = true;
        continue;
      }
      switch (kind) {
        case 0:
          if (!ReadLeb(q, sec_end, &skip)) return fail();
          break;
        case 1:
          if (q >= sec_end || !ReadLimits(++q, sec_end, &max)) return fail();
          break;
        case 2:
          if (!ReadLimits(q, sec_end, &max)) return fail();
          shape.memories.push_back(max);
          break;
        case 3: q += 2; break;
        case 4:
          ++q;
          if (!ReadLeb(q, sec_end, &skip)) return fail();
          break;
        default: return fail();
      }
      if (q > sec_end) return fail();
    }
    p = sec_end;
  }
  return shape;
}

std::string Bytes(uint64_t b) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = static_cast<double>(b);
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[48];
  if (u == 0 || v == static_cast<double>(static_cast<uint64_t>(v)))
    snprintf(buf, sizeof buf, "%llu %s", static_cast<unsigned long long>(v), units[u]);
  else snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace

Platform::Platform(Home home, Config config, std::unique_ptr<StateStore> store,
                   std::unique_ptr<BlobStore> blobs, EventBus* events, LogHub* logs)
    : home_(std::move(home)),
      config_(std::move(config)),
      store_(std::move(store)),
      blobs_(std::move(blobs)),
      events_(events),
      logs_(logs) {
  memory_budget_ = config_.limits.total_guest_memory;
  if (memory_budget_ == 0) {
    // The physical RAM, but at least 8 GiB: replicas are counted at their
    // cap (256 MiB by default) while most touch far less, and the seed's
    // quick start (20 replicas at the default cap, 5 GiB) must run on a
    // small machine. Operators who want a hard bound set the key.
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && size > 0
                       ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size)
                       : 0;
    memory_budget_ = std::max<uint64_t>(ram, 8ull << 30);
  }
  settler_ = std::thread([this] { SettleLoop(); });
}

Platform::~Platform() {
  Shutdown();
  if (settler_.joinable()) settler_.join();
}

Result<std::unique_ptr<Platform>> Platform::Open(const Home& home, const Config& config,
                                                 EventBus* events, LogHub* logs,
                                                 const std::string& cc,
                                                 const HostFactory& make_host) {
  // Checks the cache folder (private), its key; removes stale compile folders.
  ARCELLA_ASSIGN_OR_RETURN(auto eng,
                           engine::Engine::Create({.cache_dir = home.cache_dir(), .cc = cc}));
  ARCELLA_ASSIGN_OR_RETURN(auto store, StateStore::Open(home.state_db()));
  ARCELLA_ASSIGN_OR_RETURN(BlobStore blobs, BlobStore::Open(home.modules_dir()));
  auto p = std::unique_ptr<Platform>(new Platform(home, config, std::move(store),
                                                  std::make_unique<BlobStore>(std::move(blobs)),
                                                  events, logs));
  p->engine_ = std::move(eng);
  if (make_host) {
    ARCELLA_ASSIGN_OR_RETURN(p->host_, make_host(p.get()));
  } else {
    InProcessHostOptions ho;
    ho.executor_threads = config.daemon.executor_threads;
    p->host_ = std::make_unique<InProcessHost>(LocalPlanLoader(p.get()), logs, events, ho);
  }
  if (!p->host_) return Status::Internal("Platform::Open: the host factory made no host");
  p->host_->SetLinkCaller(p.get());
  return p;
}

Result<std::shared_ptr<const engine::Module>> Platform::Load(const CodeRef& code) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = compiled_.find(code.module_hash);
  if (it == compiled_.end() || it->second->tier() != code.tier ||
      it->second->metering() != code.metering)
    return Status::NotFound("no installed module has the compiled code " + code.module_hash + "/" +
                            engine::TierName(code.tier));
  return it->second;
}

Result<engine::PortableCode> Platform::Export(const CodeRef& code) {
  ARCELLA_ASSIGN_OR_RETURN(std::shared_ptr<const engine::Module> m, Load(code));
  if (m->tier() != engine::Tier::kInterp) return engine::ExportCode(*m);
  // The interpreter's code is the module itself: the worker validates it again.
  ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, blobs_->Get(code.module_hash));
  return engine::ExportCode(*m, bytes);
}

void Platform::Publish(const std::string& kind, const std::string& id, const std::string& state,
                       const std::string& message) {
  if (events_) events_->Publish(Event{0, kind, id, state, message});
}

engine::Tier Platform::InstalledTier(const ModuleRecord& m) {
  return m.tier == engine::TierName(engine::Tier::kInterp) ? engine::Tier::kInterp
                                                           : engine::Tier::kAuto;
}

Result<std::shared_ptr<const engine::Module>> Platform::CompiledModule(const ModuleRecord& m) {
  if (m.kind != "core") return Status::InvalidArgument(m.id + " is a component, not a core module");
  // Compiled outside every platform lock; concurrent requests for the same
  // bytes wait for one compilation in the Engine's registry.
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (auto it = compiled_.find(m.hash); it != compiled_.end()) return it->second;
  }
  ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, blobs_->Get(m.hash));
  engine::CompileOptions co;
  co.tier = InstalledTier(m);
  auto mod = CompileCancellable(bytes, co, nullptr);
  if (!mod.ok()) return mod.status().WithContext("compiling " + m.id);
  std::lock_guard<std::recursive_mutex> lock(mu_);
  compiled_[m.hash] = *mod;
  return *mod;
}

Result<std::shared_ptr<const engine::Module>> Platform::CompileCancellable(
    std::span<const uint8_t> bytes, engine::CompileOptions options, std::atomic<bool>* cancel) {
  std::atomic<bool> own{false};
  if (cancel == nullptr) cancel = &own;
  {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    if (compiles_cancelled_) cancel->store(true);
    compile_flags_.insert(cancel);
  }
  options.cancel = cancel;
  auto mod = cancel->load() ? Result<std::shared_ptr<const engine::Module>>(
                                  Status::Cancelled("compile cancelled: the daemon is stopping"))
                            : engine_->Compile(bytes, options);
  std::lock_guard<std::mutex> lock(cancel_mu_);
  compile_flags_.erase(cancel);
  return mod;
}

void Platform::CancelCompiles() {
  std::lock_guard<std::mutex> lock(cancel_mu_);
  if (!compiles_cancelled_ && !compile_flags_.empty())
    spdlog::info("cancelling {} compile(s) in flight", compile_flags_.size());
  compiles_cancelled_ = true;
  for (std::atomic<bool>* f : compile_flags_) f->store(true);
}

bool Platform::ShuttingDown() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return shut_down_;
}

std::shared_ptr<std::mutex> Platform::DeploymentLock(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto& m = dep_locks_[id];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

Result<ModuleInfo> Platform::Install(const std::string& path, bool force,
                                     const std::string& manifest_text, const Progress& progress,
                                     const CompileHooks& compile) {
  // No platform lock while reading and compiling: only the commit below is
  // serialised (commit_mu_), so calls and status go on during a compile.
  if (ShuttingDown()) return Status::FailedPrecondition("the daemon is shutting down");
  auto step = [&](const char* s) {
    if (progress) progress(s);
  };
  step("validate");
  ComponentManifest manifest;
  std::string manifest_file;
  if (!manifest_text.empty()) {
    ARCELLA_ASSIGN_OR_RETURN(manifest, ParseComponentManifest(manifest_text, "manifest"));
  } else {
    ARCELLA_ASSIGN_OR_RETURN(manifest, ResolveManifestForBinary(path, &manifest_file));
  }
  // Regular files only, at most limits.max_module_bytes, streaming (file_read.h).
  ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                           ReadRegularFile(path, {config_.limits.max_module_bytes,
                                                  "limits.max_module_bytes"}));
  ModuleRecord rec;
  rec.id = manifest.name + "@" + manifest.version;
  rec.name = manifest.name;
  rec.version = manifest.version;
  rec.size = bytes.size();
  rec.manifest_toml = ToToml(manifest);
  auto existing = store_->GetModule(rec.id);
  if (existing.ok() && !force)
    return Status::AlreadyExists("module " + rec.id +
                                 " is already installed (use --force to replace it)");

  if (existing.ok() &&
      existing->kind != (engine::IsComponentBinary(bytes) ? "component" : "core")) {
    auto deps = store_->ListDeployments(rec.id);
    if (deps.ok() && !deps->empty())
      return Status::FailedPrecondition("module " + rec.id + " is deployed as a " + existing->kind +
                                        "; undeploy it before replacing it with a " +
                                        (existing->kind == "core" ? "component" : "core module"));
  }
  std::shared_ptr<const engine::Module> compiled;
  std::shared_ptr<const LoadedComponent> component;
  if (engine::IsComponentBinary(bytes)) {
    rec.kind = "component";
    // Decoded and validated; the manifest checked against it; every core
    // module compiled now, so deploy/start are fast.
    auto shared = std::make_shared<const std::vector<uint8_t>>(bytes);
    auto decoded = component::DecodeComponent(*shared);
    if (!decoded.ok()) return Status::InvalidArgument(path + ": " + decoded.status().message());
    if (Status st = CheckManifestInterfaces(manifest, **decoded); !st.ok())
      return Status::InvalidArgument(path + ": " + st.message());
    auto c = CompileComponent(shared, path, compile, progress);
    if (!c.ok() && (c.status().code() == StatusCode::kCancelled ||
                    (compile.cancel && compile.cancel->load()))) {
      spdlog::info("install of {} cancelled during the compile", path);
      return Status::Cancelled("install of " + path + " cancelled");
    }
    if (!c.ok()) return Status::InvalidArgument(c.status().message());
    component = *c;
    rec.tier = engine::TierName(component->tier);
  } else {
    rec.kind = "core";
    // Validate and AOT-compile now, so deploy/start are fast and a broken
    // module never gets installed.
    // Unresolvable imports are refused before the (long) compile.
    if (Status st = CheckPlatformImports(bytes); !st.ok())
      return Status::InvalidArgument(path + ": " + st.message());
    step("compile");
    engine::CompileOptions co;
    co.tier = compile.tier;
    co.on_progress = compile.on_progress;
    auto mod = CompileCancellable(bytes, co, compile.cancel);
    if (!mod.ok() && (mod.status().code() == StatusCode::kCancelled ||
                      (compile.cancel && compile.cancel->load()))) {
      spdlog::info("install of {} cancelled during the compile", path);
      return Status::Cancelled("install of " + path + " cancelled");
    }
    if (!mod.ok()) return Status::InvalidArgument(path + ": " + mod.status().message());
    compiled = *mod;
    rec.tier = engine::TierName(compiled->tier());
  }
  // Cancelled after its compile finished (or a component): still nothing stored.
  if (compile.cancel && compile.cancel->load()) {
    spdlog::info("install of {} cancelled after the compile", path);
    return Status::Cancelled("install of " + path + " cancelled");
  }
  step("store");
  {
    std::lock_guard<std::mutex> commit(commit_mu_);
    // Another install may have committed the same id while this one compiled.
    existing = store_->GetModule(rec.id);
    if (existing.ok() && !force)
      return Status::AlreadyExists("module " + rec.id +
                                   " is already installed (use --force to replace it)");
    ARCELLA_ASSIGN_OR_RETURN(rec.hash, blobs_->Put(bytes));
    if (compiled) {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      compiled_[rec.hash] = compiled;
    }
    if (component) {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      components_[rec.hash] = component;
    }
    Status st = store_->PutModule(rec, /*replace=*/force);
    if (!st.ok()) {
      auto refs = store_->CountModulesWithHash(rec.hash);
      if (refs.ok() && *refs == 0) (void)blobs_->Remove(rec.hash);
      return st;
    }
    if (existing.ok() && existing->hash != rec.hash) {
      auto refs = store_->CountModulesWithHash(existing->hash);
      if (refs.ok() && *refs == 0) DropBlob(existing->hash);
    }
  }
  spdlog::info("installed {} ({}, {} bytes, tier {}){}", rec.id, rec.kind, rec.size, rec.tier,
               manifest_file.empty() ? "" : " manifest " + manifest_file);
  Publish("module", rec.id, "installed");
  // A forced reinstall restarts the module's running deployments on the new code.
  if (existing.ok()) {
    auto deps = store_->ListDeployments(rec.id);
    if (deps.ok())
      for (const auto& d : *deps) (void)ApplyLatest(d.id);
  }
  step("done");
  return Inspect(rec.id);
}

void Platform::DropBlob(const std::string& hash) {
  (void)blobs_->Remove(hash);
  std::lock_guard<std::recursive_mutex> lock(mu_);
  shapes_.erase(hash);
  components_.erase(hash);
  for (auto it = compiled_.begin(); it != compiled_.end();)
    it = it->first == hash ? compiled_.erase(it) : std::next(it);
}

Result<std::vector<ModuleRecord>> Platform::ListModules() { return store_->ListModules(); }

namespace {

// A component's imports or exports for `inspect`.
std::vector<WorldItem> WorldItems(const std::vector<component::ExternDecl>& decls) {
  std::vector<WorldItem> out;
  for (const component::ExternDecl& d : decls) {
    WorldItem w;
    w.name = d.name.text;
    switch (d.type.sort) {
      case component::Sort::kFunc:
        w.kind = "func";
        if (d.type.func) w.type = d.type.func->ToString();
        break;
      case component::Sort::kInstance:
        w.kind = "instance";
        if (d.type.instance)
          for (const auto& e : d.type.instance->exports)
            if (e.type.sort == component::Sort::kFunc)
              w.type += (w.type.empty() ? "" : ", ") + e.name.text;
        break;
      case component::Sort::kType: w.kind = "type"; break;
      case component::Sort::kComponent: w.kind = "component"; break;
      case component::Sort::kCoreModule: w.kind = "core module"; break;
      default: w.kind = "value"; break;
    }
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace

Result<ModuleInfo> Platform::Inspect(const std::string& module_id, bool wit) {
  ModuleInfo info;
  ARCELLA_ASSIGN_OR_RETURN(info.record, store_->GetModule(module_id));
  ARCELLA_ASSIGN_OR_RETURN(info.manifest,
                           ParseComponentManifest(info.record.manifest_toml, module_id));
  if (info.record.kind == "core") {
    auto mod = CompiledModule(info.record);
    if (mod.ok()) {
      info.imports = (*mod)->imports();
      info.exports = (*mod)->exports();
    }
  } else if (info.record.kind == "component") {
    auto c = CompiledComponent(info.record);
    if (c.ok()) {
      info.world_imports = WorldItems((*c)->component->type.imports);
      info.world_exports = WorldItems((*c)->component->type.exports);
      if (wit) {
        auto text = component::PrintComponentWit(*(*c)->component);
        info.wit = text.ok() ? *text : "// " + text.status().message() + "\n";
      }
    }
  }
  ARCELLA_ASSIGN_OR_RETURN(auto deps, store_->ListDeployments(module_id));
  for (const auto& d : deps) info.deployments.push_back(d.id);
  return info;
}

Status Platform::RemoveModule(const std::string& module_id) {
  std::lock_guard<std::mutex> commit(commit_mu_);
  ARCELLA_ASSIGN_OR_RETURN(ModuleRecord m, store_->GetModule(module_id));
  ARCELLA_RETURN_IF_ERROR(store_->RemoveModule(module_id));
  auto refs = store_->CountModulesWithHash(m.hash);
  if (refs.ok() && *refs == 0) DropBlob(m.hash);
  Publish("module", module_id, "uninstalled");
  return Status::Ok();
}

Result<DeploymentPlan> Platform::PlanFor(const DeploymentRecord& d, const DeploymentSpec& spec) {
  ARCELLA_ASSIGN_OR_RETURN(ModuleRecord m, store_->GetModule(d.module_id));
  ARCELLA_ASSIGN_OR_RETURN(ComponentManifest mf, ParseComponentManifest(m.manifest_toml, m.id));
  const DeploymentOverrides& o = spec.overrides;
  DeploymentPlan plan;
  plan.id = d.id;
  plan.module_id = d.module_id;
  plan.replicas = d.replicas;
  uint64_t fuel = o.fuel ? *o.fuel : mf.fuel ? *mf.fuel : config_.limits.fuel;
  if (fuel > 0) plan.fuel = fuel;
  plan.max_memory_bytes = o.max_memory_bytes    ? *o.max_memory_bytes
                          : mf.max_memory_bytes ? *mf.max_memory_bytes
                                                : config_.limits.max_memory_bytes;
  plan.timeout = o.timeout ? *o.timeout : mf.timeout ? *mf.timeout : config_.limits.timeout;
  // Grants: only what the operator granted within the policy, never the
  // home; re-checked at every apply (a symlink may have changed).
  auto grants = ResolveGrants(mf, spec, config_.policy, home_.root(), spec.origin, KeyStyle::kToml,
                              d.id);
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);  // status reads it concurrently
    grants_[d.id] = grants.ok() ? *grants : NothingGranted(mf, spec, grants.status().message());
  }
  if (!grants.ok()) return grants.status();
  for (const DirGrant& g : grants->dirs) plan.dirs.push_back({g.real_host, g.guest, g.read_only});
  plan.env = grants->env;
  plan.restart = o.restart ? *o.restart : RestartPolicy::kOnFailure;
  plan.group = d.group;
  plan.isolation = o.isolation ? *o.isolation : Isolation::kWorker;
  if (m.kind == "component") {
    ARCELLA_ASSIGN_OR_RETURN(auto c, CompiledComponent(m));
    ARCELLA_RETURN_IF_ERROR(CheckComponentImports(d.id, *c, spec.links));
    ARCELLA_ASSIGN_OR_RETURN(plan.links, ResolveLinks(d.id, spec.links, *c));
    if (plan.isolation == Isolation::kWorker && !host_->RunsComponents(plan.isolation))
      return Status::Unsupported("deployment " + d.id + ": components run in the daemon only " +
                                 "for now; deploy it with --isolation main");
    plan.code = {m.hash, c->tier, c->metering, /*component=*/true};
    plan.command = IsCommandComponent(*c->component);
    return plan;
  }
  ARCELLA_ASSIGN_OR_RETURN(auto module, CompiledModule(m));
  plan.code = {m.hash, module->tier(), module->metering()};
  const auto* start = module->FindExport("_start");
  plan.command = start && start->desc.kind == engine::ExternKind::kFunc;
  return plan;
}

Status Platform::ApplyRecord(const DeploymentRecord& rec) {
  // The caller holds DeploymentLock(rec.id). No platform-wide lock here: a
  // slow stop (a guest that takes its time to end) holds up only this one.
  DeploymentRecord d = rec;
  bool kept_stopped = false;
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    // Quarantined, or held by --safe-mode: stays stopped until started.
    kept_stopped = d.desired == Desired::kStarted &&
                   (quarantine_.count(d.id) > 0 || held_.count(d.id) > 0);
  }
  if (kept_stopped) d.desired = Desired::kStopped;
  bool journaled = false;
  if (d.desired == Desired::kStarted) {
    // Crash-loop protection: if the daemon dies before this deployment
    // settles, the next start finds the mark (Reconcile).
    Status js = store_->BeginApply(d.id);
    if (js.ok()) journaled = true;
    else spdlog::warn("deployment {}: {}", d.id, js.message());
    // Test-only (docs/RUNTIME.md): simulates a daemon that dies while
    // applying this deployment.
    if (const char* crash = std::getenv("ARCELLA_TEST_CRASH_ON_APPLY"); crash && d.id == crash) {
      spdlog::critical("ARCELLA_TEST_CRASH_ON_APPLY={}: aborting", d.id);
      spdlog::shutdown();
      std::abort();
    }
  } else if (!kept_stopped) {
    (void)store_->EndApply(d.id);
  }
  auto spec = ParseDeploymentSpec(d.spec_toml, d.id);
  Status st = spec.status();
  if (st.ok()) {
    DeploymentSpec s = *spec;
    s.replicas = d.replicas;
    auto plan = PlanFor(d, s);
    st = plan.status();
    if (st.ok()) st = host_->Apply(*plan, d.desired == Desired::kStarted);
  }
  if (!st.ok() && d.desired == Desired::kStopped) {
    // Stopping must not depend on the module still compiling: replicas of
    // an earlier plan stop regardless.
    Status rm = host_->Remove(d.id);
    if (rm.ok() || rm.code() == StatusCode::kNotFound) st = Status::Ok();
  }
  if (journaled) Settle(d.id);
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (st.ok()) errors_.erase(d.id);
    else errors_[d.id] = st.message();
  }
  if (!st.ok()) {
    spdlog::error("deployment {}: {}", d.id, st.message());
    Publish("deployment", d.id, "failed", st.message());
  }
  return st;
}

Status Platform::ApplyLatest(const std::string& id) {
  auto lock_ptr = DeploymentLock(id);
  std::lock_guard<std::mutex> lock(*lock_ptr);
  // Re-read under the deployment's lock: the last committed desired state wins.
  auto d = store_->GetDeployment(id);
  if (!d.ok()) return d.status().code() == StatusCode::kNotFound ? Status::Ok() : d.status();
  return ApplyRecord(*d);
}

void Platform::Settle(const std::string& id) {
  std::lock_guard<std::mutex> lock(settle_mu_);
  settling_[id] = std::chrono::steady_clock::now() + kSettleLimit;
  settle_cv_.notify_all();
}

void Platform::SettleLoop() {
  std::unique_lock<std::mutex> lock(settle_mu_);
  while (!settle_quit_) {
    settle_cv_.wait_for(lock, std::chrono::milliseconds(50));
    if (settle_quit_ || settling_.empty()) continue;
    auto snapshot = settling_;
    lock.unlock();
    auto now = std::chrono::steady_clock::now();
    std::vector<std::string> done;
    for (const auto& [id, deadline] : snapshot) {
      auto st = host_->GetStatus(id);
      bool busy = st.ok() && st->started &&
                  (st->state == State::kStarting || st->state == State::kStopping);
      if (!busy || now >= deadline) done.push_back(id);
    }
    lock.lock();
    for (const auto& id : done) {
      auto it = settling_.find(id);
      if (it == settling_.end() || it->second != snapshot[id]) continue;  // applied again
      (void)store_->EndApply(id);
      settling_.erase(it);
    }
    settle_cv_.notify_all();
  }
}

void Platform::WaitSettled(const std::vector<std::string>& ids) {
  std::unique_lock<std::mutex> lock(settle_mu_);
  settle_cv_.wait_for(lock, kSettleLimit + std::chrono::seconds(1), [&] {
    if (settle_quit_) return true;
    for (const auto& id : ids)
      if (settling_.count(id)) return false;
    return true;
  });
}

void Platform::EnterSafeMode() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  safe_mode_ = true;
}

Status Platform::Reconcile() {
  ARCELLA_ASSIGN_OR_RETURN(auto deps, store_->ListDeployments());
  std::map<std::string, uint32_t> crashed;
  if (auto c = store_->CountCrashedApplies(); c.ok()) crashed = std::move(*c);
  else spdlog::error("reconcile: {}", c.status().message());
  // Deployments the daemon died while applying go last, one at a time; one
  // it died in twice is quarantined.
  std::vector<std::string> first, last;
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    for (const auto& d : deps) {
      uint32_t deaths = crashed.count(d.id) ? crashed[d.id] : 0;
      bool started = d.desired == Desired::kStarted;
      if (started && safe_mode_) held_.insert(d.id);
      if (started && deaths >= 2) {
        quarantine_[d.id] = kQuarantined;
        spdlog::error("deployment {}: {} (the daemon died {} times while applying it)", d.id,
                      kQuarantined, deaths);
      }
      (started && deaths == 1 ? last : first).push_back(d.id);
    }
  }
  for (const auto& id : first) {
    bool quarantined;
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      quarantined = quarantine_.count(id) > 0;
    }
    if (quarantined) Publish("deployment", id, "failed", kQuarantined);
  }
  size_t failed = 0;
  for (const auto& id : first)
    if (!ApplyLatest(id).ok()) ++failed;
  if (!last.empty()) {
    std::string names;
    for (const auto& id : last) names += (names.empty() ? "" : ", ") + id;
    spdlog::warn("the daemon died while applying {}: applying {} last", names,
                 last.size() == 1 ? "it" : "them");
    WaitSettled(first);
    for (const auto& id : last) {
      if (!ApplyLatest(id).ok()) ++failed;
      WaitSettled({id});
    }
  }
  spdlog::info("reconciled {} deployment(s){}{}", deps.size(),
               failed ? ", " + std::to_string(failed) + " failed" : "",
               safe_mode_ ? " (safe mode: none started)" : "");
  return Status::Ok();
}

Result<ModuleShape> Platform::ShapeOf(const ModuleRecord& m) {
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (auto it = shapes_.find(m.hash); it != shapes_.end()) return it->second;
  }
  ModuleShape shape;
  if (m.kind == "core") {
    ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, blobs_->Get(m.hash));
    shape = ParseShape(bytes);
  } else if (m.kind == "component") {
    // Every memory of every core module (each instantiated once).
    ARCELLA_ASSIGN_OR_RETURN(auto c, CompiledComponent(m));
    for (std::span<const uint8_t> mod : component::CoreModuleBytes(*c->component)) {
      ModuleShape s = ParseShape(mod);
      shape.memories.insert(shape.memories.end(), s.memories.begin(), s.memories.end());
    }
    shape.command = IsCommandComponent(*c->component);
    shape.http = !HttpHandlerExport(component::ExportedFuncNames(*c->component)).empty();
  }
  std::lock_guard<std::recursive_mutex> lock(mu_);
  shapes_[m.hash] = shape;
  return shape;
}

Status Platform::AddUsage(const DeploymentRecord& d, Usage* u) {
  ARCELLA_ASSIGN_OR_RETURN(ModuleRecord m, store_->GetModule(d.module_id));
  ARCELLA_ASSIGN_OR_RETURN(ComponentManifest mf, ParseComponentManifest(m.manifest_toml, m.id));
  ARCELLA_ASSIGN_OR_RETURN(DeploymentSpec spec, ParseDeploymentSpec(d.spec_toml, d.id));
  ARCELLA_ASSIGN_OR_RETURN(ModuleShape shape, ShapeOf(m));
  uint64_t cap = spec.overrides.max_memory_bytes ? *spec.overrides.max_memory_bytes
                 : mf.max_memory_bytes           ? *mf.max_memory_bytes
                                                 : config_.limits.max_memory_bytes;
  if (cap == 0) cap = 4ull << 30;
  uint64_t per_replica = 0;
  for (const auto& max_pages : shape.memories)
    per_replica += max_pages ? std::min(cap, *max_pages * kPage) : cap;
  // Host memory the replica's output can take (log ring and line buffers).
  LogHubOptions lo;
  lo.ring_bytes = config_.logs.ring_bytes;
  per_replica += lo.RingBytesBound();
  u->replicas += d.replicas;
  u->memories += static_cast<uint64_t>(d.replicas) * shape.memories.size();
  u->memory += static_cast<uint64_t>(d.replicas) * per_replica;
  if (shape.command) u->threads += d.replicas;
  return Status::Ok();
}

Status Platform::CheckBudget(const std::string& what,
                             const std::map<std::string, DeploymentRecord>& changed) {
  ARCELLA_ASSIGN_OR_RETURN(auto all, store_->ListDeployments());
  Usage others, wanted;
  for (const auto& d : all)
    if (!changed.count(d.id) && d.desired == Desired::kStarted) (void)AddUsage(d, &others);
  for (const auto& [id, d] : changed)
    if (d.desired == Desired::kStarted) ARCELLA_RETURN_IF_ERROR(AddUsage(d, &wanted));
  const auto& l = config_.limits;
  if (others.replicas + wanted.replicas > l.total_replicas)
    return Status::FailedPrecondition(what + " needs " + std::to_string(wanted.replicas) +
                                      " replica(s); " + std::to_string(others.replicas) +
                                      " of the " + std::to_string(l.total_replicas) +
                                      " the platform allows are started (limits.total_replicas)");
  if (others.memories + wanted.memories > kMaxLinearMemories)
    return Status::FailedPrecondition(
        what + " needs " + std::to_string(wanted.memories) + " linear memories; " +
        std::to_string(others.memories) + " of the " + std::to_string(kMaxLinearMemories) +
        " the address space holds are in use (each reserves 8 GiB of address space)");
  if (others.memory + wanted.memory > memory_budget_)
    return Status::FailedPrecondition(what + " needs " + Bytes(wanted.memory) +
                                      " of guest memory; " + Bytes(others.memory) + " of the " +
                                      Bytes(memory_budget_) +
                                      " platform budget are in use (limits.total_guest_memory)");
  if (others.threads + wanted.threads > l.total_threads)
    return Status::FailedPrecondition(
        what + " needs " + std::to_string(wanted.threads) + " thread(s) for command replicas; " +
        std::to_string(others.threads) + " of the " + std::to_string(l.total_threads) +
        " the platform allows are in use (limits.total_threads)");
  return Status::Ok();
}

Result<std::vector<DeploymentRecord>> Platform::Select(const std::string& target,
                                                       const std::string& group) {
  if (target.empty()) return store_->ListDeployments();
  if (!IsModuleTarget(target)) {
    ARCELLA_ASSIGN_OR_RETURN(DeploymentRecord d, store_->GetDeployment(target));
    if (!group.empty() && d.group != group)
      return Status::NotFound("deployment " + target + " is not in group " + group);
    return std::vector<DeploymentRecord>{d};
  }
  ARCELLA_RETURN_IF_ERROR(ValidateModuleId(target));
  ARCELLA_ASSIGN_OR_RETURN(ModuleRecord m, store_->GetModule(target));
  ARCELLA_ASSIGN_OR_RETURN(auto all, store_->ListDeployments(m.id));
  std::vector<DeploymentRecord> out;
  for (auto& d : all)
    if (group.empty() || d.group == group) out.push_back(std::move(d));
  if (out.empty())
    return Status::NotFound("module " + target + " has no deployment" +
                            (group.empty() ? "" : " in group " + group) +
                            " (create one with `arcella-cli deploy`)");
  return out;
}

DeploymentView Platform::ViewOf(const DeploymentRecord& d) {
  return ViewOf(d, host_->GetStatus(d.id));
}

DeploymentView Platform::ViewOf(const DeploymentRecord& d, const Result<DeploymentStatus>& st) {
  DeploymentView v;
  v.record = d;
  auto spec = ParseDeploymentSpec(d.spec_toml, d.id);
  if (spec.ok()) v.spec = *spec;
  v.spec.replicas = d.replicas;
  v.links = LinkViews(v.spec);
  if (d.desired == Desired::kStarted) v.http_route = HttpRouteOf(d.id);  // before mu_
  if (st.ok()) {
    v.state = st->state;
    v.replicas = st->replicas;
  } else {
    v.state = State::kInstalled;
  }
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (auto q = quarantine_.find(d.id); q != quarantine_.end()) {
    v.state = State::kFailed;
    v.error = q->second;
  } else if (auto it = errors_.find(d.id); it != errors_.end()) {
    v.state = State::kFailed;
    v.error = it->second;
  } else if (held_.count(d.id) && d.desired == Desired::kStarted) {
    v.error = "not started: the daemon runs in --safe-mode (desired state: started; "
              "`arcella-cli start " +
              d.id + "` starts it)";
  }
  if (auto it = grants_.find(d.id); it != grants_.end()) v.grants = it->second;
  return v;
}

Result<DeploymentView> Platform::Deploy(const DeploymentSpec& spec_in, KeyStyle style,
                                        const std::string& origin, GrantOrigin grant_origin) {
  DeploymentSpec spec = spec_in;
  spec.origin = grant_origin;  // who asks, never what a file claims
  if (ShuttingDown()) return Status::FailedPrecondition("the daemon is shutting down");
  ARCELLA_RETURN_IF_ERROR(ValidateDeploymentSpec(spec, style, origin));
  if (spec.replicas > config_.limits.max_replicas_per_deployment)
    return Status::InvalidArgument(origin + ": replicas = " + std::to_string(spec.replicas) +
                                   ": at most " +
                                   std::to_string(config_.limits.max_replicas_per_deployment) +
                                   " (limits.max_replicas_per_deployment)");
  auto m = store_->GetModule(spec.module_id);
  if (!m.ok())
    return Status::NotFound(origin + ": module " + spec.module_id +
                            " is not installed (install it with `arcella-cli install`)");
  if (m->kind != "component" && !spec.links.empty())
    return Status::InvalidArgument(origin + ": " + spec.module_id +
                                   " is a core module: only components have imports to link");
  if (m->kind == "component") {
    // Deny by default: every import must be provided (refused now, listed).
    ARCELLA_ASSIGN_OR_RETURN(auto c, CompiledComponent(*m));
    ARCELLA_RETURN_IF_ERROR(CheckComponentImports(spec.id(), *c, spec.links));
    ARCELLA_RETURN_IF_ERROR(ResolveLinks(spec.id(), spec.links, *c).status());
    Isolation iso = spec.overrides.isolation ? *spec.overrides.isolation : Isolation::kWorker;
    if (!host_->RunsComponents(iso))
      return Status::Unsupported("deployment " + spec.id() +
                                 ": components run in the daemon only for now; deploy it with "
                                 "--isolation main");
  }
  if (auto mf = ParseComponentManifest(m->manifest_toml, m->id); mf.ok()) {
    auto grants = ResolveGrants(*mf, spec, config_.policy, home_.root(), grant_origin, style,
                                origin);
    if (!grants.ok()) {
      Publish("deployment", spec.id(), "refused", grants.status().message());
      return grants.status();
    }
  }
  DeploymentRecord d;
  d.id = spec.id();
  d.module_id = spec.module_id;
  d.group = spec.group;
  d.replicas = spec.replicas;
  d.desired = Desired::kStopped;
  d.spec_toml = ToToml(spec);
  ARCELLA_RETURN_IF_ERROR(store_->PutDeployment(d));
  (void)ApplyLatest(d.id);
  ARCELLA_ASSIGN_OR_RETURN(d, store_->GetDeployment(d.id));
  Publish("deployment", d.id, "resolved");
  return ViewOf(d);
}

Result<std::vector<DeploymentView>> Platform::SetDesired(const std::string& target,
                                                         const std::string& group,
                                                         Desired desired) {
  if (ShuttingDown() && desired == Desired::kStarted)
    return Status::FailedPrecondition("the daemon is shutting down");
  ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, group));
  {
    // Budget check and commit are one step: concurrent starts cannot both
    // fit into what only one of them may use.
    std::lock_guard<std::mutex> commit(commit_mu_);
    if (desired == Desired::kStarted) {
      std::map<std::string, DeploymentRecord> changed;
      for (auto d : deps) {
        d.desired = desired;
        changed[d.id] = d;
      }
      ARCELLA_RETURN_IF_ERROR(CheckBudget("start " + target, changed));
    }
    for (auto& d : deps) {
      ARCELLA_RETURN_IF_ERROR(store_->UpdateDeployment(d.id, std::nullopt, desired));
      d.desired = desired;
    }
  }
  std::vector<DeploymentView> out;
  for (auto& d : deps) {
    if (desired == Desired::kStarted) {
      bool was_quarantined;
      {
        std::lock_guard<std::recursive_mutex> lock(mu_);
        was_quarantined = quarantine_.erase(d.id) > 0;
        held_.erase(d.id);
      }
      if (was_quarantined) (void)store_->EndApply(d.id);  // the operator fixed it: count anew
    }
    (void)ApplyLatest(d.id);
    auto latest = store_->GetDeployment(d.id);
    out.push_back(ViewOf(latest.ok() ? *latest : d));
  }
  return out;
}

Result<std::vector<DeploymentView>> Platform::Start(const std::string& target,
                                                    const std::string& group) {
  return SetDesired(target, group, Desired::kStarted);
}

Result<std::vector<DeploymentView>> Platform::Stop(const std::string& target,
                                                   const std::string& group, bool force) {
  ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, group));
  ARCELLA_RETURN_IF_ERROR(RefuseIfDepended("stop " + target, deps, /*started_only=*/true, force));
  return SetDesired(target, group, Desired::kStopped);
}

Result<std::vector<DeploymentView>> Platform::Scale(const std::string& target,
                                                    const std::string& group, uint32_t replicas) {
  if (ShuttingDown()) return Status::FailedPrecondition("the daemon is shutting down");
  ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, group));
  if (replicas < 1) return Status::InvalidArgument("replicas must be at least 1 (got 0)");
  if (replicas > config_.limits.max_replicas_per_deployment)
    return Status::InvalidArgument("replicas = " + std::to_string(replicas) + ": at most " +
                                   std::to_string(config_.limits.max_replicas_per_deployment) +
                                   " (limits.max_replicas_per_deployment)");
  // Check every deployment before changing any: all or nothing.
  for (const auto& d : deps) {
    auto spec = ParseDeploymentSpec(d.spec_toml, d.id);
    if (spec.ok() && spec->overrides.isolation == Isolation::kMain && replicas != 1)
      return Status::InvalidArgument("deployment " + d.id +
                                     " has isolation = \"main\", which requires replicas = 1");
  }
  {
    std::lock_guard<std::mutex> commit(commit_mu_);
    std::map<std::string, DeploymentRecord> changed;
    for (auto d : deps) {
      auto latest = store_->GetDeployment(d.id);  // desired may have changed since Select
      if (latest.ok()) d = *latest;
      d.replicas = replicas;
      changed[d.id] = d;
    }
    ARCELLA_RETURN_IF_ERROR(
        CheckBudget("scale " + target + " to " + std::to_string(replicas) + " replicas", changed));
    for (auto& d : deps) {
      ARCELLA_RETURN_IF_ERROR(store_->UpdateDeployment(d.id, replicas, std::nullopt));
      d.replicas = replicas;
    }
  }
  std::vector<DeploymentView> out;
  for (auto& d : deps) {
    (void)ApplyLatest(d.id);
    auto latest = store_->GetDeployment(d.id);
    out.push_back(ViewOf(latest.ok() ? *latest : d));
  }
  return out;
}

Result<std::vector<std::string>> Platform::Undeploy(const std::string& target,
                                                    const std::string& group, bool force) {
  ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, group));
  ARCELLA_RETURN_IF_ERROR(
      RefuseIfDepended("undeploy " + target, deps, /*started_only=*/false, force));
  std::vector<std::string> out;
  for (const auto& d : deps) {
    ARCELLA_RETURN_IF_ERROR(store_->RemoveDeployment(d.id));
    auto lock_ptr = DeploymentLock(d.id);
    std::lock_guard<std::mutex> dep_lock(*lock_ptr);
    Status st = host_->Remove(d.id);
    if (!st.ok() && st.code() != StatusCode::kNotFound)
      spdlog::warn("undeploy {}: {}", d.id, st.message());
    (void)store_->EndApply(d.id);
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      errors_.erase(d.id);
      grants_.erase(d.id);
      quarantine_.erase(d.id);
      held_.erase(d.id);
    }
    if (logs_) logs_->Forget(d.id, 0);
    Publish("deployment", d.id, "uninstalled");
    out.push_back(d.id);
  }
  return out;
}

Result<std::vector<DeploymentView>> Platform::StatusOf(const std::string& target) {
  // Snapshots only: never waits for an apply, a compile or a stopping replica.
  ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, ""));
  std::vector<DeploymentView> out;
  out.reserve(deps.size());
  std::vector<std::string> ids;
  for (const auto& d : deps) ids.push_back(d.id);
  // One round trip per worker, not one per deployment.
  auto statuses = host_->GetStatuses(ids);
  for (size_t i = 0; i < deps.size(); ++i) out.push_back(ViewOf(deps[i], statuses[i]));
  return out;
}

Result<CallResult> Platform::Call(const std::string& target, const std::string& export_name,
                                  const std::vector<std::string>& args, CallControl* control) {
  if (export_name == kHttpCall)  // the ingress's own call (ServeHttp)
    return Status::NotFound("no export named " + export_name);
  std::string id;
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (shut_down_) return Status::FailedPrecondition("the daemon is shutting down");
    // The target's started deployments, read from the store once per change
    // of it (a call does not pay a database query).
    const uint64_t gen = store_->generation();
    auto it = call_targets_.find(target);
    if (it == call_targets_.end() || it->second.generation != gen) {
      ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, ""));
      // A module target spreads calls over its started deployments in turn;
      // the host then balances over the replicas of the chosen one.
      std::vector<std::string> started;
      for (const auto& d : deps)
        if (d.desired == Desired::kStarted) started.push_back(d.id);
      if (started.empty())
        return Status::FailedPrecondition(
            target + " is not started (start it with `arcella-cli start " + target + "`)");
      if (call_targets_.size() >= 4096) call_targets_.clear();  // targets that exist; bounded
      it = call_targets_.insert_or_assign(target, CallTargets{gen, std::move(started)}).first;
    }
    const std::vector<std::string>& started = it->second.started;
    id = started[call_turn_[target]++ % started.size()];
  }
  // Outside the platform lock: a long call must not block management.
  return host_->Call(id, export_name, args, control);
}

void Platform::Shutdown() {
  CancelCompiles();  // nothing below waits for a compile
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  std::map<std::string, std::chrono::steady_clock::time_point> settling;
  {
    std::lock_guard<std::mutex> lock(settle_mu_);
    settle_quit_ = true;
    settling.swap(settling_);
  }
  settle_cv_.notify_all();
  if (settler_.joinable() && settler_.get_id() != std::this_thread::get_id()) settler_.join();
  // A clean stop is no crash: nothing is left "being applied".
  for (const auto& [id, deadline] : settling) (void)store_->EndApply(id);
  // Outside every platform lock: stopping replicas may take a while.
  if (host_) host_->Shutdown();
}

}  // namespace arcella::platform
