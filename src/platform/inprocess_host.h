// InProcessHost: a ReplicaHost that runs every replica inside the daemon.
// Reactors are instantiated on threads of their deployment's lane (at most
// executor_threads at once per deployment) and serve calls
// on the caller's thread (one call at a time per replica, replicas in
// parallel); each command replica runs `_start` on a thread of its own.
// Engine limits (fuel, memory cap, deadline) apply per replica.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "platform/events.h"
#include "platform/log_hub.h"
#include "platform/replica.h"
#include "platform/replica_host.h"
#include "platform/run_plan.h"

namespace arcella::platform {

struct InProcessHostOptions {
  // Replicas of one deployment initialised at once (each on a thread of the
  // deployment's own lane, so one deployment's endless `_initialize` never
  // delays another's). 0: the number of CPUs (at least 2).
  size_t executor_threads = 0;
  BackoffOptions backoff;  // restarts of command replicas
};

class InProcessHost : public ReplicaHost {
 public:
  // `load` makes each applied plan runnable (LocalPlanLoader in the daemon).
  // `logs` and `events` may be null; they must outlive the host.
  InProcessHost(PlanLoader load, LogHub* logs, EventBus* events, InProcessHostOptions options = {});
  ~InProcessHost() override;

  Status Apply(const DeploymentPlan& plan, bool started) override;
  Status Remove(const std::string& id) override;
  Result<DeploymentStatus> GetStatus(const std::string& id) const override;
  std::vector<std::string> Deployments() const override;
  Result<CallResult> Call(const std::string& id, const std::string& export_name,
                          const std::vector<std::string>& args,
                          CallControl* control = nullptr) override;
  Result<ValCallResult> CallValues(const std::string& id, const std::string& export_name,
                                   std::vector<component::Val> args,
                                   const ReplicaPin* pin = nullptr) override;
  Status DropResource(const std::string& id, const ReplicaPin& pin, const std::string& resource,
                      uint32_t rep) override;
  void SetLinkCaller(LinkCaller* caller) override { ctx_.links = caller; }
  void Shutdown() override;
  // Whether deployment `id` is applied here (started or not).
  bool Has(const std::string& id) const { return Find(id) != nullptr; }

 private:
  struct Deployment {
    std::mutex apply_mu;    // one Apply/Remove at a time
    mutable std::mutex mu;  // guards the fields below
    std::shared_ptr<const RunPlan> plan;
    bool started = false;
    bool command = false;
    std::vector<std::shared_ptr<Replica>> replicas;  // by index
    // Replicas being stopped by an Apply/Remove (shown by GetStatus while
    // the deployment is stopped, so a slow stop reads `stopping`).
    std::vector<std::shared_ptr<Replica>> retiring;
    uint64_t next = 0;  // round robin
  };
  // The next active replica of `id` (round robin); *plan (if the
  // deployment is started and a reactor) its plan, set even when no replica
  // is active.
  Result<std::shared_ptr<Replica>> Choose(const std::string& id,
                                          std::shared_ptr<const RunPlan>* plan);
  // Replica pin.replica of `id` if it is active (the instance is checked by
  // the guest); Unavailable otherwise.
  Result<std::shared_ptr<Replica>> Pinned(const std::string& id, const ReplicaPin& pin,
                                          std::shared_ptr<const RunPlan>* plan);
  std::shared_ptr<Deployment> Find(const std::string& id) const;
  void Post(std::function<void()> task);
  // Runs `task` on a thread of lane `lane` (created on demand, at most
  // lane_threads_ per lane; more tasks wait in the lane's queue).
  // Unavailable if no thread can be created.
  Status Spawn(const std::string& lane, std::function<void()> task);
  void LaneLoop(const std::string& lane, std::function<void()> task);
  void PublishDeployment(const std::string& id, State s);

  PlanLoader load_;
  ReplicaContext ctx_;
  EventBus* events_;
  LogHub* logs_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Deployment>> deployments_;
  bool shut_down_ = false;

  struct Lane {
    std::deque<std::function<void()>> queue;
    size_t running = 0;  // threads serving the lane
  };
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::map<std::string, Lane> lanes_;
  size_t lane_threads_ = 2;
  size_t threads_ = 0;  // lane threads alive (detached; waited for at destruction)
};

}  // namespace arcella::platform
