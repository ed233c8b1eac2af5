// RoutingHost: the daemon's ReplicaHost. Sends each deployment to the host
// its plan's isolation names: `main` to the in-daemon host (no IPC),
// `worker` to the WorkerHost (its group's arcella-worker process). A
// deployment whose isolation changes is removed from the old host first.
//
// Thread-safety: thread-safe; calls for different deployments never wait for
// each other here.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "platform/replica_host.h"
#include "worker/worker_host.h"

namespace arcella::worker {

class RoutingHost : public platform::ReplicaHost {
 public:
  // Takes both hosts (neither may be null).
  RoutingHost(std::unique_ptr<platform::ReplicaHost> main, std::unique_ptr<WorkerHost> workers);
  ~RoutingHost() override;

  Status Apply(const platform::DeploymentPlan& plan, bool started) override;
  Status Remove(const std::string& id) override;
  Result<platform::DeploymentStatus> GetStatus(const std::string& id) const override;
  std::vector<Result<platform::DeploymentStatus>> GetStatuses(
      const std::vector<std::string>& ids) const override;
  std::vector<std::string> Deployments() const override;
  Result<platform::CallResult> Call(const std::string& id, const std::string& export_name,
                                    const std::vector<std::string>& args,
                                    platform::CallControl* control = nullptr) override;
  void Shutdown() override;
  std::vector<platform::WorkerInfo> Workers() const override;
  bool RunsComponents(platform::Isolation isolation) const override;
  Result<platform::ValCallResult> CallValues(const std::string& id, const std::string& export_name,
                                             std::vector<component::Val> args,
                                             const platform::ReplicaPin* pin = nullptr) override;
  Status DropResource(const std::string& id, const platform::ReplicaPin& pin,
                      const std::string& resource, uint32_t rep) override;
  void SetLinkCaller(platform::LinkCaller* caller) override;

  WorkerHost* workers() const { return workers_.get(); }

 private:
  platform::ReplicaHost* HostOf(const std::string& id) const;

  std::unique_ptr<platform::ReplicaHost> main_;
  std::unique_ptr<WorkerHost> workers_;
  mutable std::mutex mu_;
  std::map<std::string, platform::ReplicaHost*> where_;
};

}  // namespace arcella::worker
