#include "worker/worker_server.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "component/export_names.h"
#include "component/wave.h"
#include "engine/engine.h"
#include "engine/portable_code.h"
#include "platform/events.h"
#include "platform/inprocess_host.h"
#include "platform/link_caller.h"
#include "platform/log_hub.h"
#include "platform/portable_component.h"
#include "platform/run_plan.h"
#include "worker/messages.h"
#include "worker/pool.h"

namespace arcella::worker {
namespace {

using platform::DeploymentPlan;
using platform::RunPlan;

// A call read from the channel, registered for cancel until it ends.
struct Call {
  CallRequest req;
  std::unique_ptr<platform::CallControl> control;
};

// The daemon's answer to one link-call, once it comes.
struct LinkWait {
  bool done = false;
  LinkReply reply;
};

class Server : public platform::LinkCaller {
 public:
  Server(Channel* ch, std::unique_ptr<CallRing> ring, const WorkerServerOptions& options,
         std::unique_ptr<CallRing> link_ring)
      : ch_(ch),
        ring_(ring ? std::make_unique<RingServer>(std::move(ring)) : nullptr),
        link_ring_(link_ring
                       ? std::make_unique<RingClient>(std::move(link_ring),
                                                      RingClient::Options{kLinkCallerSpin,
                                                                          kLinkCallerSpinners})
                       : nullptr),
        options_(options),
        logs_("", platform::LogHubOptions{.ring_lines = 1, .ring_bytes = 1}),
        max_(options.max_call_threads == 0 ? 1 : options.max_call_threads),
        control_(1) {}

  int Run() {
    auto engine = engine::Engine::Create({.cache_dir = "", .metering = engine::Metering::kFuel});
    if (!engine.ok()) {
      fprintf(stderr, "arcella-worker: %s\n", engine.status().ToString().c_str());
      return 2;
    }
    engine_ = *engine;
    event_token_ = events_.Subscribe(
        [this](const platform::Event& e) { (void)ch_->Send(EncodeEvent(e)); });
    host_ = std::make_unique<platform::InProcessHost>(
        [this](const DeploymentPlan& plan) { return Staged(plan); }, &logs_, &events_);
    host_->SetLinkCaller(this);
    if (!ch_->Send(EncodeHello({kProtocolVersion, static_cast<int64_t>(getpid()), options_.sandbox,
                                ring_ != nullptr, link_ring_ != nullptr}))
             .ok())
      return 0;
    if (ring_) AddRingThread();
    int code = 0;
    {
      std::unique_lock<std::mutex> lock(lf_mu_);
      threads_.emplace_back([this] { CallThread(); });  // the first leader
      done_cv_.wait(lock, [this] { return stop_; });
      code = code_;
    }
    host_->Shutdown();
    events_.Unsubscribe(event_token_);
    return code;
  }

  ~Server() override {
    {
      std::lock_guard<std::mutex> lock(lf_mu_);
      stop_ = true;
    }
    lf_cv_.notify_all();
    // No thread is added once stop_ is set (only a leader adds one).
    for (auto& t : threads_) t.join();
    std::vector<std::thread> ring_threads;
    {
      std::lock_guard<std::mutex> lock(ring_mu_);
      ring_stop_ = true;  // no ring thread is added from now on
      ring_threads.swap(ring_threads_);
    }
    if (ring_) ring_->Stop();
    for (auto& t : ring_threads) t.join();
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  // Leader/follower: the call threads take turns reading the channel. The
  // leader blocks in Receive(); a call it reads runs on the leader's own
  // thread once it has handed the role to an idle thread (woken, or started
  // if none is idle), so no thread hand-off lies between a call frame and its
  // reply. Everything else is handled by the leader in place (status, cancel,
  // ping: quick) or posted to the control thread (apply, remove). At most
  // max_ calls run at once and there are at most max_ + 1 call threads, so a
  // leader is always reading, even while every other thread is in a long
  // call: status and cancel are never queued behind calls. Calls past max_
  // wait in waiting_ and run, in arrival order, on the next thread whose call
  // ends.
  void CallThread() {
    std::unique_lock<std::mutex> lock(lf_mu_);
    for (;;) {
      if (!waiting_.empty() && running_ < max_) {
        Call c = std::move(waiting_.front());
        waiting_.pop_front();
        ++running_;
        lock.unlock();
        DoCall(c);
        lock.lock();
        --running_;
        continue;
      }
      if (stop_) return;
      if (!leader_) {
        leader_ = true;
        Lead(lock);
        continue;
      }
      ++idle_;
      lf_cv_.wait(lock,
                  [this] { return stop_ || !leader_ || (!waiting_.empty() && running_ < max_); });
      --idle_;
    }
  }

  // Reads frames while this thread is the leader. Returns (with `lock`
  // held) after running a call, or once serving stops.
  void Lead(std::unique_lock<std::mutex>& lock) {
    for (;;) {
      lock.unlock();
      auto msg = ch_->Receive();
      if (!msg.ok()) {
        int code = 0;
        if (msg.status().code() != StatusCode::kUnavailable) {
          fprintf(stderr, "arcella-worker: protocol error: %s\n", msg.status().message().c_str());
          code = 2;
        }
        lock.lock();
        Stop(code);
        return;
      }
      if (msg->type() != "call") {
        bool go_on = Dispatch(std::move(*msg));
        lock.lock();
        if (!go_on) {
          Stop(0);
          return;
        }
        continue;
      }
      auto req = DecodeCall(msg->body);
      if (!req.ok()) {
        (void)Refuse(msg->body, req.status());
        lock.lock();
        continue;
      }
      // Cancellable from now on: a cancel read after its call always finds it.
      Call c{std::move(*req), std::make_unique<platform::CallControl>()};
      Register(c);
      lock.lock();
      if (running_ >= max_) {
        waiting_.push_back(std::move(c));
        continue;
      }
      ++running_;
      leader_ = false;
      const bool wake = idle_ > 0;
      if (!wake && threads_.size() < max_ + 1) threads_.emplace_back([this] { CallThread(); });
      lock.unlock();
      if (wake) lf_cv_.notify_one();  // outside the lock: the woken thread need not block on it
      DoCall(c);
      lock.lock();
      --running_;
      return;
    }
  }

  // Under lf_mu_. The leader keeps its role: nobody reads after this.
  void Stop(int code) {
    stop_ = true;
    code_ = code;
    {
      std::lock_guard<std::mutex> lock(link_mu_);
      link_stop_ = true;
    }
    link_cv_.notify_all();
    if (ring_) ring_->Stop();
    lf_cv_.notify_all();
    done_cv_.notify_all();
  }

  // Every frame but call. False: stop serving.
  bool Dispatch(Message msg) {
    const std::string& t = msg.type();
    if (t == "status") {
      auto req = DecodeDeploymentRequest(msg.body);
      if (!req.ok()) return Refuse(msg.body, req.status());
      // Answered at once (a snapshot): never queued behind calls.
      auto st = host_->GetStatus(req->dep);
      (void)ch_->Send(st.ok() ? EncodeStatusReply(req->id, *st)
                              : EncodeReply(req->id, st.status()));
    } else if (t == "statuses") {
      auto req = DecodeStatuses(msg.body);
      if (!req.ok()) return Refuse(msg.body, req.status());
      std::vector<Result<platform::DeploymentStatus>> all;
      all.reserve(req->deps.size());
      for (const auto& dep : req->deps) all.push_back(host_->GetStatus(dep));
      (void)ch_->Send(EncodeStatusesReply(req->id, all));
    } else if (t == "apply") {
      auto req = DecodeApply(msg.body);
      if (!req.ok()) return Refuse(msg.body, req.status());
      auto fds = std::make_shared<std::vector<UniqueFd>>(std::move(msg.fds));
      control_.Post([this, r = std::move(*req), fds]() mutable { DoApply(std::move(r), fds); });
    } else if (t == "remove") {
      auto req = DecodeDeploymentRequest(msg.body);
      if (!req.ok()) return Refuse(msg.body, req.status());
      control_.Post([this, r = std::move(*req)] {
        Status st = host_->Remove(r.dep);
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (auto it = log_tokens_.find(r.dep); it != log_tokens_.end()) {
            logs_.Unsubscribe(it->second);
            log_tokens_.erase(it);
          }
          staged_.erase(r.dep);
          budgets_.erase(r.dep);
        }
        logs_.Forget(r.dep);
        UpdateBudget();
        (void)ch_->Send(EncodeReply(r.id, st));
      });
    } else if (t == "cancel") {
      auto id = DecodeCancel(msg.body);
      if (!id.ok()) return Refuse(msg.body, id.status());
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = in_flight_.find(*id); it != in_flight_.end()) it->second->Cancel();
    } else if (t == "ping") {
      auto id = ReplyId(msg.body);
      if (!id.ok()) return Refuse(msg.body, id.status());
      (void)ch_->Send(EncodeReply(*id, Status::Ok()));
    } else if (t == "link-reply") {
      auto r = DecodeLinkReply(msg.body);
      if (!r.ok()) {
        fprintf(stderr, "arcella-worker: bad link-reply ignored: %s\n",
                r.status().message().c_str());
        return true;
      }
      {
        std::lock_guard<std::mutex> lock(link_mu_);
        auto it = link_waits_.find(r->id);
        if (it == link_waits_.end()) return true;  // its caller gave up (interrupted)
        it->second->reply = std::move(*r);
        it->second->done = true;
      }
      link_cv_.notify_all();
    } else if (t == "shutdown") {
      return false;
    } else {
      fprintf(stderr, "arcella-worker: unknown message type \"%s\" ignored\n", t.c_str());
    }
    return true;
  }

  // A request that does not decode: answered if it has an id, else logged.
  bool Refuse(const nlohmann::json& body, const Status& st) {
    auto id = ReplyId(body);
    if (id.ok()) {
      (void)ch_->Send(EncodeReply(*id, st));
    } else {
      fprintf(stderr, "arcella-worker: bad message: %s\n", st.message().c_str());
    }
    return true;
  }

  // Runs a registered call and unregisters it.
  Result<platform::CallResult> RunCall(const Call& c) {
    const CallRequest& r = c.req;
    auto res = r.handles || r.replica || r.drop
                   ? RunValuesCall(r)
                   : host_->Call(r.dep, r.export_name, r.args, c.control.get());
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = in_flight_.find(r.id); it != in_flight_.end() && it->second == c.control.get())
      in_flight_.erase(it);
    return res;
  }

  // A call with values in the handle form, or pinned, or a drop (a link's
  // resources: docs/WORKER.md "Resource handles"), typed by the export.
  Result<platform::CallResult> RunValuesCall(const CallRequest& r) {
    std::shared_ptr<const RunPlan> plan;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = staged_.find(r.dep); it != staged_.end()) plan = it->second;
    }
    if (!plan || !plan->component)
      return Status::NotFound("deployment " + r.dep + " runs no component here");
    platform::ReplicaPin pin;
    if (r.replica) pin = platform::ReplicaPin{*r.replica, r.instance, 0};
    component::WaveOptions form{r.handles};
    platform::CallResult out;
    if (r.drop) {
      auto rep = component::ParseWave(r.args[0], *component::ValueType::U32());
      if (!rep.ok()) return Status::InvalidArgument("drop: handle: " + rep.status().message());
      ARCELLA_RETURN_IF_ERROR(
          host_->DropResource(r.dep, pin, r.export_name, static_cast<uint32_t>(rep->u)));
      out.replica = r.dep + "#" + std::to_string(pin.replica);
      return out;
    }
    const component::FuncType* f = component::ExportedFuncType(*plan->component->component,
                                                               r.export_name);
    if (!f)
      return Status::NotFound("deployment " + r.dep + " exports no function " + r.export_name);
    auto args = component::ParseWaveArgs(*f, r.args, form);
    if (!args.ok()) return Status::InvalidArgument(r.export_name + ": " + args.status().message());
    ARCELLA_ASSIGN_OR_RETURN(auto res, host_->CallValues(r.dep, r.export_name, std::move(*args),
                                                         r.replica ? &pin : nullptr));
    out.replica = std::move(res.replica);
    out.instance = res.served.instance;
    out.trap = std::move(res.trap);
    if (!out.trap && f->result && !res.results.empty())
      out.results.push_back(component::PrintWave(res.results[0], *f->result, form));
    return out;
  }

  void Register(const Call& c) {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_[c.req.id] = c.control.get();
  }

  // The reply frame of a call (the result, or its error).
  static void ReplyFrame(uint64_t id, const Result<platform::CallResult>& res,
                         std::vector<uint8_t>* frame) {
    frame->clear();
    Status st = res.ok() ? AppendCallReplyFrame(id, *res, frame) : res.status();
    if (st.ok()) return;
    frame->clear();
    auto f = EncodeFrame(EncodeReply(id, st));
    if (f.ok()) *frame = std::move(*f);
  }

  void DoCall(const Call& c) {
    auto res = RunCall(c);
    if (!res.ok()) {
      (void)ch_->Send(EncodeReply(c.req.id, res.status()));
      return;
    }
    thread_local std::vector<uint8_t> frame;  // reused: no allocation per call
    ReplyFrame(c.req.id, res, &frame);
    (void)ch_->SendFrame(frame);
  }

  // ---- the call ring ----

  // Up to one thread per slot, each taking posted calls; a thread that takes
  // one while no other is idle starts another (so a posted call never waits
  // for a thread while a slot's call runs).
  void AddRingThread() {
    std::lock_guard<std::mutex> lock(ring_mu_);
    if (ring_stop_ || ring_threads_.size() >= ring_->slots()) return;
    ring_threads_.emplace_back([this] { RingThread(); });
  }

  void RingThread() {
    bool spin = false;
    for (;;) {
      int slot = ring_->Take(spin);
      if (slot < 0) return;
      if (ring_->idle() == 0) AddRingThread();
      RingCall(slot);
      spin = true;
    }
  }

  void RingCall(int slot) {
    thread_local std::vector<uint8_t> frame;  // reused: no allocation per call
    std::span<const uint8_t> in = ring_->Frame(slot);
    Result<nlohmann::json> body = in.size() >= 4 ? DecodeFrameBody(in.subspan(4))
                                                 : Status::InvalidArgument("call ring: no frame");
    Result<CallRequest> req = body.ok() ? DecodeCall(*body) : body.status();
    if (!req.ok()) {
      auto id = body.ok() ? ReplyId(*body) : Result<uint64_t>(uint64_t{0});
      ReplyFrame(id.ok() ? *id : 0, req.status(), &frame);
      AnswerRing(slot, frame);
      return;
    }
    // Cancellable from now on; a cancel sent before (the daemon flags the
    // slot first, then sends it) is seen here or by the socket's reader.
    Call c{std::move(*req), std::make_unique<platform::CallControl>()};
    Register(c);
    if (ring_->Cancelled(slot)) c.control->Cancel();
    auto res = RunCall(c);
    ReplyFrame(c.req.id, res, &frame);
    if (!options_.ring_garbage.empty() && c.req.export_name == "garbage" &&
        Scribble(slot, c.req.id, frame))
      return;
    AnswerRing(slot, frame);
  }

  void AnswerRing(int slot, const std::vector<uint8_t>& frame) {
    if (frame.size() <= kRingSlotBytes) {
      ring_->Reply(slot, frame);
      return;
    }
    Spill(slot, frame, std::chrono::milliseconds(0));
  }

  // A reply too big for its slot: the slot says so first, then the reply
  // goes on the socket. Not the other way round: the daemon's caller returns
  // as soon as the reply arrives on the socket and gives the slot back; a
  // kRingSpilled written after that would land on a slot with no call, which
  // the daemon's next Acquire of it rightly takes for a hostile worker.
  // `pause` (tests only, --selftest-ring-garbage slowspill) widens the gap.
  void Spill(int slot, const std::vector<uint8_t>& frame, std::chrono::milliseconds pause) {
    ring_->Spilled(slot);
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
    (void)ch_->SendFrame(frame);
  }

  // Test only (--selftest-ring-garbage): a hostile worker writing into the
  // ring what it must not. True if the slot is answered (or never will be).
  bool Scribble(int slot, uint64_t id, const std::vector<uint8_t>& frame) {
    const std::string& mode = options_.ring_garbage;
    CallRing& ring = ring_->ring();
    RingSlot* s = ring.slot(slot);
    auto wake = [&](uint32_t state) {
      s->state.store(state);
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&s->state), FUTEX_WAKE, 1, nullptr, nullptr,
              0);
    };
    if (mode == "slowspill") {  // a proper answer, spilled, slowly: nothing is wrong
      Spill(slot, frame, std::chrono::milliseconds(200));
    } else if (mode == "length") {
      s->len.store(0xFFFFFF00u);
      wake(kRingReply);
    } else if (mode == "state") {
      wake(0xDEADu);
    } else if (mode == "frame") {
      std::memset(s->data, 0xC1, 64);  // 0xc1: never used in MessagePack
      s->data[0] = s->data[1] = s->data[2] = 0;
      s->data[3] = 60;
      s->len.store(64);
      wake(kRingReply);
    } else if (mode == "id") {
      std::vector<uint8_t> other;
      platform::CallResult r{.replica = "x#0", .results = {"42"}, .trap = std::nullopt};
      (void)AppendCallReplyFrame(id + 1000, r, &other);
      std::memcpy(s->data, other.data(), other.size());
      s->len.store(static_cast<uint32_t>(other.size()));
      wake(kRingReply);
    } else if (mode == "unasked") {
      for (uint32_t i = 0; i < ring.slots(); ++i) {
        if (static_cast<int>(i) == slot) continue;
        RingSlot* o = ring.slot(i);
        std::memcpy(o->data, frame.data(), std::min<size_t>(frame.size(), kRingSlotBytes));
        o->len.store(static_cast<uint32_t>(frame.size()));
        o->state.store(kRingReply);
      }
      return false;  // this one is answered properly
    } else if (mode == "noise") {
      uint64_t x = 0x9E3779B97F4A7C15ull ^ id;
      auto* p = reinterpret_cast<uint8_t*>(ring.header());
      for (size_t i = 0; i < ring.bytes(); ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = static_cast<uint8_t>(x);
      }
      for (uint32_t i = 0; i < ring.slots(); ++i)
        syscall(SYS_futex, reinterpret_cast<uint32_t*>(&ring.slot(i)->state), FUTEX_WAKE, 1,
                nullptr, nullptr, 0);
    } else {
      return false;
    }
    return true;
  }

  void DoApply(ApplyRequest r, const std::shared_ptr<std::vector<UniqueFd>>& fds) {
    auto run = Prepare(r, fds);
    if (!run.ok()) {
      (void)ch_->Send(EncodeReply(r.id, run.status()));
      return;
    }
    const std::string dep = r.plan.id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      staged_[dep] = *run;
      budgets_[dep] = r.started ? static_cast<uint64_t>(r.plan.replicas) *
                                      (r.plan.max_memory_bytes ? r.plan.max_memory_bytes
                                                               : options_.default_memory_bytes)
                                : 0;
      if (!log_tokens_.count(dep))
        log_tokens_[dep] = logs_.Subscribe(dep,
                                           [this](const platform::LogLine& l) { ForwardLog(l); });
    }
    UpdateBudget();
    Status st = host_->Apply(r.plan, r.started);
    (void)ch_->Send(EncodeReply(r.id, st));
  }

  // The plan made runnable from the code and directories this apply sent
  // and those the worker holds (adopted by an earlier apply and still used by
  // a plan: held_code_, held_dirs_ point at them without keeping them).
  Result<std::shared_ptr<const RunPlan>> Prepare(
      const ApplyRequest& r, const std::shared_ptr<std::vector<UniqueFd>>& fds) {
    const DeploymentPlan& plan = r.plan;
    if (fds->size() != r.FdCount())
      return Status::InvalidArgument("apply " + plan.id + ": expected " +
                                     std::to_string(r.FdCount()) +
                                     " descriptors (the code if sent, one per directory sent), "
                                     "got " +
                                     std::to_string(fds->size()));
    const std::string code_name = platform::CodeRefName(plan.code);
    auto dirs = std::make_shared<std::vector<std::shared_ptr<UniqueFd>>>(plan.dirs.size());
    size_t next = r.CodeFdCount();
    for (uint32_t i : r.with_dirs)
      (*dirs)[i] = std::make_shared<UniqueFd>(std::move((*fds)[next++]));
    std::shared_ptr<const engine::Module> module;
    std::shared_ptr<const platform::LoadedComponent> component;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < plan.dirs.size(); ++i) {
        if ((*dirs)[i]) continue;
        auto it = held_dirs_.find(plan.dirs[i].host_path);
        if (it != held_dirs_.end()) (*dirs)[i] = it->second.lock();
        if (!(*dirs)[i])
          return Status::FailedPrecondition("apply " + plan.id +
                                            ": the worker holds no descriptor for the granted "
                                            "directory " +
                                            plan.dirs[i].host_path + " and none was sent");
      }
      if (!r.with_code) {
        if (plan.code.component) {
          auto it = held_components_.find(code_name);
          if (it != held_components_.end()) component = it->second.lock();
        } else {
          auto it = held_code_.find(code_name);
          if (it != held_code_.end()) module = it->second.lock();
        }
        if (!module && !component)
          return Status::FailedPrecondition("apply " + plan.id + ": the worker holds no code for " +
                                            code_name + " and none was sent");
      }
    }
    if (r.with_code && plan.code.component) {
      platform::PortableComponent p;
      p.bytes = std::move((*fds)[0]);
      for (size_t i = 0; i < r.metas.size(); ++i) {
        engine::PortableCode code;
        code.tier = plan.code.tier;
        code.metering = plan.code.metering;
        code.meta = r.metas[i];
        code.fd = std::move((*fds)[1 + i]);
        p.modules.push_back(std::move(code));
      }
      // Each module's hash is the sha256 of its bytes in the component,
      // known only once the component is decoded: AdoptComponent fills it.
      auto c = platform::AdoptComponent(engine_, plan.code, std::move(p));
      if (!c.ok()) return c.status().WithContext("deployment " + plan.id);
      component = *c;
    } else if (r.with_code) {
      engine::PortableCode code;
      code.tier = plan.code.tier;
      code.metering = plan.code.metering;
      code.hash = plan.code.module_hash;
      code.meta = r.meta;
      code.fd = std::move((*fds)[0]);
      auto mod = engine::AdoptCode(engine_, std::move(code));
      if (!mod.ok()) return mod.status().WithContext("deployment " + plan.id);
      module = *mod;
    }
    auto run = std::make_shared<RunPlan>();
    run->plan = plan;
    if (component) {
      run->component = component;
      ARCELLA_RETURN_IF_ERROR(platform::CheckRunnable(plan, *run->component));
    } else {
      run->module = module;
      ARCELLA_RETURN_IF_ERROR(platform::CheckRunnable(plan, *run->module));
    }
    for (size_t i = 0; i < plan.dirs.size(); ++i) {
      const platform::PlanDir& d = plan.dirs[i];
      wasi::WasiConfig::Preopen p;
      p.host_path = d.host_path;
      p.guest_path = d.guest_path;
      p.read_only = d.read_only;
      p.host_fd = (*dirs)[i]->get();
      run->preopens.push_back(std::move(p));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (component) {
        held_components_[code_name] = component;
      } else {
        held_code_[code_name] = module;
      }
      for (size_t i = 0; i < plan.dirs.size(); ++i) held_dirs_[plan.dirs[i].host_path] = (*dirs)[i];
      // Entries no plan keeps alive any more go (a map of dead pointers
      // would grow with every code change).
      std::erase_if(held_code_, [](const auto& e) { return e.second.expired(); });
      std::erase_if(held_components_, [](const auto& e) { return e.second.expired(); });
      std::erase_if(held_dirs_, [](const auto& e) { return e.second.expired(); });
    }
    run->resources = dirs;  // the directory descriptors live as long as the plans using them
    return std::shared_ptr<const RunPlan>(std::move(run));
  }

  Result<std::shared_ptr<const RunPlan>> Staged(const DeploymentPlan& plan) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = staged_.find(plan.id);
    if (it == staged_.end() || !(it->second->plan == plan))
      return Status::Internal("worker: no code staged for deployment " + plan.id);
    return it->second;
  }

  void UpdateBudget() {
    uint64_t sum = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [dep, bytes] : budgets_) sum += bytes;
    }
    if (options_.memory_cap_bytes != 0 && (sum == 0 || sum > options_.memory_cap_bytes))
      sum = options_.memory_cap_bytes;
    engine_->SetMemoryBudget(sum);
  }

  void ForwardLog(const platform::LogLine& l) {
    LogMessage m;
    auto hash = l.replica.rfind('#');
    if (hash == std::string::npos) return;
    m.dep = l.replica.substr(0, hash);
    m.index = static_cast<uint32_t>(std::strtoul(l.replica.c_str() + hash + 1, nullptr, 10));
    m.stream = l.stream;
    m.line = l.line;
    (void)ch_->Send(EncodeLog(m));
  }

  // LinkCaller: a replica's call through a link goes to the daemon, which
  // resolves the link (docs/WORKER.md "Links"); values cross as WAVE text,
  // typed by the import here and by the daemon's own copy of the types
  // there. Waits until the answer, the importing call's interruption, or the
  // end of the connection.
  component::TrapOr<std::vector<component::Val>> CallLink(
      const platform::LinkCall& call, std::vector<component::Val> args) override {
    auto trap = [&](const std::string& why) {
      return engine::Trap{engine::TrapKind::kHostError, call.export_name,
                          "link to " + call.provider + ": " + why, 0};
    };
    const component::FuncType& f = *call.type;
    if (args.size() != f.params.size())
      return trap("expected " + std::to_string(f.params.size()) + " arguments, got " +
                  std::to_string(args.size()));
    if (host_->Has(call.provider) && !call.handles) {
      // A link within the worker's own group: the provider's replicas run
      // here, so the call stays here, with values (the daemon would route it
      // back to this worker). Same round robin and errors as the daemon's.
      // Not for resource handles: the daemon keeps those (LinkHandles).
      auto out = host_->CallValues(call.provider, call.export_name, std::move(args));
      if (!out.ok()) return trap(out.status().ToString());
      if (out->trap) return trap("trapped: " + out->trap->ToString());
      return std::move(out->results);
    }
    LinkCallRequest req;
    req.dep = call.importer;
    req.import_name = call.import_name;
    req.func = call.func;
    component::WaveOptions form{call.handles};
    if (call.handles) {
      if (call.scope == 0) return trap("resource handles cannot cross this link (no handle scope)");
      req.scope = call.scope;
    }
    req.args = component::PrintWaveArgs(f, args, form);
    auto wait = std::make_shared<LinkWait>();
    {
      std::lock_guard<std::mutex> lock(link_mu_);
      if (link_stop_) return trap("the daemon is gone");
      req.id = next_link_id_++;
      link_waits_[req.id] = wait;
    }
    auto forget = [&] {
      std::lock_guard<std::mutex> lock(link_mu_);
      link_waits_.erase(req.id);
    };
    // The link ring when a slot is free and the frame fits one; the
    // socket otherwise.
    int slot = -1;
    bool answered = false;                    // in the slot
    thread_local std::vector<uint8_t> frame;  // reused: no allocation per call
    if (link_ring_) {
      auto bytes = EncodeFrame(EncodeLinkCall(req));
      if (bytes.ok() && bytes->size() <= kRingSlotBytes) {
        frame = std::move(*bytes);
        SweepAbandonedLinkSlots();
        auto got = link_ring_->Acquire();
        if (got.ok()) slot = *got;
      }
    }
    if (slot >= 0) {
      link_ring_->Post(slot, frame);
      std::optional<LinkReply> in_slot;
      for (;;) {
        std::string why;
        auto r = link_ring_->Wait(slot, std::chrono::milliseconds(5), &frame, &why);
        if (r == RingClient::Poll::kReply) {
          auto body = DecodeFrameBody(std::span<const uint8_t>(frame).subspan(4));
          auto reply = body.ok() ? DecodeLinkReply(*body) : body.status();
          link_ring_->Release(slot);
          if (!reply.ok() || reply->id != req.id) {
            forget();
            return trap("the daemon's answer in the link ring: " +
                        (reply.ok() ? "for link call " + std::to_string(reply->id)
                                    : reply.status().message()));
          }
          in_slot = std::move(*reply);
          break;
        }
        if (r == RingClient::Poll::kSpilled) {  // the answer comes on the socket
          link_ring_->Release(slot);
          break;
        }
        if (r == RingClient::Poll::kBroken) {
          link_ring_->Release(slot);
          forget();
          return trap("the daemon's answer in the link ring: " + why);
        }
        const bool interrupted = call.interrupted && call.interrupted();
        bool stop = false;
        {
          std::lock_guard<std::mutex> lock(link_mu_);
          stop = link_stop_;
        }
        if (interrupted || stop) {
          // The daemon may still answer into the slot: it is given back
          // once it has (SweepAbandonedLinkSlots).
          {
            std::lock_guard<std::mutex> lock(link_mu_);
            abandoned_link_slots_.push_back(slot);
          }
          forget();
          if (stop) return trap("the daemon is gone");
          return engine::Trap{engine::TrapKind::kInterrupted, call.export_name,
                              "interrupted while calling " + call.provider + " through a link", 0};
        }
      }
      if (in_slot) {
        forget();  // the socket's reader no longer touches `wait`
        answered = true;
        wait->done = true;
        wait->reply = std::move(*in_slot);
      }
    } else if (Status st = ch_->Send(EncodeLinkCall(req)); !st.ok()) {
      forget();
      return trap("sending the call to the daemon: " + st.message());
    }
    if (!answered) {
      std::unique_lock<std::mutex> lock(link_mu_);
      while (!wait->done && !link_stop_) {
        if (call.interrupted && call.interrupted()) break;
        link_cv_.wait_for(lock, std::chrono::milliseconds(5));
      }
      link_waits_.erase(req.id);
      if (!wait->done) {
        if (link_stop_) return trap("the daemon is gone");
        return engine::Trap{engine::TrapKind::kInterrupted, call.export_name,
                            "interrupted while calling " + call.provider + " through a link", 0};
      }
    }
    LinkReply& r = wait->reply;
    if (!r.status.ok()) return trap(r.status.message());
    if (r.trap) return engine::Trap{engine::TrapKind::kHostError, call.export_name, *r.trap, 0};
    std::vector<component::Val> out;
    if (f.result) {
      if (!r.value) return trap("the daemon's answer has no value");
      auto v = component::ParseWave(*r.value, *f.result, form);
      if (!v.ok()) return trap("its result does not parse: " + v.status().message());
      out.push_back(std::move(*v));
    }
    return out;
  }

  // Gives back the link ring slots of interrupted link calls whose answers
  // have come since (the answers are dropped).
  void SweepAbandonedLinkSlots() {
    std::vector<int> done;
    {
      std::lock_guard<std::mutex> lock(link_mu_);
      if (abandoned_link_slots_.empty()) return;
      auto answered = [&](int slot) {
        const uint32_t st = link_ring_->ring().slot(slot)->state.load(std::memory_order_acquire);
        return st == kRingReply || st == kRingSpilled;
      };
      for (auto it = abandoned_link_slots_.begin(); it != abandoned_link_slots_.end();) {
        if (answered(*it)) {
          done.push_back(*it);
          it = abandoned_link_slots_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (int slot : done) link_ring_->Release(slot);
  }

  // Handle scopes of importing instances here; the daemon keeps the handles
  // (docs/WORKER.md "Resource handles").
  uint64_t NewLinkScope() override { return next_scope_.fetch_add(1, std::memory_order_relaxed); }
  void DropLinkHandle(uint64_t scope, uint32_t token) override {
    (void)ch_->Send(EncodeLinkDrop({scope, token}));
  }
  void EndLinkScope(uint64_t scope) override {
    (void)ch_->Send(EncodeLinkDrop({scope, std::nullopt}));
  }

  Channel* ch_;
  std::atomic<uint64_t> next_scope_{1};
  std::unique_ptr<RingServer> ring_;  // null: no call ring
  // The link ring's caller end (null: link calls on the socket). The caller
  // spins up to 100 us for the daemon's answer (at most 16 callers at once;
  // adaptive, call_ring.h), then sleeps on the slot: a link call answered in
  // the daemon takes ~11-14 us, one to a provider in another worker more
  // (bench/README.md), and a 20 us bound lost most of them to a sleep and a
  // wake-up (~50 us per worker -> daemon link call instead of ~13).
  static constexpr std::chrono::nanoseconds kLinkCallerSpin{100'000};
  static constexpr uint32_t kLinkCallerSpinners = 16;
  std::unique_ptr<RingClient> link_ring_;
  WorkerServerOptions options_;
  std::shared_ptr<engine::Engine> engine_;
  platform::EventBus events_;
  platform::LogHub logs_;
  std::unique_ptr<platform::InProcessHost> host_;
  uint64_t event_token_ = 0;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const RunPlan>> staged_;
  // Adopted code by CodeRefName and granted directories by host path, held
  // as long as a plan (staged_, or a replica's) uses them: later applies
  // that do not send them reuse these (docs/WORKER.md "Messages").
  std::map<std::string, std::weak_ptr<const engine::Module>> held_code_;
  std::map<std::string, std::weak_ptr<const platform::LoadedComponent>> held_components_;
  std::map<std::string, std::weak_ptr<UniqueFd>> held_dirs_;
  std::map<std::string, uint64_t> budgets_;
  std::map<std::string, uint64_t> log_tokens_;
  std::map<uint64_t, platform::CallControl*> in_flight_;  // read, not ended: cancellable
  // Call threads (CallThread).
  const size_t max_;
  std::mutex lf_mu_;
  std::condition_variable lf_cv_;    // idle call threads
  std::condition_variable done_cv_;  // Run(): stop_
  std::vector<std::thread> threads_;
  std::deque<Call> waiting_;  // calls past max_, in arrival order
  size_t running_ = 0;        // calls running
  size_t idle_ = 0;           // threads waiting in CallThread
  bool leader_ = false;       // a thread holds the reading role
  bool stop_ = false;
  int code_ = 0;
  // Ring threads (RingThread).
  std::mutex ring_mu_;
  std::vector<std::thread> ring_threads_;  // guarded by ring_mu_
  bool ring_stop_ = false;                 // guarded by ring_mu_
  // Link calls waiting for the daemon (CallLink).
  std::mutex link_mu_;
  std::condition_variable link_cv_;
  std::map<uint64_t, std::shared_ptr<LinkWait>> link_waits_;
  std::vector<int> abandoned_link_slots_;  // link ring slots of interrupted calls
  uint64_t next_link_id_ = 1;
  bool link_stop_ = false;
  Pool control_;
};

}  // namespace

int RunWorkerServer(Channel* channel, std::unique_ptr<CallRing> ring,
                    const WorkerServerOptions& options, std::unique_ptr<CallRing> link_ring) {
  Server server(channel, std::move(ring), options, std::move(link_ring));
  return server.Run();
}

}  // namespace arcella::worker
