#include "worker/routing_host.h"

#include <algorithm>
#include <map>
#include <utility>

namespace arcella::worker {

RoutingHost::RoutingHost(std::unique_ptr<platform::ReplicaHost> main,
                         std::unique_ptr<WorkerHost> workers)
    : main_(std::move(main)), workers_(std::move(workers)) {}

RoutingHost::~RoutingHost() { Shutdown(); }

platform::ReplicaHost* RoutingHost::HostOf(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = where_.find(id);
  return it == where_.end() ? nullptr : it->second;
}

Status RoutingHost::Apply(const platform::DeploymentPlan& plan, bool started) {
  platform::ReplicaHost* to = plan.isolation == platform::Isolation::kMain
                                  ? main_.get()
                                  : static_cast<platform::ReplicaHost*>(workers_.get());
  platform::ReplicaHost* from = HostOf(plan.id);
  if (from != nullptr && from != to) {
    Status st = from->Remove(plan.id);
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    where_[plan.id] = to;
  }
  return to->Apply(plan, started);
}

Status RoutingHost::Remove(const std::string& id) {
  platform::ReplicaHost* h = HostOf(id);
  if (h == nullptr) return Status::NotFound("deployment " + id + " not found");
  Status st = h->Remove(id);
  std::lock_guard<std::mutex> lock(mu_);
  where_.erase(id);
  return st;
}

Result<platform::DeploymentStatus> RoutingHost::GetStatus(const std::string& id) const {
  platform::ReplicaHost* h = HostOf(id);
  if (h == nullptr) return Status::NotFound("deployment " + id + " not found");
  return h->GetStatus(id);
}

std::vector<Result<platform::DeploymentStatus>> RoutingHost::GetStatuses(
    const std::vector<std::string>& ids) const {
  // Each host answers its own deployments together; results keep `ids`' order.
  std::map<platform::ReplicaHost*, std::vector<size_t>> by_host;
  std::vector<Result<platform::DeploymentStatus>> out(ids.size(),
                                                      Result<platform::DeploymentStatus>(
                                                          Status::NotFound("")));
  for (size_t i = 0; i < ids.size(); ++i) {
    platform::ReplicaHost* h = HostOf(ids[i]);
    if (h == nullptr) {
      out[i] = Status::NotFound("deployment " + ids[i] + " not found");
    } else {
      by_host[h].push_back(i);
    }
  }
  for (const auto& [h, idx] : by_host) {
    std::vector<std::string> some;
    for (size_t i : idx) some.push_back(ids[i]);
    auto got = h->GetStatuses(some);
    for (size_t k = 0; k < idx.size(); ++k) out[idx[k]] = std::move(got[k]);
  }
  return out;
}

std::vector<std::string> RoutingHost::Deployments() const {
  std::vector<std::string> out = main_->Deployments();
  for (auto& id : workers_->Deployments()) out.push_back(std::move(id));
  std::sort(out.begin(), out.end());
  return out;
}

Result<platform::CallResult> RoutingHost::Call(const std::string& id,
                                               const std::string& export_name,
                                               const std::vector<std::string>& args,
                                               platform::CallControl* control) {
  platform::ReplicaHost* h = HostOf(id);
  if (h == nullptr) return Status::NotFound("deployment " + id + " not found");
  return h->Call(id, export_name, args, control);
}

void RoutingHost::Shutdown() {
  main_->Shutdown();
  workers_->Shutdown();
  std::lock_guard<std::mutex> lock(mu_);
  where_.clear();
}

std::vector<platform::WorkerInfo> RoutingHost::Workers() const { return workers_->Workers(); }

Result<platform::ValCallResult> RoutingHost::CallValues(const std::string& id,
                                                        const std::string& export_name,
                                                        std::vector<component::Val> args,
                                                        const platform::ReplicaPin* pin) {
  platform::ReplicaHost* h = HostOf(id);
  if (h == nullptr) return Status::NotFound("deployment " + id + " not found");
  return h->CallValues(id, export_name, std::move(args), pin);
}

Status RoutingHost::DropResource(const std::string& id, const platform::ReplicaPin& pin,
                                 const std::string& resource, uint32_t rep) {
  platform::ReplicaHost* h = HostOf(id);
  if (h == nullptr) return Status::Ok();  // gone, and the resource with it
  return h->DropResource(id, pin, resource, rep);
}

void RoutingHost::SetLinkCaller(platform::LinkCaller* caller) {
  main_->SetLinkCaller(caller);
  workers_->SetLinkCaller(caller);
}

bool RoutingHost::RunsComponents(platform::Isolation isolation) const {
  return isolation == platform::Isolation::kMain ? main_->RunsComponents(isolation)
                                                 : workers_->RunsComponents(isolation);
}

}  // namespace arcella::worker
