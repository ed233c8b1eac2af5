// Guest for a core module: an engine::Instance with WASI preview 1 when the
// module imports it (or is a command).
#include <mutex>

#include "engine/value_text.h"
#include "platform/guest.h"
#include "platform/guest_internal.h"
#include "wasi/wasi.h"

namespace arcella::platform {
namespace {

bool ImportsWasi(const engine::Module& m) {
  for (const auto& imp : m.imports())
    if (imp.module == "wasi_snapshot_preview1") return true;
  return false;
}

class CoreGuest : public Guest {
 public:
  explicit CoreGuest(std::shared_ptr<const engine::Module> module) : module_(std::move(module)) {}

  Status Init(const RunPlan& run, const GuestSetup& setup, std::shared_ptr<CoreGuest> self) {
    engine::Linker linker;
    if (run.plan.command || ImportsWasi(*module_)) {
      wasi::WasiConfig cfg = WasiConfigFor(run, setup);
      // Blocking WASI calls end when the guest is interrupted (stop,
      // deadline). Weak: the instance owns this context through its imports.
      std::weak_ptr<CoreGuest> weak = self;
      auto outer = setup.interrupted;
      cfg.interrupted = [weak, outer] {
        if (outer && outer()) return true;
        auto g = weak.lock();
        return g && g->InterruptPending();
      };
      auto ctx = wasi::WasiCtx::Create(std::move(cfg));
      if (!ctx.ok()) return ctx.status();
      ARCELLA_RETURN_IF_ERROR((*ctx)->AddToLinker(linker));
    }
    engine::InstanceOptions opts;
    opts.limits.fuel = run.plan.fuel;
    opts.limits.max_memory_bytes = run.plan.max_memory_bytes;
    opts.limits.deadline = run.plan.timeout;
    std::weak_ptr<CoreGuest> weak = self;
    opts.on_attach = [weak](engine::Instance& i) {
      auto g = weak.lock();
      if (!g) return;
      std::lock_guard<std::mutex> lock(g->mu_);
      g->booting_ = i.shared_from_this();
      if (g->interrupt_requested_) i.Interrupt();
    };
    auto inst = engine::Instance::Create(module_, linker, opts);
    if (!inst.ok()) return inst.status();
    std::lock_guard<std::mutex> lock(mu_);
    instance_ = *inst;
    if (interrupt_requested_) instance_->Interrupt();
    return Status::Ok();
  }

  Status Initialize() override {
    const auto* init = module_->FindExport("_initialize");
    if (!init || init->desc.kind != engine::ExternKind::kFunc) return Status::Ok();
    auto out = instance_->Call("_initialize", {});
    if (!out.ok()) return Status::FailedPrecondition("_initialize: " + out.status().message());
    if (out->trap) return Status::FailedPrecondition("_initialize: trap: " + out->trap->ToString());
    return Status::Ok();
  }

  Result<GuestResult> Run() override {
    ARCELLA_ASSIGN_OR_RETURN(auto out, instance_->Call("_start", {}));
    GuestResult r;
    r.trap = out.trap;
    return r;
  }

  Result<GuestResult> Call(std::string_view name, const std::vector<std::string>& args) override {
    const auto* fn = module_->FindExport(name);
    if (!fn || fn->desc.kind != engine::ExternKind::kFunc)
      return Status::NotFound("no exported function \"" + std::string(name) + "\"");
    ARCELLA_ASSIGN_OR_RETURN(auto values, engine::ParseArgs(name, fn->desc.func, args));
    ARCELLA_ASSIGN_OR_RETURN(auto out, instance_->Call(name, values));
    GuestResult r;
    r.trap = out.trap;
    for (const auto& v : out.results) r.results.push_back(engine::FormatValue(v));
    return r;
  }

  Status SetFuel(uint64_t fuel) override { return instance_->SetFuel(fuel); }

  void Interrupt() override {
    std::lock_guard<std::mutex> lock(mu_);
    interrupt_requested_ = true;
    if (instance_) instance_->Interrupt();
    if (auto b = booting_.lock()) b->Interrupt();
  }
  bool InterruptPending() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return instance_ && instance_->InterruptPending();
  }

 private:
  const std::shared_ptr<const engine::Module> module_;
  mutable std::mutex mu_;
  std::shared_ptr<engine::Instance> instance_;
  std::weak_ptr<engine::Instance> booting_;  // during Create (start function)
  bool interrupt_requested_ = false;         // a stop before the instance existed
};

}  // namespace

wasi::WasiConfig WasiConfigFor(const RunPlan& run, const GuestSetup& setup) {
  wasi::WasiConfig cfg;
  cfg.args = {setup.program_name};
  cfg.env = run.plan.env;
  cfg.preopens = run.preopens;
  if (setup.stdout_sink) cfg.stdout_stream.sink = setup.stdout_sink;
  if (setup.stderr_sink) cfg.stderr_stream.sink = setup.stderr_sink;
  cfg.interrupted = setup.interrupted;
  return cfg;
}

Result<std::shared_ptr<Guest>> CreateCoreGuest(const RunPlan& run, const GuestSetup& setup) {
  auto g = std::make_shared<CoreGuest>(run.module);
  if (setup.on_attach) setup.on_attach(g);
  ARCELLA_RETURN_IF_ERROR(g->Init(run, setup, g));
  return std::shared_ptr<Guest>(std::move(g));
}

}  // namespace arcella::platform
