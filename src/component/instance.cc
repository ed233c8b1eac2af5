// ComponentInstance: creation (imports, replay, exports), calls, limits.
#include "component/instance.h"

#include <string>
#include <utility>

#include "component/code_cache.h"
#include "component/instance_internal.h"
#include "engine/deadline.h"

namespace arcella::component {

namespace inst {

TypeRef SubstType(const TypeRef& t, const ResourceMap& m) {
  if (!t || m.empty()) return t;
  switch (t->kind) {
    case TypeKind::kOwn:
    case TypeKind::kBorrow: {
      auto it = m.find(t->resource.get());
      if (it == m.end()) return t;
      return t->kind == TypeKind::kOwn ? ValueType::Own(it->second) : ValueType::Borrow(it->second);
    }
    case TypeKind::kList:
    case TypeKind::kMap:  // elem is tuple<k, v>
    case TypeKind::kOption: {
      TypeRef e = SubstType(t->elem, m);
      if (e == t->elem) return t;
      auto n = std::make_shared<ValueType>(*t);
      n->elem = std::move(e);
      return n;
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      std::shared_ptr<ValueType> n;
      for (size_t i = 0; i < t->fields.size(); ++i) {
        TypeRef f = SubstType(t->fields[i].type, m);
        if (f == t->fields[i].type) continue;
        if (!n) n = std::make_shared<ValueType>(*t);
        n->fields[i].type = std::move(f);
      }
      return n ? TypeRef(n) : t;
    }
    case TypeKind::kVariant: {
      std::shared_ptr<ValueType> n;
      for (size_t i = 0; i < t->cases.size(); ++i) {
        TypeRef f = SubstType(t->cases[i].type, m);
        if (f == t->cases[i].type) continue;
        if (!n) n = std::make_shared<ValueType>(*t);
        n->cases[i].type = std::move(f);
      }
      return n ? TypeRef(n) : t;
    }
    case TypeKind::kResult: {
      TypeRef ok = SubstType(t->ok, m), err = SubstType(t->err, m);
      if (ok == t->ok && err == t->err) return t;
      auto n = std::make_shared<ValueType>(*t);
      n->ok = std::move(ok);
      n->err = std::move(err);
      return n;
    }
    default: return t;
  }
}

FuncType SubstFunc(const FuncType& f, const ResourceMap& m) {
  FuncType out = f;
  for (Field& p : out.params) p.type = SubstType(p.type, m);
  out.result = SubstType(out.result, m);
  return out;
}

}  // namespace inst

uint64_t ComponentInstance::Impl::Refill(engine::Instance& running) {
  // Take back what the other core instances hold, then hand the whole pool
  // to the one that ran out: fuel is consumed exactly from one pool.
  for (const auto& c : cores) {
    if (c.get() == &running) continue;
    uint64_t f = c->fuel();
    if (f == 0) continue;
    fuel_pool += f;
    (void)c->SetFuel(0);
  }
  if (fuel_pool == 0 && options.on_out_of_fuel) fuel_pool += options.on_out_of_fuel();
  uint64_t give = fuel_pool;
  fuel_pool = 0;
  return give;
}

Status ComponentInstance::Impl::CountInstance(const std::string& what) {
  if (++instances_made > kMaxInstances)
    return Status::FailedPrecondition("too many instances (more than " +
                                      std::to_string(kMaxInstances) + ") while instantiating " +
                                      what);
  return Status::Ok();
}

Result<std::shared_ptr<engine::Instance>> ComponentInstance::Impl::Instantiate(
    std::shared_ptr<const engine::Module> m, const engine::Linker& linker) {
  engine::InstanceOptions io;
  io.limits = options.limits;
  io.limits.deadline = std::chrono::nanoseconds{0};  // one deadline per Call, kept here
  if (fuel_limited) {
    io.limits.fuel = 0;
    io.on_out_of_fuel = [this](engine::Instance& i) { return Refill(i); };
  }
  // One interpreter store for the component's core instances: a core module
  // may import memories from two of them (multi-memory).
  if (!cores.empty()) io.store_with = cores.front().get();
  auto r = engine::Instance::Create(std::move(m), linker, io);
  if (!r.ok()) return r.status();
  cores.push_back(r.value());
  return r;
}

Result<std::shared_ptr<const engine::Module>> ComponentInstance::Impl::CompileModule(
    const Component& c, uint32_t index) {
  const CoreModule& cm = c.core_modules[index];
  const engine::Tier requested = tier;
  if (auto cached = FindCompiledModule(c.bytes, cm.bytes, *engine, requested)) {
    if (tier == engine::Tier::kAuto) tier = cached->tier();
    return cached;
  }
  engine::CompileOptions co;
  co.tier = requested;
  auto m = engine->Compile(cm.bytes, co);
  if (!m.ok())
    return Status(m.status().code(), "core module " + std::to_string(index) + " (at byte " +
                                         std::to_string(cm.offset) + "): " + m.status().message());
  RememberCompiledModule(c.bytes, cm.bytes, requested, m.value());
  if (tier == engine::Tier::kAuto) tier = m.value()->tier();  // the same for all modules
  return m;
}

void ComponentInstance::Impl::CollectExports(const std::string& prefix,
                                             const inst::RtInstance& in) {
  for (const auto& [name, it] : in.items) {
    std::string full = prefix.empty() ? name : prefix + "#" + name;
    if (it.sort == Sort::kFunc && it.func) {
      if (funcs.emplace(full, it.func).second) func_order.push_back(full);
    } else if (it.sort == Sort::kType && it.resource) {
      resources.emplace(full, it.resource);
    } else if (it.sort == Sort::kInstance && it.instance) {
      CollectExports(full, *it.instance);
    }
  }
}

ComponentInstance::ComponentInstance(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ComponentInstance::~ComponentInstance() = default;

Result<std::shared_ptr<ComponentInstance>> ComponentInstance::Create(
    const std::shared_ptr<engine::Engine>& engine, std::shared_ptr<const Component> component,
    const Linker& linker, const ComponentOptions& options) {
  if (!engine) return Status::InvalidArgument("no engine");
  if (!component) return Status::InvalidArgument("no component");
  if (options.limits.fuel && engine->config().metering != engine::Metering::kFuel)
    return Status::InvalidArgument(
        "a fuel limit needs an engine with fuel metering (EngineConfig::metering = kFuel)");
  if (options.limits.deadline.count() > 0 && engine->config().metering == engine::Metering::kNone)
    return Status::InvalidArgument(
        "a deadline needs an engine with interrupt or fuel metering (EngineConfig::metering)");
  auto impl = std::make_unique<Impl>();
  impl->engine = engine;
  impl->component = component;
  impl->options = options;
  impl->tier = options.tier;
  impl->fuel_limited = options.limits.fuel.has_value();
  impl->fuel_pool = options.limits.fuel.value_or(0);
  ARCELLA_RETURN_IF_ERROR(impl->ResolveImports(linker));
  auto state = std::make_unique<ComponentInstanceState>();
  auto frame = std::make_unique<inst::Frame>();
  frame->c = component.get();
  frame->state = state.get();
  frame->args = &impl->imports;
  impl->states.push_back(std::move(state));
  inst::Frame* top = frame.get();
  impl->frames.push_back(std::move(frame));
  ARCELLA_RETURN_IF_ERROR(impl->Replay(top));
  impl->CollectExports("", *top->exports);
  return std::shared_ptr<ComponentInstance>(new ComponentInstance(std::move(impl)));
}

std::vector<std::string> ComponentInstance::ExportedFuncs() const { return impl_->func_order; }

const FuncType* ComponentInstance::FuncTypeOf(std::string_view name) const {
  auto it = impl_->funcs.find(name);
  return it == impl_->funcs.end() ? nullptr : &it->second->type;
}

ResourceRef ComponentInstance::ResourceTypeOf(std::string_view name) const {
  auto it = impl_->resources.find(name);
  return it == impl_->resources.end() ? nullptr : it->second;
}

std::vector<std::pair<std::string, ResourceRef>> ComponentInstance::ExportedResources() const {
  return {impl_->resources.begin(), impl_->resources.end()};
}

Result<CallResult> ComponentInstance::Call(std::string_view name, std::vector<Val> args) {
  auto it = impl_->funcs.find(name);
  if (it == impl_->funcs.end())
    return Status::NotFound("no exported function named \"" + std::string(name) + "\"");
  const inst::CompFunc& f = *it->second;
  if (args.size() != f.type.params.size())
    return Status::InvalidArgument("\"" + std::string(name) + "\" takes " +
                                   std::to_string(f.type.params.size()) + " argument(s), got " +
                                   std::to_string(args.size()));
  for (size_t i = 0; i < args.size(); ++i) {
    std::string why;
    if (!ValMatches(args[i], *f.type.params[i].type, &why))
      return Status::InvalidArgument("\"" + std::string(name) + "\" argument " +
                                     f.type.params[i].name + ": " + why);
  }
  return impl_->RunOutermost(name, [&] { return InvokeFunc(f.fn, std::move(args)); });
}

CallResult ComponentInstance::Impl::RunOutermost(
    std::string_view name, const std::function<TrapOr<std::vector<Val>>()>& run) {
  Impl& m = *this;
  if (m.poisoned) {
    CallResult r;
    r.trap = engine::Trap{.kind = engine::TrapKind::kHostError,
                          .function = std::string(name),
                          .message = "cannot enter component instance: an earlier call trapped (" +
                                     *m.poisoned + ")"};
    return r;
  }
  engine::DeadlineWatchdog* wd = nullptr;
  uint64_t token = 0;
  bool outermost = m.call_depth++ == 0;
  if (outermost && m.options.limits.deadline.count() > 0) {
    wd = &m.engine->watchdog();
    token = wd->Arm(engine::DeadlineWatchdog::Clock::now() + m.options.limits.deadline, [&m] {
      for (const auto& c : m.cores) c->ExpireDeadline();
    });
  }
  auto out = run();
  if (token) wd->Cancel(token);
  // A core instance that did not run keeps no stale interrupt for later calls.
  if (--m.call_depth == 0)
    for (const auto& c : m.cores) c->ClearInterrupt();
  CallResult r;
  if (out.ok()) {
    r.results = std::move(out).value();
  } else {
    r.trap = out.take_trap();
    if (m.call_depth == 0) m.poisoned = r.trap->ToString();
  }
  return r;
}

Result<CallResult> ComponentInstance::DropResource(const ResourceRef& rt, uint32_t rep) {
  Impl& m = *impl_;
  auto it = rt ? m.resource_impls.find(rt.get()) : m.resource_impls.end();
  bool ours = false;
  if (it != m.resource_impls.end())
    for (const auto& st : m.states) ours = ours || st.get() == it->second.impl;
  if (!ours)
    return Status::NotFound("no resource " + (rt ? "'" + rt->name + "'" : std::string("(none)")) +
                            " implemented by this instance");
  const ResourceImpl& ri = it->second;
  std::string name = "[dtor]" + rt->name;
  return m.RunOutermost(name, [&]() -> TrapOr<std::vector<Val>> {
    if (!ri.dtor) return std::vector<Val>{};
    if (!ri.impl->MayEnterFrom(nullptr))
      return engine::Trap{engine::TrapKind::kHostError, name,
                          "resource destructor of '" + rt->name +
                              "' would reenter its component instance",
                          0};
    ri.impl->EnterFrom(nullptr);
    MaybeTrap t = ri.dtor(rep);
    ri.impl->LeaveTo(nullptr);
    if (t) return *t;
    return std::vector<Val>{};
  });
}

void ComponentInstance::Interrupt() {
  for (const auto& c : impl_->cores) c->Interrupt();
}

uint64_t ComponentInstance::fuel_consumed() const {
  uint64_t n = 0;
  for (const auto& c : impl_->cores) n += c->fuel_consumed();
  return n;
}

Status ComponentInstance::SetFuel(uint64_t fuel) {
  Impl& m = *impl_;
  if (!m.fuel_limited)
    return Status::FailedPrecondition("the component instance was created without a fuel limit");
  if (m.call_depth != 0) return Status::FailedPrecondition("SetFuel during a call");
  for (const auto& c : m.cores) (void)c->SetFuel(0);
  m.fuel_pool = fuel;
  return Status::Ok();
}

bool ComponentInstance::poisoned() const { return impl_->poisoned.has_value(); }

}  // namespace arcella::component
