// Guest for a component: a ComponentInstance with WASI 0.2 (the same
// capability layer as preview 1: the plan's directories and environment
// only, stdout/stderr to the replica's log).
//
// A call that traps poisons a component instance (component/instance.h);
// the guest then makes a fresh instance before its next call, so a reactor
// replica keeps serving (each trap costs one instantiation).
#include <atomic>
#include <functional>
#include <map>
#include <mutex>

#include "component/export_names.h"
#include "component/instance.h"
#include "component/linker.h"
#include "component/wasip2/wasi_p2.h"
#include "component/wave.h"
#include "platform/guest.h"
#include "platform/guest_internal.h"
#include "platform/http_call.h"

namespace arcella::platform {
namespace {

namespace comp = arcella::component;

// Ids of component instances in this process (GuestResult::instance).
std::atomic<uint64_t> next_instance_id{1};

class ComponentGuest : public Guest {
 public:
  ComponentGuest(const RunPlan& run, GuestSetup setup) : run_(run), setup_(std::move(setup)) {
    exports_ = comp::ExportedFuncNames(*run_.component->component);
    for (const PlanLink& l : run_.plan.links)
      if (!comp::ImportedResources(*run_.component->component, l.import).empty())
        link_resources_ = true;
  }

  ~ComponentGuest() override {
    if (link_scope_ && setup_.links) setup_.links->EndLinkScope(link_scope_);
  }

  // Makes (or remakes) the instance.
  Status Instantiate(const std::shared_ptr<ComponentGuest>& self) {
    wasi::WasiConfig cfg = WasiConfigFor(run_, setup_);
    std::weak_ptr<ComponentGuest> weak = self;
    auto outer = setup_.interrupted;
    cfg.interrupted = [weak, outer] {
      if (outer && outer()) return true;
      auto g = weak.lock();
      return g && g->InterruptPending();
    };
    auto wasi = comp::WasiP2::Create(std::move(cfg));
    if (!wasi.ok()) return wasi.status();
    comp::Linker linker;
    ARCELLA_RETURN_IF_ERROR((*wasi)->AddToLinker(linker));
    // The handles the new instance takes through links live in a scope of
    // its own; the old instance's end with it.
    uint64_t scope = link_resources_ && setup_.links ? setup_.links->NewLinkScope() : 0;
    struct EndScope {
      LinkCaller* links;
      uint64_t scope;
      ~EndScope() {
        if (scope) links->EndLinkScope(scope);
      }
    } unused{setup_.links, scope};
    ARCELLA_RETURN_IF_ERROR(DefineLinks(linker, scope));
    comp::ComponentOptions opts;
    opts.tier = run_.component->tier;
    opts.limits.fuel = run_.plan.fuel;
    opts.limits.max_memory_bytes = run_.plan.max_memory_bytes;
    opts.limits.deadline = run_.plan.timeout;
    auto inst = comp::ComponentInstance::Create(run_.component->engine, run_.component->component,
                                                linker, opts);
    if (!inst.ok()) return inst.status();
    std::shared_ptr<comp::ComponentInstance> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      old = std::move(instance_);
      instance_ = *inst;
      instance_id_ = next_instance_id.fetch_add(1, std::memory_order_relaxed);
      wasi_ = *wasi;
      if (interrupt_requested_) instance_->Interrupt();
    }
    std::swap(unused.scope, link_scope_);  // the old scope ends here
    old.reset();
    return Status::Ok();
  }

  Status Initialize() override { return Status::Ok(); }

  Result<GuestResult> Run() override {
    std::string run;
    if (!IsCommandComponent(*run_.component->component, &run))
      return Status::FailedPrecondition("component exports no wasi:cli/run@0.2.x#run");
    ARCELLA_ASSIGN_OR_RETURN(auto out, Instance()->Call(run, {}));
    GuestResult r;
    r.trap = out.trap;
    if (!r.trap && wasi_->exit_code()) {
      r.trap = engine::Trap{engine::TrapKind::kExit, run, "", *wasi_->exit_code()};
    } else if (!r.trap && out.results.size() == 1 &&
               out.results[0].kind == comp::TypeKind::kResult && out.results[0].index != 0) {
      // run returned err: exit code 1, as wasmtime.
      r.trap = engine::Trap{engine::TrapKind::kExit, run, "", 1};
    }
    return r;
  }

  Result<GuestResult> Call(std::string_view written,
                           const std::vector<std::string>& args) override {
    if (written == kHttpCall) return ServeHttp(args);
    comp::ExportMatch m = comp::ResolveExportName(written, exports_);
    if (m.name.empty()) return Status::NotFound(run_.plan.module_id + " " + m.error);
    const comp::FuncType* f = comp::ExportedFuncType(*run_.component->component, m.name);
    if (!f) return Status::NotFound(run_.plan.module_id + ": no type for export " + m.name);
    ARCELLA_ASSIGN_OR_RETURN(std::vector<comp::Val> values, ParseArgs(m.name, *f, args));
    ARCELLA_ASSIGN_OR_RETURN(auto inst, Usable());
    ARCELLA_ASSIGN_OR_RETURN(auto out, inst->Call(m.name, std::move(values)));
    CallEnded();
    GuestResult r;
    r.trap = out.trap;
    // The instance's own export type (its resources bound) prints the result.
    const comp::FuncType* live = inst->FuncTypeOf(m.name);
    if (!r.trap && live && live->result && !out.results.empty()) {
      r.results.push_back(comp::PrintWave(out.results[0], *live->result));
      r.value = std::move(out.results[0]);
      r.type = live->result;
    }
    return r;
  }

  // One HTTP request (http_call.h): the request's resources made in this
  // instance's WASI, `handle` called, the response the guest set encoded as
  // the one result. A handler that traps, sets no response (or an error),
  // or leaves its body unfinished ends the call with a trap saying so.
  Result<GuestResult> ServeHttp(const std::vector<std::string>& args) {
    std::string handler = HttpHandlerExport(exports_);
    if (handler.empty())
      return Status::NotFound(run_.plan.module_id +
                              " exports no wasi:http/incoming-handler: it does not serve HTTP");
    if (args.size() != 1)
      return Status::InvalidArgument("an HTTP call takes one argument, got " +
                                     std::to_string(args.size()));
    ARCELLA_ASSIGN_OR_RETURN(comp::HttpRequest request, DecodeHttpRequest(args[0]));
    ARCELLA_ASSIGN_OR_RETURN(auto inst, Usable());
    std::shared_ptr<comp::WasiP2> wasi;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wasi = wasi_;
    }
    ARCELLA_ASSIGN_OR_RETURN(std::vector<comp::Val> handles,
                             wasi->NewIncomingRequest(std::move(request), kMaxHttpBody));
    comp::Val outparam = handles[1];
    ARCELLA_ASSIGN_OR_RETURN(auto out, inst->Call(handler, std::move(handles)));
    CallEnded();
    auto response = wasi->TakeResponse(outparam);
    GuestResult r;
    r.trap = out.trap;
    if (!r.trap && !response.ok())  // the guest's fault, as a trap is
      r.trap = engine::Trap{engine::TrapKind::kHostError, handler, response.status().message(), 0};
    if (!r.trap) r.results.push_back(EncodeHttpResponse(*response));
    return r;
  }

  Result<GuestResult> CallValues(std::string_view name, std::vector<comp::Val> args,
                                 uint64_t instance) override {
    if (instance && (instance != InstanceId() || Instance()->poisoned()))
      return Status::Unavailable(Gone(instance));
    ARCELLA_ASSIGN_OR_RETURN(auto inst, Usable());
    uint64_t id = InstanceId();
    ARCELLA_ASSIGN_OR_RETURN(auto out, inst->Call(name, std::move(args)));
    CallEnded();
    GuestResult r;
    r.trap = out.trap;
    r.instance = id;
    if (!r.trap && !out.results.empty()) r.value = std::move(out.results[0]);
    return r;
  }

  Status DropResource(std::string_view resource, uint32_t rep, uint64_t instance) override {
    auto inst = Instance();
    if (instance != InstanceId() || inst->poisoned()) return Status::Ok();  // gone with it
    comp::ResourceRef rt = inst->ResourceTypeOf(resource);
    if (!rt)
      return Status::NotFound(run_.plan.module_id + " exports no resource " +
                              std::string(resource));
    ARCELLA_ASSIGN_OR_RETURN(auto out, inst->DropResource(rt, rep));
    CallEnded();
    if (out.trap)
      return Status::FailedPrecondition("the destructor of " + std::string(resource) +
                                        " trapped: " + out.trap->ToString());
    return Status::Ok();
  }

  Status SetFuel(uint64_t fuel) override {
    fuel_ = fuel;
    return Instance()->SetFuel(fuel);
  }

  void Interrupt() override {
    pending_.store(true, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    interrupt_requested_ = true;
    if (instance_) instance_->Interrupt();
  }
  bool InterruptPending() const override { return pending_.load(std::memory_order_relaxed); }

  std::weak_ptr<ComponentGuest> self_;

 private:
  // The instance for the next call: after a trap poisoned it, a fresh one
  // (with the fuel of the call).
  Result<std::shared_ptr<comp::ComponentInstance>> Usable() {
    if (Instance()->poisoned()) {
      ARCELLA_RETURN_IF_ERROR(Instantiate(self_.lock()));
      if (fuel_) ARCELLA_RETURN_IF_ERROR(Instance()->SetFuel(*fuel_));
    }
    return Instance();
  }

  // A call is over: an Interrupt() it got (a cancel) is spent. Kept, it
  // would interrupt the instance made after the trap it caused, and so the
  // next, innocent call (a stop interrupts the replica's calls anyway).
  void CallEnded() {
    pending_.store(false, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    interrupt_requested_ = false;
  }

  std::shared_ptr<comp::ComponentInstance> Instance() {
    std::lock_guard<std::mutex> lock(mu_);
    return instance_;
  }
  uint64_t InstanceId() {
    std::lock_guard<std::mutex> lock(mu_);
    return instance_id_;
  }
  std::string Gone(uint64_t instance) const {
    return "the instance of " + run_.plan.id + " that held the resource (" +
           std::to_string(instance) + ") is gone: it was replaced after a trap";
  }

  // Each linked import becomes host functions that call the provider. The
  // resources its interface declares become host resources whose
  // representations are the scope's tokens (LinkHandles); dropping one
  // forwards the drop.
  Status DefineLinks(comp::Linker& linker, uint64_t scope) const {
    for (const PlanLink& l : run_.plan.links) {
      const comp::ExternDecl* imp = nullptr;
      for (const auto& d : run_.component->component->type.imports)
        if (d.name.text == l.import) imp = &d;
      if (!imp)
        return Status::FailedPrecondition("link " + l.import + ": the component imports no " +
                                          l.import);
      std::map<const comp::ResourceType*, comp::ResourceRef> bind;
      for (const auto& [name, abstract] :
           comp::ImportedResources(*run_.component->component, l.import)) {
        auto host = std::make_shared<comp::ResourceType>(comp::ResourceType{l.import + "#" + name});
        bind[abstract.get()] = host;
        LinkCaller* caller = setup_.links;
        ARCELLA_RETURN_IF_ERROR(
            linker.DefineResource(l.import, name, host, [caller, scope](uint32_t token) {
              if (caller) caller->DropLinkHandle(scope, token);
            }));
      }
      auto forward = [this, caller = setup_.links, &l, scope](std::string func,
                                                              const comp::FuncType* type) {
        LinkCall call;
        call.importer = run_.plan.id;
        call.import_name = l.import;
        call.provider = l.provider;
        call.export_name = func.empty() ? l.export_name : l.export_name + "#" + func;
        call.func = std::move(func);
        call.type = type;
        call.interrupted = setup_.interrupted;
        call.scope = scope;
        call.handles = comp::HasHandles(*type);
        return [caller, call = std::move(call)](
                   std::vector<comp::Val> args) -> comp::TrapOr<std::vector<comp::Val>> {
          if (!caller)
            return engine::Trap{engine::TrapKind::kHostError, call.export_name,
                                "link to " + call.provider + ": no link caller in this host", 0};
          return caller->CallLink(call, std::move(args));
        };
      };
      if (imp->type.sort == comp::Sort::kFunc && imp->type.func) {
        ARCELLA_RETURN_IF_ERROR(
            linker.DefineFunc("", l.import, *imp->type.func, forward("", imp->type.func.get())));
      } else if (imp->type.sort == comp::Sort::kInstance && imp->type.instance) {
        for (const auto& f : imp->type.instance->exports)
          if (f.type.sort == comp::Sort::kFunc && f.type.func)
            ARCELLA_RETURN_IF_ERROR(linker.DefineFunc(l.import, f.name.text,
                                                      comp::BindResources(*f.type.func, bind),
                                                      forward(f.name.text, f.type.func.get())));
      }
    }
    return Status::Ok();
  }

  // One WAVE text per parameter; trailing option parameters may be left out.
  static Result<std::vector<comp::Val>> ParseArgs(const std::string& name, const comp::FuncType& f,
                                                  const std::vector<std::string>& args) {
    size_t required = f.params.size();
    while (required > 0 && f.params[required - 1].type &&
           f.params[required - 1].type->kind == comp::TypeKind::kOption)
      --required;
    if (args.size() < required || args.size() > f.params.size()) {
      return Status::InvalidArgument(name + " takes " + std::to_string(f.params.size()) +
                                     " argument(s) (" + f.ToString() + "), got " +
                                     std::to_string(args.size()));
    }
    std::vector<comp::Val> out;
    for (size_t i = 0; i < f.params.size(); ++i) {
      if (i >= args.size()) {
        out.push_back(comp::Val::None());
        continue;
      }
      auto v = comp::ParseWave(args[i], *f.params[i].type);
      if (!v.ok())
        return Status::InvalidArgument(name + ": argument " + std::to_string(i + 1) + " (" +
                                       f.params[i].name + "): " + v.status().message());
      out.push_back(std::move(*v));
    }
    return out;
  }

  const RunPlan run_;
  const GuestSetup setup_;
  std::vector<std::string> exports_;
  std::optional<uint64_t> fuel_;
  std::atomic<bool> pending_{false};
  mutable std::mutex mu_;
  std::shared_ptr<comp::ComponentInstance> instance_;
  std::shared_ptr<comp::WasiP2> wasi_;
  uint64_t instance_id_ = 0;
  bool interrupt_requested_ = false;  // an Interrupt() since the last call ended
  bool link_resources_ = false;       // a link's interface declares resources
  uint64_t link_scope_ = 0;           // the live instance's (Instantiate)
};

}  // namespace

Result<std::shared_ptr<Guest>> CreateComponentGuest(const RunPlan& run, const GuestSetup& setup) {
  auto g = std::make_shared<ComponentGuest>(run, setup);
  g->self_ = g;
  if (setup.on_attach) setup.on_attach(g);
  ARCELLA_RETURN_IF_ERROR(g->Instantiate(g));
  return std::shared_ptr<Guest>(std::move(g));
}

Result<std::shared_ptr<Guest>> CreateGuest(const RunPlan& run, const GuestSetup& setup) {
  if (run.component) return CreateComponentGuest(run, setup);
  return CreateCoreGuest(run, setup);
}

std::vector<std::string> CallableExports(const RunPlan& run) {
  if (run.component) return comp::ExportedFuncNames(*run.component->component);
  std::vector<std::string> names;
  for (const auto& e : run.module->exports())
    if (e.desc.kind == engine::ExternKind::kFunc && e.name != "_initialize" && e.name != "_start")
      names.push_back(e.name);
  return names;
}

}  // namespace arcella::platform
