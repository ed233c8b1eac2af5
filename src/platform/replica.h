// Replica: one running copy of a deployment's module or component inside
// this process (used by InProcessHost), as a Guest (guest.h). A command
// replica owns a thread that runs `_start` / `wasi:cli/run` and applies the restart policy with
// exponential backoff; a reactor replica is instantiated on the host's executor and then serves
// Call() one call at a time. State changes go to the EventBus, guest output
// and platform messages to the LogHub.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "platform/backoff.h"
#include "platform/events.h"
#include "platform/guest.h"
#include "platform/log_hub.h"
#include "platform/replica_host.h"
#include "platform/run_plan.h"

namespace arcella::platform {

// What replicas share with their host. Must outlive them.
struct ReplicaContext {
  LogHub* logs = nullptr;      // may be null: output discarded
  EventBus* events = nullptr;  // may be null
  // Runs a task on the host's executor threads.
  std::function<void(std::function<void()>)> post;
  // If set, used instead of `post` for a reactor's initialisation: runs the
  // task on a thread of the lane named by the deployment id, so a guest
  // whose `_initialize` never ends holds up only its own deployment. An
  // error (no thread could be created) fails the replica, never the daemon.
  std::function<Status(const std::string& lane, std::function<void()>)> spawn;
  BackoffOptions backoff;       // restarts of command replicas
  LinkCaller* links = nullptr;  // the guests' linked imports (may be null)
};

class Replica : public std::enable_shared_from_this<Replica> {
 public:
  Replica(std::shared_ptr<const RunPlan> plan, uint32_t index, bool command,
          const ReplicaContext* ctx);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Begins running (returns at once). Call once.
  void Start();
  // Asks the replica to stop and interrupts its guest (returns at once).
  void RequestStop();
  // Waits until stopped and releases the instance. Implies RequestStop().
  void Join();

  // Reactor: calls `name` with `args` (text, see guest.h), refilling fuel
  // first. FailedPrecondition unless active. One call at a time: later ones
  // wait. `control` (may be null) cancels: a waiting call gives up
  // (FailedPrecondition), a running one is interrupted (interrupted trap).
  Result<GuestResult> Call(std::string_view name, const std::vector<std::string>& args,
                           CallControl* control = nullptr);
  // A component export with values (Guest::CallValues), as Call otherwise.
  Result<GuestResult> CallValues(std::string_view name, std::vector<component::Val> args,
                                 uint64_t instance = 0);
  // Guest::DropResource on the active guest, between calls.
  Status DropResource(std::string_view resource, uint32_t rep, uint64_t instance);
  uint32_t index() const { return index_; }

  State state() const { return state_.load(std::memory_order_acquire); }
  ReplicaStatus Snapshot() const;
  const std::shared_ptr<const RunPlan>& plan() const { return plan_; }
  std::string name() const { return plan_->plan.id + "#" + std::to_string(index_); }

 private:
  Result<std::shared_ptr<Guest>> Instantiate();
  // Runs `fn` on the active guest, one call at a time (Call, CallValues).
  Result<GuestResult> OnGuest(std::string_view name, CallControl* control,
                              const std::function<Result<GuestResult>(Guest&)>& fn);
  void RunCommand();                // the command thread's body
  bool RunOnce(std::string* what);  // one run of _start; true if it failed
  void RunReactorInit();            // the reactor's executor task
  void SetState(State s, const std::string& message = {});
  // The replica could not start at all (e.g. no thread): failed, reason kept.
  void FailToStart(const std::string& error);
  void Log(const std::string& line);
  bool stopping() const { return stop_.load(std::memory_order_acquire); }

  const std::shared_ptr<const RunPlan> plan_;
  const uint32_t index_;
  const bool command_;
  const ReplicaContext* const ctx_;

  std::atomic<State> state_{State::kResolved};
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  std::shared_ptr<Guest> instance_;
  // The guest being created or initialised (start function, _initialize):
  // RequestStop interrupts it too.
  std::weak_ptr<Guest> booting_;
  bool init_pending_ = false;  // reactor: executor task not finished
  uint32_t restarts_ = 0;
  std::optional<int32_t> exit_code_;
  std::string last_error_;
  std::thread thread_;

  // One call at a time on the instance: call_busy_ under call_mu_; waiters
  // wait on call_cv_ (woken by a cancel too).
  std::mutex call_mu_;
  std::condition_variable call_cv_;
  bool call_busy_ = false;
};

}  // namespace arcella::platform
