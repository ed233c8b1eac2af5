#include "platform/inprocess_host.h"

#include <algorithm>
#include <system_error>

#include "engine/value_text.h"

namespace arcella::platform {
namespace {

// The deployment's state from its replicas'.
State Aggregate(bool started, const std::vector<ReplicaStatus>& rs) {
  if (!started) {
    for (const auto& r : rs)
      if (r.state == State::kStopping) return State::kStopping;
    return State::kResolved;
  }
  size_t active = 0, starting = 0, failed = 0, resolved = 0;
  for (const auto& r : rs) {
    if (r.state == State::kActive) ++active;
    else if (r.state == State::kStarting || r.state == State::kStopping) ++starting;
    else if (r.state == State::kFailed) ++failed;
    else ++resolved;
  }
  if (starting) return State::kStarting;
  if (failed && !active) return State::kFailed;
  if (!active && resolved) return State::kResolved;  // commands that finished
  return State::kActive;
}

}  // namespace

InProcessHost::InProcessHost(PlanLoader load, LogHub* logs, EventBus* events,
                             InProcessHostOptions options)
    : load_(std::move(load)), events_(events), logs_(logs) {
  ctx_.logs = logs;
  ctx_.events = events;
  ctx_.post = [this](std::function<void()> task) { Post(std::move(task)); };
  ctx_.spawn = [this](const std::string& lane, std::function<void()> task) {
    return Spawn(lane, std::move(task));
  };
  ctx_.backoff = options.backoff;
  size_t n = options.executor_threads;
  if (n == 0) n = std::max<size_t>(2, std::thread::hardware_concurrency());
  lane_threads_ = n;
}

InProcessHost::~InProcessHost() {
  Shutdown();
  // Every replica has been joined, so every lane task has run; wait for the
  // lane threads to leave.
  std::unique_lock<std::mutex> lock(queue_mu_);
  queue_cv_.wait(lock, [this] { return threads_ == 0; });
}

void InProcessHost::Post(std::function<void()> task) {
  Status st = Spawn("", task);
  if (!st.ok()) task();  // no thread to spare: run it here
}

Status InProcessHost::Spawn(const std::string& lane, std::function<void()> task) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  Lane& l = lanes_[lane];
  if (l.running >= lane_threads_) {
    l.queue.push_back(std::move(task));
    return Status::Ok();
  }
  try {
    std::thread([this, lane, t = std::move(task)]() mutable {
      LaneLoop(lane, std::move(t));
    }).detach();
  } catch (const std::system_error& e) {
    if (l.running == 0 && l.queue.empty()) lanes_.erase(lane);
    return Status::FailedPrecondition(std::string("cannot create a thread for the replica: ") +
                                      e.what());
  }
  ++l.running;
  ++threads_;
  return Status::Ok();
}

void InProcessHost::LaneLoop(const std::string& lane, std::function<void()> task) {
  for (;;) {
    task();
    task = nullptr;  // drops what the task held before the lock
    std::lock_guard<std::mutex> lock(queue_mu_);
    auto it = lanes_.find(lane);
    if (it == lanes_.end() || it->second.queue.empty()) {
      if (it != lanes_.end() && --it->second.running == 0) lanes_.erase(it);
      --threads_;
      queue_cv_.notify_all();
      return;
    }
    task = std::move(it->second.queue.front());
    it->second.queue.pop_front();
  }
}

void InProcessHost::PublishDeployment(const std::string& id, State s) {
  if (!events_) return;
  Event e;
  e.kind = "deployment";
  e.id = id;
  e.state = StateName(s);
  events_->Publish(std::move(e));
}

std::shared_ptr<InProcessHost::Deployment> InProcessHost::Find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = deployments_.find(id);
  return it == deployments_.end() ? nullptr : it->second;
}

Status InProcessHost::Apply(const DeploymentPlan& plan, bool started) {
  if (plan.id.empty()) return Status::InvalidArgument("deployment plan: empty id");
  std::shared_ptr<Deployment> d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return Status::FailedPrecondition("the replica host is shutting down");
    auto& slot = deployments_[plan.id];
    if (!slot) slot = std::make_shared<Deployment>();
    d = slot;
  }
  std::lock_guard<std::mutex> apply(d->apply_mu);
  std::shared_ptr<const RunPlan> next;
  {
    // The running plan, if the same, is reused (no reload of its code).
    std::lock_guard<std::mutex> lock(d->mu);
    if (d->plan && SameRuntime(d->plan->plan, plan)) {
      auto copy = std::make_shared<RunPlan>(*d->plan);
      copy->plan.replicas = plan.replicas;
      next = std::move(copy);
    }
  }
  if (!next) {
    auto loaded = load_(plan);
    if (!loaded.ok()) return loaded.status();
    next = std::move(*loaded);
  }
  bool command = plan.command;
  uint32_t want = started ? plan.replicas : 0;

  std::vector<std::shared_ptr<Replica>> retire;
  {
    std::lock_guard<std::mutex> lock(d->mu);
    bool same = d->plan && SameRuntime(d->plan->plan, plan);
    for (size_t i = 0; i < d->replicas.size(); ++i) {
      auto& r = d->replicas[i];
      if (!r) continue;
      // Survivors keep running; changed settings, failed replicas and those
      // past the new count are replaced/stopped.
      if (i >= want || !same || r->state() == State::kFailed) retire.push_back(std::move(r));
    }
    d->replicas.resize(std::min<size_t>(d->replicas.size(), want));
    d->plan = next;
    d->started = started;
    d->command = command;
  }
  if (!retire.empty()) PublishDeployment(plan.id, State::kStopping);
  for (auto& r : retire) r->RequestStop();
  {
    std::lock_guard<std::mutex> lock(d->mu);
    d->retiring = retire;
  }
  for (auto& r : retire) r->Join();
  {
    std::lock_guard<std::mutex> lock(d->mu);
    d->retiring.clear();
  }
  retire.clear();

  std::vector<std::shared_ptr<Replica>> fresh;
  {
    std::lock_guard<std::mutex> lock(d->mu);
    d->replicas.resize(want);
    for (uint32_t i = 0; i < want; ++i) {
      if (d->replicas[i]) continue;
      d->replicas[i] = std::make_shared<Replica>(next, i, command, &ctx_);
      fresh.push_back(d->replicas[i]);
    }
  }
  if (!fresh.empty()) PublishDeployment(plan.id, State::kStarting);
  for (auto& r : fresh) r->Start();
  if (!started) PublishDeployment(plan.id, State::kResolved);
  return Status::Ok();
}

Status InProcessHost::Remove(const std::string& id) {
  auto d = Find(id);
  if (!d) return Status::NotFound("no deployment " + id + " in the replica host");
  std::lock_guard<std::mutex> apply(d->apply_mu);
  std::vector<std::shared_ptr<Replica>> all;
  {
    std::lock_guard<std::mutex> lock(d->mu);
    all = std::move(d->replicas);
    d->replicas.clear();
    d->started = false;
    for (auto& r : all)
      if (r) d->retiring.push_back(r);
  }
  PublishDeployment(id, State::kStopping);
  for (auto& r : all) r->RequestStop();
  for (auto& r : all) r->Join();
  {
    std::lock_guard<std::mutex> lock(d->mu);
    d->retiring.clear();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = deployments_.find(id);
    if (it != deployments_.end() && it->second == d) deployments_.erase(it);
  }
  if (logs_) logs_->Forget(id, 0);
  PublishDeployment(id, State::kResolved);
  return Status::Ok();
}

Result<DeploymentStatus> InProcessHost::GetStatus(const std::string& id) const {
  auto d = Find(id);
  if (!d) return Status::NotFound("no deployment " + id + " in the replica host");
  DeploymentStatus st;
  st.id = id;
  std::vector<std::shared_ptr<Replica>> replicas;
  uint32_t planned = 0;
  {
    std::lock_guard<std::mutex> lock(d->mu);
    st.started = d->started;
    st.command = d->command;
    replicas = d->replicas;
    planned = d->plan ? d->plan->plan.replicas : 0;
    // A stopped deployment whose replicas are still ending shows them.
    if (!d->started && replicas.empty()) replicas = d->retiring;
  }
  st.replicas.reserve(std::max<size_t>(replicas.size(), planned));
  for (const auto& r : replicas)
    if (r) st.replicas.push_back(r->Snapshot());
  // A stopped deployment still shows its planned replicas, resolved.
  for (uint32_t i = static_cast<uint32_t>(st.replicas.size()); i < planned && !st.started; ++i) {
    ReplicaStatus r;
    r.index = i;
    st.replicas.push_back(std::move(r));
  }
  st.state = Aggregate(st.started, st.replicas);
  return st;
}

std::vector<std::string> InProcessHost::Deployments() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, d] : deployments_) ids.push_back(id);
  return ids;
}

Result<ValCallResult> InProcessHost::CallValues(const std::string& id,
                                                const std::string& export_name,
                                                std::vector<component::Val> args,
                                                const ReplicaPin* pin) {
  std::shared_ptr<const RunPlan> plan;
  std::shared_ptr<Replica> chosen;
  if (pin) {
    ARCELLA_ASSIGN_OR_RETURN(chosen, Pinned(id, *pin, &plan));
  } else {
    ARCELLA_ASSIGN_OR_RETURN(chosen, Choose(id, &plan));
  }
  if (!plan->component) return Status::Unsupported("deployment " + id + " is a core module");
  ARCELLA_ASSIGN_OR_RETURN(auto out, chosen->CallValues(export_name, std::move(args),
                                                        pin ? pin->instance : 0));
  ValCallResult res;
  res.replica = chosen->name();
  res.served = ReplicaPin{chosen->index(), out.instance, 0};
  res.trap = std::move(out.trap);
  if (out.value) res.results.push_back(std::move(*out.value));
  return res;
}

Status InProcessHost::DropResource(const std::string& id, const ReplicaPin& pin,
                                   const std::string& resource, uint32_t rep) {
  std::shared_ptr<const RunPlan> plan;
  auto chosen = Pinned(id, pin, &plan);
  if (!chosen.ok()) return Status::Ok();  // the replica, and the resource, are gone
  return (*chosen)->DropResource(resource, rep, pin.instance);
}

Result<std::shared_ptr<Replica>> InProcessHost::Pinned(const std::string& id, const ReplicaPin& pin,
                                                       std::shared_ptr<const RunPlan>* plan_out) {
  auto d = Find(id);
  if (!d) return Status::Unavailable("deployment " + id + " is gone, and the resource with it");
  std::lock_guard<std::mutex> lock(d->mu);
  if (pin.epoch != 0 || pin.replica >= d->replicas.size() || !d->replicas[pin.replica] ||
      !d->started || !d->plan || d->replicas[pin.replica]->state() != State::kActive)
    return Status::Unavailable("replica " + id + "#" + std::to_string(pin.replica) +
                               " that held the resource is gone");
  *plan_out = d->plan;
  return d->replicas[pin.replica];
}

Result<std::shared_ptr<Replica>> InProcessHost::Choose(const std::string& id,
                                                       std::shared_ptr<const RunPlan>* plan_out) {
  auto d = Find(id);
  if (!d) return Status::NotFound("no deployment " + id);
  std::shared_ptr<Replica> chosen;
  std::shared_ptr<const RunPlan> plan;
  {
    std::lock_guard<std::mutex> lock(d->mu);
    plan = d->plan;
    if (!d->started || !plan) return Status::FailedPrecondition("deployment " + id + " is stopped");
    if (d->command)
      return Status::FailedPrecondition("deployment " + id +
                                        " runs a command (_start or wasi:cli/run); "
                                        "only reactors serve calls");
    *plan_out = plan;
    size_t n = d->replicas.size();
    for (size_t k = 0; k < n && !chosen; ++k) {
      auto& r = d->replicas[(d->next + k) % n];
      if (r && r->state() == State::kActive) {
        chosen = r;
        d->next = (d->next + k + 1) % n;
      }
    }
  }
  if (!chosen) return Status::FailedPrecondition("deployment " + id + " has no active replica");
  return chosen;
}

Result<CallResult> InProcessHost::Call(const std::string& id, const std::string& export_name,
                                       const std::vector<std::string>& args, CallControl* control) {
  std::shared_ptr<const RunPlan> plan;
  auto chosen = Choose(id, &plan);
  if (!plan) return chosen.status();  // unknown, stopped or a command
  if (plan->module) {
    // Core: name and arguments checked before any replica is involved.
    const auto* fn = plan->module->FindExport(export_name);
    if (!fn || fn->desc.kind != engine::ExternKind::kFunc) {
      std::string names;
      for (const auto& e : CallableExports(*plan)) names += (names.empty() ? "" : ", ") + e;
      return Status::NotFound("module " + plan->plan.module_id + " exports no function \"" +
                              export_name + "\" (functions: " + (names.empty() ? "none" : names) +
                              ")");
    }
    ARCELLA_RETURN_IF_ERROR(engine::ParseArgs(export_name, fn->desc.func, args).status());
  }
  if (!chosen.ok()) return chosen.status();
  ARCELLA_ASSIGN_OR_RETURN(auto out, (*chosen)->Call(export_name, args, control));
  CallResult res;
  res.replica = (*chosen)->name();
  res.trap = std::move(out.trap);
  res.results = std::move(out.results);
  res.value = std::move(out.value);
  res.type = std::move(out.type);
  return res;
}

void InProcessHost::Shutdown() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    for (const auto& [id, d] : deployments_) ids.push_back(id);
  }
  for (const auto& id : ids) (void)Remove(id);
}

}  // namespace arcella::platform
