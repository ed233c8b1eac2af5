#include "daemon/hot_deploy.h"

#include <dirent.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <set>
#include <vector>

#include "platform/manifest.h"

namespace arcella::daemon {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

HotDeploy::HotDeploy(platform::Platform* platform, std::string dir, uint32_t interval_ms)
    : platform_(platform), dir_(std::move(dir)), interval_ms_(interval_ms ? interval_ms : 1000) {}

HotDeploy::~HotDeploy() { Stop(); }

void HotDeploy::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      ScanOnce();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stop_; });
    }
  });
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
  std::set<std::string> present;
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.empty() || name[0] == '.') continue;
      if (!EndsWith(name, ".wasm") && !EndsWith(name, ".deployment.toml")) continue;
      std::string path = dir_ + "/" + name;
      struct stat st;
      if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      present.insert(path);
      Seen& s = seen_[path];
      int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
      if (s.size != st.st_size || s.mtime_ns != mtime) {
        s.size = st.st_size;
        s.mtime_ns = mtime;
        s.stable = false;
        s.applied = false;
      } else {
        s.stable = true;
      }
    }
    closedir(d);
  }
  // Deleted files first, then modules, then deployments (which need modules).
  std::vector<std::string> gone;
  for (const auto& [path, s] : seen_)
    if (!present.count(path)) gone.push_back(path);
  for (const auto& path : gone) {
    Forget(path);
    seen_.erase(path);
  }
  for (auto& [path, s] : seen_)
    if (s.stable && !s.applied && EndsWith(path, ".wasm")) {
      s.applied = true;
      ApplyWasm(path);
    }
  for (auto& [path, s] : seen_)
    if (s.stable && !s.applied && EndsWith(path, ".deployment.toml")) {
      s.applied = true;
      ApplyDeployment(path);
    }
}

void HotDeploy::ApplyWasm(const std::string& path) {
  auto info = platform_->Install(path, /*force=*/true, "");
  if (!info.ok()) {
    spdlog::error("hot-deploy {}: {}", path, info.status().message());
    return;
  }
  const std::string id = info->record.id;
  modules_[path] = id;
  spdlog::info("hot-deploy: installed {} from {}", id, path);
  // Deployment files in the folder that name this module take over.
  for (const auto& [p, s] : seen_) {
    if (!EndsWith(p, ".deployment.toml")) continue;
    auto spec = platform::LoadDeploymentSpec(p);
    if (spec.ok() && spec->module_id == id) return;
  }
  if (!info->deployments.empty()) {
    // Already deployed (e.g. after a daemon restart): the stored desired
    // state (started or stopped, replicas) stands.
    return;
  }
  platform::DeploymentSpec spec;
  spec.module_id = id;
  auto v = platform_->Deploy(spec, platform::KeyStyle::kToml, path);
  if (!v.ok()) {
    spdlog::error("hot-deploy {}: {}", path, v.status().message());
    return;
  }
  implicit_[path] = v->record.id;
  auto st = platform_->Start(v->record.id, "");
  if (!st.ok()) spdlog::error("hot-deploy {}: {}", path, st.status().message());
}

void HotDeploy::ApplyDeployment(const std::string& path) {
  auto spec = platform::LoadDeploymentSpec(path);
  if (!spec.ok()) {
    spdlog::error("hot-deploy: {}", spec.status().message());
    return;
  }
  const std::string id = spec->id();
  // Already deployed with this very spec (e.g. after a daemon restart): keep
  // it as the user left it (stopped, scaled).
  if (auto cur = platform_->StatusOf(id); cur.ok() && cur->size() == 1) {
    platform::DeploymentSpec stored = (*cur)[0].spec;
    stored.replicas = spec->replicas;
    if (platform::ToToml(stored) == platform::ToToml(*spec) &&
        !deployments_.count(path)) {
      deployments_[path] = id;
      return;
    }
  }
  // A changed file replaces its deployment.
  if (auto it = deployments_.find(path); it != deployments_.end())
    (void)platform_->Undeploy(it->second, "");
  auto existing = platform_->StatusOf(id);
  if (existing.ok()) (void)platform_->Undeploy(id, "");
  // A default deployment made for a bare .wasm gives way to the file.
  for (auto it = implicit_.begin(); it != implicit_.end();) {
    auto mit = modules_.find(it->first);
    if (mit != modules_.end() && mit->second == spec->module_id) {
      (void)platform_->Undeploy(it->second, "");
      it = implicit_.erase(it);
    } else {
      ++it;
    }
  }
  auto v = platform_->Deploy(*spec, platform::KeyStyle::kToml, path);
  if (!v.ok()) {
    spdlog::error("hot-deploy: {}", v.status().message());
    // Retry on the next scan if the module is not installed yet.
    if (v.status().code() == StatusCode::kNotFound) seen_[path].applied = false;
    return;
  }
  deployments_[path] = id;
  auto st = platform_->Start(id, "");
  if (!st.ok()) spdlog::error("hot-deploy {}: {}", path, st.status().message());
  else spdlog::info("hot-deploy: deployed and started {} from {}", id, path);
}

void HotDeploy::Forget(const std::string& path) {
  if (auto it = deployments_.find(path); it != deployments_.end()) {
    auto r = platform_->Undeploy(it->second, "");
    spdlog::info("hot-deploy: {} deleted, undeployed {}{}", path, it->second,
                 r.ok() ? "" : " (" + r.status().message() + ")");
    deployments_.erase(it);
  }
  if (auto it = implicit_.find(path); it != implicit_.end()) {
    (void)platform_->Undeploy(it->second, "");
    implicit_.erase(it);
  }
  if (auto it = modules_.find(path); it != modules_.end()) {
    // Only what this file did is undone (its default deployment, above);
    // a module still deployed by a *.deployment.toml or by hand stays.
    Status st = platform_->RemoveModule(it->second);
    if (st.ok())
      spdlog::info("hot-deploy: {} deleted, removed {}", path, it->second);
    else
      spdlog::info("hot-deploy: {} deleted; {} kept: {}", path, it->second, st.message());
    modules_.erase(it);
  }
}

}  // namespace arcella::daemon
