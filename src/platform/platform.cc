#include "platform/platform.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstring>

#include <fstream>
#include <iterator>

#include "engine/loader.h"
#include "platform/blob_store.h"
#include "platform/file_read.h"
#include "platform/inprocess_host.h"

namespace arcella::platform {
namespace {

bool IsModuleTarget(const std::string& target) { return target.find('/') == std::string::npos; }

}  // namespace

Platform::Platform(Home home, Config config, std::unique_ptr<StateStore> store,
                   std::unique_ptr<BlobStore> blobs, EventBus* events, LogHub* logs)
    : home_(std::move(home)),
      config_(std::move(config)),
      store_(std::move(store)),
      blobs_(std::move(blobs)),
      events_(events),
      logs_(logs) {
  InProcessHostOptions ho;
  ho.executor_threads = config_.daemon.executor_threads;
  host_ = std::make_unique<InProcessHost>(logs_, events_, ho);
}

Platform::~Platform() { Shutdown(); }

Result<std::unique_ptr<Platform>> Platform::Open(const Home& home, const Config& config,
                                                 EventBus* events, LogHub* logs) {
  (void)engine::PrepareAotCache({.cache_dir = home.cache_dir(), .cc = {}});  // key, stale compile folders; errors show at compile
  ARCELLA_ASSIGN_OR_RETURN(auto store, StateStore::Open(home.state_db()));
  ARCELLA_ASSIGN_OR_RETURN(BlobStore blobs, BlobStore::Open(home.modules_dir()));
  return std::unique_ptr<Platform>(
      new Platform(home, config, std::move(store), std::make_unique<BlobStore>(std::move(blobs)),
                   events, logs));
}

void Platform::Publish(const std::string& kind, const std::string& id, const std::string& state,
                       const std::string& message) {
  if (events_) events_->Publish(Event{0, kind, id, state, message});
}

Result<std::shared_ptr<const engine::Module>> Platform::CompiledModule(const ModuleRecord& m,
                                                                       engine::Metering metering) {
  auto key = std::make_pair(m.hash, static_cast<int>(metering));
  if (auto it = compiled_.find(key); it != compiled_.end()) return it->second;
  if (m.kind != "core")
    return Status::Unsupported(m.id + " is a component; running components comes with the "
                               "Component Model milestone");
  ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, blobs_->Get(m.hash));
  engine::CompileOptions co;
  co.metering = metering;
  co.cache_dir = home_.cache_dir();
  auto mod = engine::Module::Compile(bytes, co);
  if (!mod.ok()) return mod.status().WithContext("compiling " + m.id);
  compiled_[key] = *mod;
  return *mod;
}

Result<ModuleInfo> Platform::Install(const std::string& path, bool force,
                                     const std::string& manifest_text, const Progress& progress) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (shut_down_) return Status::FailedPrecondition("the daemon is shutting down");
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
  ARCELLA_ASSIGN_OR_RETURN(
      std::vector<uint8_t> bytes,
      ReadRegularFile(path, {config_.limits.max_module_bytes, "limits.max_module_bytes"}));
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

  if (existing.ok() && existing->kind != (engine::IsComponentBinary(bytes) ? "component" : "core")) {
    auto deps = store_->ListDeployments(rec.id);
    if (deps.ok() && !deps->empty())
      return Status::FailedPrecondition("module " + rec.id + " is deployed as a " + existing->kind +
                                        "; undeploy it before replacing it with a " +
                                        (existing->kind == "core" ? "component" : "core module"));
  }
  std::shared_ptr<const engine::Module> compiled;
  if (engine::IsComponentBinary(bytes)) {
    rec.kind = "component";
    rec.tier = "none";
  } else {
    rec.kind = "core";
    // Validate and AOT-compile now, so deploy/start are fast and a broken
    // module never gets installed.
    step("compile");
    engine::CompileOptions co;
    co.metering = engine::Metering::kInterrupt;
    co.cache_dir = home_.cache_dir();
    auto mod = engine::Module::Compile(bytes, co);
    if (!mod.ok())
      return Status::InvalidArgument(path + ": " + mod.status().message());
    compiled = *mod;
    rec.tier = engine::TierName(compiled->tier());
  }
  step("store");
  ARCELLA_ASSIGN_OR_RETURN(rec.hash, blobs_->Put(bytes));
  if (compiled) compiled_[{rec.hash, static_cast<int>(engine::Metering::kInterrupt)}] = compiled;
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
  spdlog::info("installed {} ({}, {} bytes, tier {}){}", rec.id, rec.kind, rec.size, rec.tier,
               manifest_file.empty() ? "" : " manifest " + manifest_file);
  Publish("module", rec.id, "installed");
  // A forced reinstall restarts the module's running deployments on the new code.
  if (existing.ok()) {
    auto deps = store_->ListDeployments(rec.id);
    if (deps.ok())
      for (const auto& d : *deps) (void)ApplyRecord(d);
  }
  step("done");
  return Inspect(rec.id);
}

void Platform::DropBlob(const std::string& hash) {
  (void)blobs_->Remove(hash);
  for (auto it = compiled_.begin(); it != compiled_.end();)
    it = it->first.first == hash ? compiled_.erase(it) : std::next(it);
}

Result<std::vector<ModuleRecord>> Platform::ListModules() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return store_->ListModules();
}

Result<ModuleInfo> Platform::Inspect(const std::string& module_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  ModuleInfo info;
  ARCELLA_ASSIGN_OR_RETURN(info.record, store_->GetModule(module_id));
  ARCELLA_ASSIGN_OR_RETURN(info.manifest,
                           ParseComponentManifest(info.record.manifest_toml, module_id));
  if (info.record.kind == "core") {
    auto mod = CompiledModule(info.record, engine::Metering::kInterrupt);
    if (mod.ok()) {
      info.imports = (*mod)->imports();
      info.exports = (*mod)->exports();
    }
  }
  ARCELLA_ASSIGN_OR_RETURN(auto deps, store_->ListDeployments(module_id));
  for (const auto& d : deps) info.deployments.push_back(d.id);
  return info;
}

Status Platform::RemoveModule(const std::string& module_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
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
  plan.max_memory_bytes = o.max_memory_bytes   ? *o.max_memory_bytes
                          : mf.max_memory_bytes ? *mf.max_memory_bytes
                                                : config_.limits.max_memory_bytes;
  plan.timeout = o.timeout ? *o.timeout : mf.timeout ? *mf.timeout : config_.limits.timeout;
  // Grants: only what the operator granted within the policy, never the
  // home; re-checked at every apply (a symlink may have changed).
  auto grants = ResolveGrants(mf, spec, config_.policy, home_.root(), spec.origin,
                              KeyStyle::kToml, d.id);
  grants_[d.id] = grants.ok() ? *grants : NothingGranted(mf, spec, grants.status().message());
  if (!grants.ok()) return grants.status();
  for (const DirGrant& g : grants->dirs)
    plan.dirs.push_back({g.real_host, g.guest, g.read_only, /*no_symlinks=*/true});
  plan.env = grants->env;
  plan.restart = o.restart ? *o.restart : RestartPolicy::kOnFailure;
  ARCELLA_ASSIGN_OR_RETURN(
      plan.module,
      CompiledModule(m, plan.fuel ? engine::Metering::kFuel : engine::Metering::kInterrupt));
  return plan;
}

Status Platform::ApplyRecord(const DeploymentRecord& d) {
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
  if (st.ok()) {
    errors_.erase(d.id);
  } else {
    errors_[d.id] = st.message();
    spdlog::error("deployment {}: {}", d.id, st.message());
    Publish("deployment", d.id, "failed", st.message());
  }
  return st;
}

Status Platform::Reconcile() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  ARCELLA_ASSIGN_OR_RETURN(auto deps, store_->ListDeployments());
  size_t failed = 0;
  for (const auto& d : deps)
    if (!ApplyRecord(d).ok()) ++failed;
  spdlog::info("reconciled {} deployment(s){}", deps.size(),
               failed ? ", " + std::to_string(failed) + " failed" : "");
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
  DeploymentView v;
  v.record = d;
  auto spec = ParseDeploymentSpec(d.spec_toml, d.id);
  if (spec.ok()) v.spec = *spec;
  v.spec.replicas = d.replicas;
  auto st = host_->GetStatus(d.id);
  if (st.ok()) {
    v.state = st->state;
    v.replicas = st->replicas;
  } else {
    v.state = State::kInstalled;
  }
  if (auto it = errors_.find(d.id); it != errors_.end()) {
    v.state = State::kFailed;
    v.error = it->second;
  }
  if (auto it = grants_.find(d.id); it != grants_.end()) v.grants = it->second;
  return v;
}

Result<DeploymentView> Platform::Deploy(const DeploymentSpec& spec_in, KeyStyle style,
                                        const std::string& origin, GrantOrigin grant_origin) {
  DeploymentSpec spec = spec_in;
  spec.origin = grant_origin;  // who asks, never what a file claims
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (shut_down_) return Status::FailedPrecondition("the daemon is shutting down");
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
  if (m->kind != "core")
    return Status::Unsupported(spec.module_id +
                               " is a component; running components comes with the Component "
                               "Model milestone");
  if (auto mf = ParseComponentManifest(m->manifest_toml, m->id); mf.ok()) {
    auto grants = ResolveGrants(*mf, spec, config_.policy, home_.root(), grant_origin, style, origin);
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
  ARCELLA_ASSIGN_OR_RETURN(d, store_->GetDeployment(d.id));
  (void)ApplyRecord(d);
  Publish("deployment", d.id, "resolved");
  return ViewOf(d);
}

Result<std::vector<DeploymentView>> Platform::SetDesired(const std::string& target,
                                                         const std::string& group,
                                                         Desired desired) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (shut_down_ && desired == Desired::kStarted)
    return Status::FailedPrecondition("the daemon is shutting down");
  ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, group));
  std::vector<DeploymentView> out;
  for (auto& d : deps) {
    ARCELLA_RETURN_IF_ERROR(store_->UpdateDeployment(d.id, std::nullopt, desired));
    d.desired = desired;
    (void)ApplyRecord(d);
    out.push_back(ViewOf(d));
  }
  return out;
}

Result<std::vector<DeploymentView>> Platform::Start(const std::string& target,
                                                    const std::string& group) {
  return SetDesired(target, group, Desired::kStarted);
}

Result<std::vector<DeploymentView>> Platform::Stop(const std::string& target,
                                                   const std::string& group) {
  return SetDesired(target, group, Desired::kStopped);
}

Result<std::vector<DeploymentView>> Platform::Scale(const std::string& target,
                                                    const std::string& group, uint32_t replicas) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (shut_down_) return Status::FailedPrecondition("the daemon is shutting down");
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
  std::vector<DeploymentView> out;
  for (auto& d : deps) {
    ARCELLA_RETURN_IF_ERROR(store_->UpdateDeployment(d.id, replicas, std::nullopt));
    d.replicas = replicas;
    (void)ApplyRecord(d);
    out.push_back(ViewOf(d));
  }
  return out;
}

Result<std::vector<std::string>> Platform::Undeploy(const std::string& target,
                                                    const std::string& group) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, group));
  std::vector<std::string> out;
  for (const auto& d : deps) {
    ARCELLA_RETURN_IF_ERROR(store_->RemoveDeployment(d.id));
    Status st = host_->Remove(d.id);
    if (!st.ok() && st.code() != StatusCode::kNotFound)
      spdlog::warn("undeploy {}: {}", d.id, st.message());
    errors_.erase(d.id);
    grants_.erase(d.id);
    if (logs_) logs_->Forget(d.id, 0);
    Publish("deployment", d.id, "uninstalled");
    out.push_back(d.id);
  }
  return out;
}

Result<std::vector<DeploymentView>> Platform::StatusOf(const std::string& target) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, ""));
  std::vector<DeploymentView> out;
  out.reserve(deps.size());
  for (const auto& d : deps) out.push_back(ViewOf(d));
  return out;
}

Result<CallResult> Platform::Call(const std::string& target, const std::string& export_name,
                                  const std::vector<std::string>& args,
                                  CallControl* control) {
  std::string id;
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (shut_down_) return Status::FailedPrecondition("the daemon is shutting down");
    ARCELLA_ASSIGN_OR_RETURN(auto deps, Select(target, ""));
    // A module target spreads calls over its started deployments in turn;
    // the host then balances over the replicas of the chosen one.
    std::vector<std::string> started;
    for (const auto& d : deps)
      if (d.desired == Desired::kStarted) started.push_back(d.id);
    if (started.empty())
      return Status::FailedPrecondition(target + " is not started (start it with `arcella-cli start " +
                                        target + "`)");
    id = started[call_turn_[target]++ % started.size()];
  }
  // Outside the platform lock: a long call must not block management.
  return host_->Call(id, export_name, args, control);
}

void Platform::Shutdown() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (host_) host_->Shutdown();
}

}  // namespace arcella::platform
