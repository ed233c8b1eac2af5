// WorkerHost: a ReplicaHost whose replicas run in `arcella-worker`
// processes, one per group (docs/WORKER.md). The daemon side of the worker
// protocol and the supervisor of the workers.
//
// A group's worker starts when one of its deployments first needs replicas
// and stops when none of them does. It is spawned from the host's
// supervisor thread (so the worker's parent-death signal is tied to a thread
// that lives as long as the host), sandboxed (sandbox.h) with the group's
// granted directories as its only file access; a plan that grants a
// directory the worker was not started with restarts the worker with the
// larger set.
//
// Supervision: a worker that dies (crash, kill -9, OOM) is restarted after
// a backoff (platform/backoff.h) and every plan of its group is applied
// again, so replicas come back; calls in flight fail with Unavailable naming
// the worker's exit. A worker that dies `max_quick_crashes` times in a row,
// each soon after it started, leaves its deployments `failed` with the
// reason until the next Apply of one of them. A call still running
// `grace` past its deadline (or past a cancel) ends the worker: a guest that
// interruption cannot reach is stopped that way.
//
// Calls go through a shared-memory call ring per worker when they fit
// (call_ring.h; the worker is not trusted with it: anything out of place
// ends the worker like any protocol error), else on the socket.
//
// Thread-safety: every method is thread-safe. Apply/Remove are serialised
// per group; calls and status requests of a group run concurrently over its
// one connection.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "platform/backoff.h"
#include "platform/events.h"
#include "platform/link_caller.h"
#include "platform/log_hub.h"
#include "platform/replica_host.h"
#include "platform/run_plan.h"

namespace arcella::worker {

class Pool;
struct CallRequest;
struct LinkCallRequest;
struct LinkReply;

struct WorkerHostOptions {
  std::string worker_path;  // the arcella-worker executable
  // Ids the worker drops to when the daemon runs as root (default 65534,
  // "nobody"); ignored otherwise.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  // Linear-memory budget cap of one worker (its replicas' caps summed, then
  // capped by this); 0: no cap beyond the sum.
  uint64_t memory_cap_bytes = 0;
  // Calls one worker runs at once (more wait in the worker); 0: the worker's
  // default (WorkerServerOptions::max_call_threads, 64).
  uint32_t max_calls_per_worker = 0;
  platform::BackoffOptions backoff{std::chrono::milliseconds(10), std::chrono::milliseconds(5000),
                                   std::chrono::milliseconds(10'000)};
  uint32_t max_quick_crashes = 5;
  std::chrono::milliseconds grace{2000};            // runaway calls, stop requests
  std::chrono::milliseconds start_timeout{10'000};  // until the worker says hello
  // Sandbox switches (all on in production; a test may turn one off to
  // tell the layers apart).
  bool seccomp = true;
  bool landlock = true;
  bool new_netns = true;
  // Calls through the shared-memory call ring (call_ring.h, docs/WORKER.md),
  // one slot per call the worker runs at once (at most 64); off: every call
  // on the socket. Calls whose frame or reply does not fit a slot use the
  // socket either way.
  bool call_ring = true;
  // How long a caller spins at most for its reply before it sleeps (at most
  // `ring_spinners` callers of a worker at once), and how long a worker
  // thread that finished a call spins at most for the next one before it
  // sleeps. Both adapt: no spinning while answers take longer (call_ring.h).
  std::chrono::microseconds ring_caller_spin{20};
  std::chrono::microseconds ring_worker_spin{50};
  uint32_t ring_spinners = 16;
  // The link ring (call_ring.h, docs/WORKER.md "The link ring"): the
  // worker's replicas post their calls through links there, and up to one
  // daemon thread per slot answers them; off: link calls on the socket. A
  // daemon thread that answered one spins at most `link_ring_spin` for the
  // next before it sleeps (adapting like the call ring's).
  bool link_ring = true;
  uint32_t link_ring_slots = 16;  // 1..64
  std::chrono::microseconds link_ring_spin{50};
  // Appended to the worker's command line (tests: --selftest-ring-garbage).
  std::vector<std::string> worker_args;
};

class WorkerHost : public platform::ReplicaHost {
 public:
  // `code` exports compiled code (the platform); `logs` and `events` receive
  // what the workers forward (may be null). All must outlive the host.
  WorkerHost(platform::CodeProvider* code, platform::LogHub* logs, platform::EventBus* events,
             WorkerHostOptions options);
  ~WorkerHost() override;

  Status Apply(const platform::DeploymentPlan& plan, bool started) override;
  Status Remove(const std::string& id) override;
  Result<platform::DeploymentStatus> GetStatus(const std::string& id) const override;
  // One `statuses` round trip per worker for all of `ids` it runs.
  std::vector<Result<platform::DeploymentStatus>> GetStatuses(
      const std::vector<std::string>& ids) const override;
  std::vector<std::string> Deployments() const override;
  Result<platform::CallResult> Call(const std::string& id, const std::string& export_name,
                                    const std::vector<std::string>& args,
                                    platform::CallControl* control = nullptr) override;
  // A component export's call with values: they cross as WAVE text, printed
  // and parsed here by the export's type (the daemon's copy of the
  // component), so a worker's answer is checked against it (Internal if it
  // does not parse).
  // Resource handles in them cross in the handle form (docs/WORKER.md
  // "Resource handles"); a pinned call or drop goes only to the worker
  // incarnation (ReplicaPin::epoch) that served the call returning it.
  Result<platform::ValCallResult> CallValues(const std::string& id, const std::string& export_name,
                                             std::vector<component::Val> args,
                                             const platform::ReplicaPin* pin = nullptr) override;
  Status DropResource(const std::string& id, const platform::ReplicaPin& pin,
                      const std::string& resource, uint32_t rep) override;
  // Where the link-calls of the workers' replicas go (their linked
  // imports). A worker names only its own group's deployments and their
  // linked imports; the host resolves the link from the plan it applied.
  void SetLinkCaller(platform::LinkCaller* caller) override { links_ = caller; }
  void Shutdown() override;

  std::vector<platform::WorkerInfo> Workers() const override;
  // The pid of `group`'s worker (0: none). For tests and benchmarks.
  pid_t WorkerPid(const std::string& group) const;
  // What the host sent `group`'s workers so far, over all its workers: code
  // exports and directory descriptors with applies (a worker keeps both for
  // as long as a deployment uses them, so a change that keeps them -- scale,
  // stop, start -- sends neither; a restarted worker holds nothing), and
  // status round trips (GetStatus: one per call; GetStatuses: one per
  // worker). For tests.
  struct Sent {
    uint64_t code = 0;
    uint64_t dirs = 0;
    uint64_t status_requests = 0;
  };
  Sent SentTo(const std::string& group) const;

  struct Worker;  // one worker process (worker_host.cc)
  struct Group;

 private:
  std::shared_ptr<Group> FindGroup(const std::string& name) const;
  std::shared_ptr<Group> GroupOf(const std::string& deployment) const;
  // Runs `fn` on the supervisor thread and waits for it.
  void OnSupervisor(const std::function<void()>& fn);
  // Runs `fn` on a thread of its own that the destructor waits for.
  void Detach(std::function<void()> fn);
  void SupervisorLoop();
  Result<std::shared_ptr<Worker>> Spawn(Group& g);
  Status Ensure(Group& g, bool restart);  // g.op_mu held
  Status SendApply(Group& g, Worker& w, const platform::DeploymentPlan& plan, bool started);
  void StopWorker(Group& g);  // g.op_mu held
  // FailedPrecondition if the worker's uid could not use the granted directory.
  Status CheckWorkerAccess(int fd, const std::string& path, bool read_only) const;
  // Call; `typed`: a component's result also as a typed value.
  // `extra` (may be null): the handle-form, pin and drop fields of the
  // request; with a pin, only the worker of incarnation `epoch` may take it
  // (Unavailable otherwise). *served_epoch: the incarnation that did.
  Result<platform::CallResult> CallImpl(const std::string& id, const std::string& export_name,
                                        const std::vector<std::string>& args,
                                        platform::CallControl* control, bool typed,
                                        const CallRequest* extra = nullptr, uint64_t epoch = 0,
                                        uint64_t* served_epoch = nullptr);
  void ReaderLoop(std::shared_ptr<Worker> w, std::shared_ptr<Group> g);
  // Answers a worker's link-call (on a link pool or link ring thread).
  LinkReply AnswerLinkCall(const std::shared_ptr<Worker>& w, const std::shared_ptr<Group>& g,
                           const LinkCallRequest& req);
  // A daemon thread of a worker's link ring: takes posted link-calls and
  // answers them in their slots; starts another while none is idle.
  void LinkRingLoop(std::shared_ptr<Worker> w, std::shared_ptr<Group> g);
  void ServeLinkSlot(const std::shared_ptr<Worker>& w, const std::shared_ptr<Group>& g, int slot);
  // The daemon's handle scope for a worker's scope (made on first use;
  // 0 if the worker has too many); EndScopes: every scope of a worker that
  // is gone, ended (their handles dropped at the providers).
  uint64_t ScopeOf(Worker& w, uint64_t worker_scope);
  void EndScopes(Worker& w);
  // Whether a worker's log line or event names its own group's deployment
  // (and a replica index that deployment may have had).
  static bool OwnReplica(const Group& g, const std::string& dep, uint32_t index);
  static bool OwnEvent(const Group& g, const platform::Event& e);
  void WorkerDied(const std::shared_ptr<Group>& g, const std::shared_ptr<Worker>& w);
  void Restart(const std::shared_ptr<Group>& g);
  void FailGroup(Group& g, const std::string& reason);
  platform::DeploymentStatus LocalStatus(const Group& g, const std::string& id) const;

  platform::CodeProvider* code_;
  platform::LinkCaller* links_ = nullptr;
  std::atomic<uint64_t> next_epoch_{1};  // worker incarnations (Worker::epoch)
  platform::LogHub* logs_;
  platform::EventBus* events_;
  WorkerHostOptions options_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Group>> groups_;
  std::map<std::string, std::string> group_of_;  // deployment -> group
  bool shut_down_ = false;

  std::mutex sup_mu_;
  std::condition_variable sup_cv_;
  std::deque<std::function<void()>> sup_tasks_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> sup_timers_;
  bool sup_stop_ = false;
  std::thread supervisor_;

  std::mutex threads_mu_;
  std::condition_variable threads_cv_;
  size_t threads_live_ = 0;

  // Link-calls being answered (at most kMaxLinkCalls at once; more are
  // refused `unavailable`, never queued: a chain of links through workers
  // must not wait for a thread its own calls hold). Null once shut down.
  std::mutex link_mu_;
  std::unique_ptr<Pool> link_pool_;
  size_t link_calls_ = 0;
};

}  // namespace arcella::worker
