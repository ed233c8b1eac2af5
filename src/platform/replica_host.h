// ReplicaHost: where the replicas of deployments live and run. The platform
// turns desired state into DeploymentPlans and applies them here; the host
// creates, starts, stops and scales replicas and serves calls.
//
// Implementations: InProcessHost (replicas on the daemon's own threads,
// inprocess_host.h), WorkerHost (replicas in `arcella-worker` processes, one
// per group, worker/worker_host.h) and RoutingHost (sends each plan to one
// of them by its isolation, worker/routing_host.h). The platform takes its
// host from outside (Platform::Open), so tests can give it their own.
//
// A replica is "<deployment id>#<index>", index 0..replicas-1. What it runs
// depends on the module:
//  - command (exports `_start`): runs `_start` once per replica with WASI,
//    then the restart policy decides (never / on-failure / always, backoff);
//  - reactor (no `_start`): instantiated once (`_initialize` if exported) and
//    kept to serve Call(), one call at a time per replica.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "component/types.h"
#include "component/value.h"
#include "engine/engine.h"
#include "platform/deployment_plan.h"
#include "platform/link_caller.h"
#include "platform/spec.h"

namespace arcella::platform {

struct ReplicaStatus {
  uint32_t index = 0;
  State state = State::kResolved;    // starting, active, stopping, failed, resolved
  uint32_t restarts = 0;             // runs after the first (commands)
  std::optional<int32_t> exit_code;  // of the last run (commands)
  std::string last_error;            // last trap or instantiation error
};

struct DeploymentStatus {
  std::string id;
  bool started = false;  // desired state as last applied
  bool command = false;  // module is a command (_start)
  State state = State::kResolved;
  std::vector<ReplicaStatus> replicas;  // by index
};

// Lets the caller of a call abandon it (its ALME client cancelled it or went
// away). Cancel() wakes a call still waiting for its replica, or interrupts
// the guest running it (the call then ends with an interrupted trap).
// Thread-safe; the caller owns it and keeps it alive across the call.
class CallControl {
 public:
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_.exchange(true)) return;
    if (hook_) hook_();
  }
  bool cancelled() const { return cancelled_.load(); }
  // Sets what Cancel() does (run at once if already cancelled). The hook runs
  // under this object's lock: it must be short and must not call back in.
  void Arm(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    hook_ = std::move(hook);
    if (cancelled_.load() && hook_) hook_();
  }
  // Once this returns, the hook never runs again.
  void Disarm() {
    std::lock_guard<std::mutex> lock(mu_);
    hook_ = nullptr;
  }

 private:
  std::mutex mu_;
  std::atomic<bool> cancelled_{false};
  std::function<void()> hook_;
};

struct CallResult {
  std::string replica;               // "<deployment id>#<index>" that served it
  std::vector<std::string> results;  // FormatValue() / WAVE of each result
  // Set if the guest trapped; `results` is empty then. error() says it.
  std::optional<engine::Trap> trap;
  // A component's result as a typed value of `type` (null type: none).
  std::optional<component::Val> value{};
  component::TypeRef type{};
  // Components called with values (a worker's handle-form call): the id of
  // the instance that served it (GuestResult::instance); 0 otherwise.
  uint64_t instance = 0;
  std::string error() const { return trap ? "trap: " + trap->ToString() : std::string(); }
};

// The replica instance a call must reach: the holder of a resource handle
// a link passes (docs/COMPONENTS.md "Resources across links").
struct ReplicaPin {
  uint32_t replica = 0;   // its index
  uint64_t instance = 0;  // the host's id of the guest instance (never 0)
  uint64_t epoch = 0;     // the host's incarnation of its process (a worker's; 0 in the daemon)
};

struct ValCallResult {
  std::string replica;
  ReplicaPin served;  // who served it (components)
  std::vector<component::Val> results;
  std::optional<engine::Trap> trap;
};

// One group's worker process (hosts that run replicas in workers), for
// `status`.
struct WorkerInfo {
  std::string group;
  int64_t pid = 0;        // 0: not running
  std::string state;      // "running", "restarting", "failed", "stopped"
  uint32_t restarts = 0;  // unplanned restarts of the group's worker
  uint64_t rss_bytes = 0;
  uint32_t replicas = 0;  // wanted by its started deployments
  std::string last_exit;  // e.g. "killed by signal 9 (SIGKILL)"
  std::string sandbox;    // what the worker reported when it started
  std::string cgroup;     // its memory cgroup directory ("" if none)
};

class ReplicaHost {
 public:
  virtual ~ReplicaHost() = default;

  // Makes deployment `plan.id` match the plan. Idempotent. started=false:
  // every replica stops (the deployment is kept, resolved). started=true:
  // missing replicas are created and started, those with index >= replicas
  // stop, surviving replicas keep running untouched; failed replicas are
  // retried. A different module restarts all replicas.
  virtual Status Apply(const DeploymentPlan& plan, bool started) = 0;

  // Stops every replica (running calls and runs are interrupted), waits for
  // them, and forgets the deployment. NotFound if unknown.
  virtual Status Remove(const std::string& id) = 0;

  virtual Result<DeploymentStatus> GetStatus(const std::string& id) const = 0;
  // GetStatus of each of `ids`, in order; a host may answer them together
  // (a worker host: one round trip per worker).
  virtual std::vector<Result<DeploymentStatus>> GetStatuses(
      const std::vector<std::string>& ids) const {
    std::vector<Result<DeploymentStatus>> out;
    out.reserve(ids.size());
    for (const auto& id : ids) out.push_back(GetStatus(id));
    return out;
  }
  virtual std::vector<std::string> Deployments() const = 0;

  // Calls function `export_name` on the next active replica (round robin).
  // `args` are parsed by the export's signature (value_text.h). Errors:
  // NotFound (deployment or export), InvalidArgument (arguments),
  // FailedPrecondition (stopped, a command module, or no active replica).
  // A trap is not an error Status: it is CallResult::trap. `control` (may
  // be null) cancels the call: FailedPrecondition if it had not started,
  // an interrupted trap if it had.
  virtual Result<CallResult> Call(const std::string& id, const std::string& export_name,
                                  const std::vector<std::string>& args,
                                  CallControl* control = nullptr) = 0;

  // As Call, with a component export's arguments and results as values (a
  // link's call: docs/COMPONENTS.md "Links"). Resource handles in them are
  // the provider's representations. `pin` (may be null): only that replica
  // instance may serve the call; Unavailable once it is gone (stopped,
  // restarted, replaced after a trap). Unsupported where the host cannot.
  virtual Result<ValCallResult> CallValues(const std::string& id, const std::string& export_name,
                                           std::vector<component::Val> args,
                                           const ReplicaPin* pin = nullptr) {
    (void)id;
    (void)export_name;
    (void)args;
    (void)pin;
    return Status::Unsupported("calls with values");
  }
  // Drops a resource handle a CallValues result gave (an own<R> of the
  // provider's exported resource `resource`, "IFACE#name", representation
  // `rep`): its destructor runs in the pinned replica instance. Ok if that
  // instance is gone already (the resource went with it).
  virtual Status DropResource(const std::string& id, const ReplicaPin& pin,
                              const std::string& resource, uint32_t rep) {
    (void)id;
    (void)pin;
    (void)resource;
    (void)rep;
    return Status::Unsupported("resource handles");
  }
  // Where the guests' linked imports go. Set once, before any Apply; must
  // outlive the host.
  virtual void SetLinkCaller(LinkCaller* caller) { (void)caller; }

  // Removes every deployment. Later calls fail with FailedPrecondition.
  virtual void Shutdown() = 0;
  // The worker processes behind this host (none for in-daemon hosts).
  // False if this host cannot run component plans with `isolation`.
  virtual bool RunsComponents(Isolation isolation) const {
    (void)isolation;
    return true;
  }
  virtual std::vector<WorkerInfo> Workers() const { return {}; }
};

}  // namespace arcella::platform
