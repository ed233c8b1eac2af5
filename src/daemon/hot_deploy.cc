#include "daemon/hot_deploy.h"

#include <dirent.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <vector>

#include "common/sha256.h"
#include "platform/file_read.h"
#include "platform/manifest.h"
#include "platform/toml_shape.h"

namespace arcella::daemon {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsWasm(const std::string& name) { return EndsWith(name, ".wasm"); }
bool IsDeployment(const std::string& name) { return EndsWith(name, ".deployment.toml"); }

int64_t MtimeNs(const struct stat& st) {
  return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// What makes a file the same file: the link's and the target's inode and
// mtime, the target's size and mode.
std::string IdentityOf(const struct stat& lst, const struct stat& st) {
  return std::to_string(lst.st_ino) + ":" + std::to_string(MtimeNs(lst)) + ":" +
         std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(MtimeNs(st)) + ":" + std::to_string(st.st_mode);
}

// The identity of `path` now; empty if it is gone.
std::string IdentityNow(const std::string& path) {
  struct stat lst, st;
  if (lstat(path.c_str(), &lst) != 0) return "";
  st = lst;
  if (S_ISLNK(lst.st_mode) && stat(path.c_str(), &st) != 0) return "";
  return IdentityOf(lst, st);
}

// How often a file being installed is checked for deletion or replacement.
constexpr std::chrono::milliseconds kWatchInterval{100};

}  // namespace

HotDeploy::HotDeploy(platform::Platform* platform, std::string dir, uint32_t interval_ms,
                     std::string state_db)
    : platform_(platform),
      dir_(std::move(dir)),
      interval_ms_(interval_ms ? interval_ms : 1000),
      state_db_(std::move(state_db)) {}

HotDeploy::~HotDeploy() { Stop(); }

Status HotDeploy::Open() {
  ARCELLA_ASSIGN_OR_RETURN(store_, platform::StateStore::Open(state_db_));
  ARCELLA_ASSIGN_OR_RETURN(std::vector<platform::HotDeployFile> files,
                           store_->ListHotDeployFiles());
  records_.clear();
  for (auto& f : files) records_[f.file] = std::move(f);
  return Status::Ok();
}

Status HotDeploy::Start() {
  if (Status st = Open(); !st.ok())
    return Status(st.code(), "hot-deploy folder off: " + st.message());
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      ScanOnce();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stop_; });
    }
  });
  return Status::Ok();
}

void HotDeploy::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HotDeploy::ScanOnce() {
  if (!store_) return;
  const uint64_t module_cap = platform_->config().limits.max_module_bytes;
  std::set<std::string> present;
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.empty() || name[0] == '.') continue;
      if (!IsWasm(name) && !IsDeployment(name)) continue;
      const std::string path = PathOf(name);
      struct stat lst, st;
      if (lstat(path.c_str(), &lst) != 0) continue;
      present.insert(name);
      // Only regular files, or symlinks resolving to one, under the cap.
      std::string refusal;
      st = lst;
      const bool link = S_ISLNK(lst.st_mode);
      if (link && stat(path.c_str(), &st) != 0)
        refusal = path + " is a symbolic link to a missing or unreachable file (" +
                  std::strerror(errno) + ")";
      if (refusal.empty() && !S_ISREG(st.st_mode))
        refusal = path + (link ? " resolves to " : " is ") + platform::FileTypeName(st.st_mode) +
                  ", not a regular file";
      const uint64_t cap = IsWasm(name) ? module_cap : platform::kMaxTomlBytes;
      if (refusal.empty() && static_cast<uint64_t>(st.st_size) > cap)
        refusal = path + " is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                  std::to_string(cap) + " bytes" +
                  (IsWasm(name) ? " (limits.max_module_bytes)" : " (TOML files)");
      std::string identity = IdentityOf(lst, st);
      Seen& s = seen_[name];
      if (s.identity != identity) {
        s.identity = identity;
        s.stable = false;
        s.applied = false;
      } else {
        s.stable = true;
      }
      if (!refusal.empty() && !s.applied) {
        s.applied = true;  // logged once per identity, never read
        spdlog::error("hot-deploy: refusing {}", refusal);
      }
    }
    closedir(d);
  }
  // Deleted files first (also those deleted while the daemon was down),
  // then modules, then deployments (which need modules).
  std::set<std::string> gone;
  for (const auto& [name, s] : seen_)
    if (!present.count(name)) gone.insert(name);
  for (const auto& [name, r] : records_)
    if (!present.count(name)) gone.insert(name);
  for (bool wasm : {false, true}) {  // deployments before the modules they use
    for (const auto& name : gone) {
      if (IsWasm(name) != wasm) continue;
      Forget(name);
      seen_.erase(name);
    }
  }
  for (bool wasm : {true, false}) {
    for (auto& [name, s] : seen_) {
      if (!s.stable || s.applied || IsWasm(name) != wasm) continue;
      if (platform::OpenForWritingElsewhere(PathOf(name))) {
        s.stable = false;  // a writer still has it open: a copy in progress
        continue;
      }
      s.applied = true;
      if (wasm) ApplyWasm(name);
      else ApplyDeployment(name);
    }
  }
}

void HotDeploy::Record(const platform::HotDeployFile& f) {
  if (Status st = store_->PutHotDeployFile(f); !st.ok())
    spdlog::error("hot-deploy: {}", st.message());
  records_[f.file] = f;
}

bool HotDeploy::OwnsModule(const std::string& id) {
  auto m = platform_->Inspect(id);
  if (!m.ok()) return false;
  for (const auto& [name, r] : records_)
    if (r.kind == "wasm" && r.module_id == id && r.module_hash == m->record.hash) return true;
  return false;
}

bool HotDeploy::OwnsDeployment(const std::string& id) const {
  for (const auto& [name, r] : records_)
    if (r.deployment_id == id) return true;
  return false;
}

void HotDeploy::Refuse(const std::string& name, const std::string& module_id,
                       const std::string& why) {
  const std::string msg = "hot-deploy: refusing " + PathOf(name) + ": " + why;
  spdlog::warn("{}", msg);
  platform_->events()->Publish(
      {.kind = "module", .id = module_id, .state = "refused", .message = msg});
}

void HotDeploy::ApplyWasm(const std::string& name) {
  const std::string path = PathOf(name);
  const uint64_t cap = platform_->config().limits.max_module_bytes;
  auto rec = records_.find(name);
  std::string file_hash;
  {
    auto bytes = platform::ReadRegularFile(path, {cap, "limits.max_module_bytes"});
    if (!bytes.ok()) {
      spdlog::error("hot-deploy: {}", bytes.status().message());
      return;
    }
    file_hash = Sha256Hex(*bytes);
  }  // freed before Install reads the file again
  // Unchanged since it was applied (e.g. across a restart): adopt it as it
  // is, deployments stopped or scaled by hand included.
  if (rec != records_.end() && rec->second.kind == "wasm" && rec->second.file_hash == file_hash) {
    auto m = platform_->Inspect(rec->second.module_id);
    if (m.ok() && m->record.hash == rec->second.module_hash) return;
  }
  auto manifest = platform::ResolveManifestForBinary(path);
  if (!manifest.ok()) {
    spdlog::error("hot-deploy {}: {}", path, manifest.status().message());
    return;
  }
  const std::string id = manifest->name + "@" + manifest->version;
  // The file used to carry another module: undo that first.
  if (rec != records_.end() && rec->second.module_id != id) {
    Forget(name);
    rec = records_.end();
  }
  const bool exists = platform_->Inspect(id).ok();
  const std::string not_ours =
      "it carries module id " + id +
      ", which was installed by hand, not by the hot-deploy folder; the installed module is left "
      "unchanged (remove it first, or install the file with `arcella-cli install --force`)";
  if (exists && !OwnsModule(id)) {
    Refuse(name, id, not_ours);
    return;
  }
  // Recorded before installing (the module's hash is the file's sha256): a
  // daemon killed between the install and the record must not find its own
  // module "installed by hand" at the next start.
  platform::HotDeployFile f;
  f.file = name;
  f.kind = "wasm";
  f.file_hash = file_hash;
  f.module_id = id;
  f.module_hash = file_hash;
  if (rec != records_.end()) f.deployment_id = rec->second.deployment_id;
  std::optional<platform::HotDeployFile> previous;
  if (rec != records_.end()) previous = rec->second;
  Record(f);
  auto info = InstallWatched(path, /*force=*/exists, seen_[name].identity);
  if (!info.ok() && info.status().code() == StatusCode::kCancelled) {
    // Nothing was installed: the record goes back to what it was.
    if (previous) {
      Record(*previous);
    } else {
      if (Status st = store_->RemoveHotDeployFile(name); !st.ok())
        spdlog::error("hot-deploy: {}", st.message());
      records_.erase(name);
    }
    spdlog::info("hot-deploy: install of {} cancelled ({})", path, info.status().message());
    return;
  }
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kAlreadyExists) Refuse(name, id, not_ours);
    else spdlog::error("hot-deploy {}: {}", path, info.status().message());
    return;
  }
  if (info->record.hash != file_hash) {  // the file changed in between
    f.file_hash = f.module_hash = info->record.hash;
    Record(f);
  }
  spdlog::info("hot-deploy: installed {} from {}", id, path);
  // Deployment files in the folder that name this module take over.
  for (const auto& [p, s] : seen_) {
    if (!IsDeployment(p)) continue;
    auto text = platform::ReadRegularFileText(PathOf(p), {platform::kMaxTomlBytes, "TOML files"});
    if (!text.ok()) continue;
    auto spec = platform::ParseDeploymentSpec(*text, PathOf(p));
    if (spec.ok() && spec->module_id == id) {
      Record(f);
      return;
    }
  }
  if (!info->deployments.empty()) {
    // Already deployed: the stored desired state (started or stopped,
    // replicas) stands.
    Record(f);
    return;
  }
  platform::DeploymentSpec spec;
  spec.module_id = id;
  f.deployment_id = spec.id();  // recorded first, as above
  Record(f);
  auto v = platform_->Deploy(spec, platform::KeyStyle::kToml, "hot-deploy:" + path);
  if (!v.ok()) {
    f.deployment_id.clear();
    Record(f);
    spdlog::error("hot-deploy {}: {}", path, v.status().message());
    return;
  }
  auto st = platform_->Start(v->record.id, "");
  if (!st.ok()) spdlog::error("hot-deploy {}: {}", path, st.status().message());
}

Result<platform::ModuleInfo> HotDeploy::InstallWatched(const std::string& path, bool force,
                                                       const std::string& identity) {
  std::atomic<bool> cancel{false};
  std::string why;
  bool done = false;
  // Watches the file (and Stop()) while the install runs on this thread.
  std::thread watch([&] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!done) {
      if (stop_) {
        why = "the hot-deploy folder is stopping";
      } else if (std::string now = IdentityNow(path); now != identity) {
        why = now.empty() ? path + " was deleted during its compile"
                          : path + " was replaced during its compile";
      }
      if (!why.empty()) {
        spdlog::info("hot-deploy: {}; cancelling its install", why);
        cancel.store(true);
        return;
      }
      cv_.wait_for(lock, kWatchInterval, [&] { return done || stop_; });
    }
  });
  platform::Platform::CompileHooks hooks;
  hooks.cancel = &cancel;
  auto info = platform_->Install(path, force, "", {}, hooks);
  {
    std::lock_guard<std::mutex> lock(mu_);
    done = true;
  }
  cv_.notify_all();
  watch.join();
  if (!info.ok() && info.status().code() == StatusCode::kCancelled && !why.empty())
    return Status::Cancelled(why);
  return info;
}

void HotDeploy::ApplyDeployment(const std::string& name) {
  const std::string path = PathOf(name);
  auto text = platform::ReadRegularFileText(path, {platform::kMaxTomlBytes, "TOML files"});
  if (!text.ok()) {
    spdlog::error("hot-deploy: {}", text.status().message());
    return;
  }
  auto spec = platform::ParseDeploymentSpec(*text, path);
  if (!spec.ok()) {
    spdlog::error("hot-deploy: {}", spec.status().message());
    return;
  }
  const std::string hash = Sha256Hex(*text);
  const std::string id = spec->id();
  auto rec = records_.find(name);
  const bool exists = platform_->StatusOf(id).ok();
  // Unchanged since it was applied (e.g. across a restart): keep the
  // deployment as the user left it (stopped, scaled).
  if (rec != records_.end() && rec->second.file_hash == hash && rec->second.deployment_id == id &&
      exists)
    return;
  if (exists && !OwnsDeployment(id)) {
    Refuse(name, spec->module_id,
           "deployment " + id +
               " was created by hand, not by the hot-deploy folder; it is left unchanged "
               "(undeploy it first)");
    return;
  }
  // A changed file replaces its deployment.
  if (rec != records_.end() && !rec->second.deployment_id.empty())
    (void)platform_->Undeploy(rec->second.deployment_id, "");
  if (exists) (void)platform_->Undeploy(id, "");
  // A default deployment made for a bare .wasm gives way to the file.
  for (auto& [n, r] : records_) {
    if (r.kind != "wasm" || r.module_id != spec->module_id || r.deployment_id.empty()) continue;
    (void)platform_->Undeploy(r.deployment_id, "");
    platform::HotDeployFile updated = r;
    updated.deployment_id.clear();
    if (Status st = store_->PutHotDeployFile(updated); !st.ok())
      spdlog::error("hot-deploy: {}", st.message());
    r = updated;
  }
  // Recorded before deploying, so a crash in between leaves it ours.
  platform::HotDeployFile f;
  f.file = name;
  f.kind = "deployment";
  f.file_hash = hash;
  f.module_id = spec->module_id;
  f.deployment_id = id;
  Record(f);
  auto v = platform_->Deploy(*spec, platform::KeyStyle::kToml, "hot-deploy:" + path);
  if (!v.ok()) {
    spdlog::error("hot-deploy: {}", v.status().message());
    if (Status st = store_->RemoveHotDeployFile(name); !st.ok())
      spdlog::error("hot-deploy: {}", st.message());
    records_.erase(name);
    // Retry on the next scan if the module is not installed yet.
    if (v.status().code() == StatusCode::kNotFound) seen_[name].applied = false;
    return;
  }
  auto st = platform_->Start(id, "");
  if (!st.ok()) spdlog::error("hot-deploy {}: {}", path, st.status().message());
  else spdlog::info("hot-deploy: deployed and started {} from {}", id, path);
}

void HotDeploy::Forget(const std::string& name) {
  auto it = records_.find(name);
  if (it == records_.end()) return;
  const platform::HotDeployFile r = it->second;
  const std::string path = PathOf(name);
  if (!r.deployment_id.empty()) {
    auto u = platform_->Undeploy(r.deployment_id, "");
    spdlog::info("hot-deploy: {} deleted, undeployed {}{}", path, r.deployment_id,
                 u.ok() ? "" : " (" + u.status().message() + ")");
  }
  if (r.kind == "wasm" && !r.module_id.empty()) {
    // Only a module still as this file installed it is removed; one still
    // deployed (by a deployment file or by hand) stays.
    auto m = platform_->Inspect(r.module_id);
    if (m.ok() && m->record.hash == r.module_hash) {
      Status st = platform_->RemoveModule(r.module_id);
      if (st.ok()) spdlog::info("hot-deploy: {} deleted, removed {}", path, r.module_id);
      else spdlog::info("hot-deploy: {} deleted; {} kept: {}", path, r.module_id, st.message());
    }
  }
  if (Status st = store_->RemoveHotDeployFile(name); !st.ok())
    spdlog::error("hot-deploy: {}", st.message());
  records_.erase(name);
}

}  // namespace arcella::daemon
