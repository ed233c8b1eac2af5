#include "platform/replica.h"

#include <algorithm>
#include <system_error>

namespace arcella::platform {
namespace {

std::string ModuleName(const std::string& module_id) {
  size_t at = module_id.find('@');
  return at == std::string::npos ? module_id : module_id.substr(0, at);
}

}  // namespace

Replica::Replica(std::shared_ptr<const RunPlan> plan, uint32_t index, bool command,
                 const ReplicaContext* ctx)
    : plan_(std::move(plan)), index_(index), command_(command), ctx_(ctx) {}

Replica::~Replica() { Join(); }

void Replica::SetState(State s, const std::string& message) {
  State old = state_.exchange(s, std::memory_order_acq_rel);
  if (old == s || !ctx_->events) return;
  Event e;
  e.kind = "replica";
  e.id = name();
  e.state = StateName(s);
  e.message = message;
  ctx_->events->Publish(std::move(e));
}

void Replica::Log(const std::string& line) {
  if (ctx_->logs) ctx_->logs->Line(plan_->plan.id, index_, LogStream::kPlatform, line);
}

Result<std::shared_ptr<Guest>> Replica::Instantiate() {
  GuestSetup setup;
  setup.program_name = ModuleName(plan_->plan.module_id);
  LogHub* logs = ctx_->logs;
  std::string id = plan_->plan.id;
  uint32_t index = index_;
  if (logs) {
    setup.stdout_sink = [logs, id, index](std::string_view s) {
      logs->Write(id, index, LogStream::kStdout, s);
    };
    setup.stderr_sink = [logs, id, index](std::string_view s) {
      logs->Write(id, index, LogStream::kStderr, s);
    };
  }
  // Weak: the guest owns these through its imports.
  std::weak_ptr<Replica> self = weak_from_this();
  setup.interrupted = [self] {
    auto r = self.lock();
    return r && r->stopping();
  };
  setup.on_attach = [self](const std::shared_ptr<Guest>& g) {
    auto r = self.lock();
    if (!r) return;
    std::lock_guard<std::mutex> lock(r->mu_);
    r->booting_ = g;
    if (r->stopping()) g->Interrupt();
  };
  setup.links = ctx_->links;
  return CreateGuest(*plan_, setup);
}

void Replica::FailToStart(const std::string& error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = error;
    init_pending_ = false;
    cv_.notify_all();
  }
  Log("failed to start: " + error);
  SetState(State::kFailed, error);
}

void Replica::Start() {
  SetState(State::kStarting);
  if (command_) {
    // Thread exhaustion (EAGAIN from pthread_create) fails this replica only.
    try {
      thread_ = std::thread([this] { RunCommand(); });
    } catch (const std::system_error& e) {
      FailToStart(std::string("cannot create a thread for the replica: ") + e.what());
    }
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    init_pending_ = true;
  }
  auto self = shared_from_this();
  if (ctx_->spawn) {
    Status st = ctx_->spawn(plan_->plan.id, [self] { self->RunReactorInit(); });
    if (!st.ok()) FailToStart(st.message());
    return;
  }
  ctx_->post([self] { self->RunReactorInit(); });
}

void Replica::RunReactorInit() {
  std::string error;
  if (!stopping()) {
    auto inst = Instantiate();
    if (!inst.ok()) {
      error = inst.status().message();
    } else {
      if (plan_->plan.fuel) (void)(*inst)->SetFuel(*plan_->plan.fuel);
      if (Status st = (*inst)->Initialize(); !st.ok()) error = st.message();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (error.empty()) instance_ = std::move(*inst);
    else last_error_ = error;
  }
  if (!error.empty()) {
    Log("failed to start: " + error);
    SetState(State::kFailed, error);
  } else if (!stopping()) {
    SetState(State::kActive);
  }
  std::lock_guard<std::mutex> lock(mu_);
  init_pending_ = false;
  cv_.notify_all();
}

bool Replica::RunOnce(std::string* what_out) {
  bool failed = false;
  std::string what;
  auto inst = Instantiate();
  if (!inst.ok()) {
    failed = true;
    what = "failed to start: " + inst.status().message();
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = inst.status().message();
    exit_code_.reset();
  } else {
    {
      std::lock_guard<std::mutex> lock(mu_);
      instance_ = *inst;
    }
    if (stopping()) (*inst)->Interrupt();  // RequestStop raced with Instantiate
    SetState(State::kActive);
    auto out = (*inst)->Run();
    std::lock_guard<std::mutex> lock(mu_);
    instance_.reset();
    if (!out.ok()) {
      failed = true;
      last_error_ = out.status().message();
      exit_code_.reset();
      what = "failed: " + last_error_;
    } else if (out->trap && out->trap->kind != engine::TrapKind::kExit) {
      failed = true;
      last_error_ = "trap: " + out->trap->ToString();
      exit_code_.reset();
      what = last_error_;
    } else {
      exit_code_ = out->trap ? out->trap->exit_code : 0;
      failed = *exit_code_ != 0;
      what = "exited with code " + std::to_string(*exit_code_);
    }
  }
  *what_out = what;
  return failed;
}  // the instance is destroyed here, outside the lock

void Replica::RunCommand() {
  using Clock = std::chrono::steady_clock;
  Backoff backoff(ctx_->backoff);
  while (!stopping()) {
    auto began = Clock::now();
    std::string what;
    bool failed = RunOnce(&what);
    if (ctx_->logs) ctx_->logs->Flush(plan_->plan.id, index_);
    if (stopping()) break;
    if (!RestartsAfter(plan_->plan.restart, failed)) {
      Log(what);
      SetState(failed ? State::kFailed : State::kResolved, what);
      return;
    }
    std::chrono::milliseconds delay = backoff.Next(began);
    Log(what + "; restarting in " + std::to_string(delay.count()) + " ms");
    SetState(State::kStarting, what);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, delay, [this] { return stopping(); });
    if (stopping()) break;
    ++restarts_;
  }
  SetState(State::kStopping);
}

void Replica::RequestStop() {
  if (stop_.exchange(true)) return;
  State s = state();
  if (s == State::kActive || s == State::kStarting) SetState(State::kStopping);
  std::lock_guard<std::mutex> lock(mu_);
  if (instance_) instance_->Interrupt();
  if (auto b = booting_.lock()) b->Interrupt();  // start function, _initialize
  cv_.notify_all();
}

void Replica::Join() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
  std::shared_ptr<Guest> dead;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !init_pending_; });
  }
  {
    std::unique_lock<std::mutex> call(call_mu_);
    call_cv_.wait(call, [this] { return !call_busy_; });  // let a running call finish
    std::lock_guard<std::mutex> lock(mu_);
    dead = std::move(instance_);
  }
  dead.reset();
  if (state() != State::kFailed) SetState(State::kResolved);
}

Result<GuestResult> Replica::Call(std::string_view name, const std::vector<std::string>& args,
                                  CallControl* control) {
  return OnGuest(name, control, [&](Guest& g) { return g.Call(name, args); });
}

Result<GuestResult> Replica::CallValues(std::string_view name, std::vector<component::Val> args,
                                        uint64_t instance) {
  return OnGuest(name, nullptr,
                 [&](Guest& g) { return g.CallValues(name, std::move(args), instance); });
}

Status Replica::DropResource(std::string_view resource, uint32_t rep, uint64_t instance) {
  return OnGuest(resource, nullptr,
                 [&](Guest& g) -> Result<GuestResult> {
                   ARCELLA_RETURN_IF_ERROR(g.DropResource(resource, rep, instance));
                   return GuestResult{};
                 })
      .status();
}

Result<GuestResult> Replica::OnGuest(std::string_view name, CallControl* control,
                                     const std::function<Result<GuestResult>(Guest&)>& fn) {
  auto cancelled = [&] {
    return Status::FailedPrecondition("the call to " + std::string(name) + " on " + this->name() +
                                      " was cancelled before it started");
  };
  // Wait for the replica's previous call; a cancel wakes the wait.
  if (control) {
    control->Arm([this] {
      std::lock_guard<std::mutex> lock(call_mu_);
      call_cv_.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(call_mu_);
    call_cv_.wait(lock, [&] { return !call_busy_ || (control && control->cancelled()); });
    if (control && control->cancelled()) {
      lock.unlock();
      control->Disarm();
      return cancelled();
    }
    call_busy_ = true;
  }
  struct Release {
    Replica* r;
    ~Release() {
      std::lock_guard<std::mutex> lock(r->call_mu_);
      r->call_busy_ = false;
      r->call_cv_.notify_all();
    }
  } release{this};
  if (control) control->Disarm();
  std::shared_ptr<Guest> inst;
  {
    std::lock_guard<std::mutex> lock(mu_);
    inst = instance_;
  }
  if (!inst || state() != State::kActive)
    return Status::FailedPrecondition("replica " + this->name() + " is " + StateName(state()) +
                                      ", not active");
  if (plan_->plan.fuel) ARCELLA_RETURN_IF_ERROR(inst->SetFuel(*plan_->plan.fuel));
  if (!control) return fn(*inst);
  // From here a cancel interrupts the guest (Interrupt() only sets a flag).
  control->Arm([inst] { inst->Interrupt(); });
  auto out = fn(*inst);
  control->Disarm();
  return out;
}

ReplicaStatus Replica::Snapshot() const {
  ReplicaStatus s;
  s.index = index_;
  s.state = state();
  std::lock_guard<std::mutex> lock(mu_);
  s.restarts = restarts_;
  s.exit_code = exit_code_;
  s.last_error = last_error_;
  return s;
}

}  // namespace arcella::platform
