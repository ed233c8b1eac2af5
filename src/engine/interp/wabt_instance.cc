// C++17, wabt side: calls, host functions, globals and memories.
#include "engine/interp/wabt_instance.h"

#include <algorithm>

#include "engine/interp/wabt_private.h"
#include "engine/rt/arcella_rt.h"

namespace arcella::engine::interp::glue {

namespace {

// Native-stack guard: host->guest->host... nesting depth on one OS thread.
constexpr size_t kMaxNesting = 256;

// Per-OS-thread state of the running calls.
struct CallContext {
  std::vector<wi::Thread*> active;  // wabt Threads running on this OS thread
  // The trap a host function raised, keyed by the wabt Trap object carrying it.
  bool pending = false;
  size_t pending_ref = 0;
  GTrap pending_trap;
};
thread_local CallContext t_ctx;

constexpr uint64_t kPageBytes = 65536;

GTrap HostError(std::string msg) {
  GTrap t;
  t.trap.kind = TrapKind::kHostError;
  t.trap.message = std::move(msg);
  return t;
}

}  // namespace

InstanceImpl::InstanceImpl(std::shared_ptr<StoreGroup> group, void* user, uint32_t max_depth)
    : group_(std::move(group)), user_(user), max_depth_(max_depth) {}

InstanceImpl::~InstanceImpl() {
  if (budget_ != nullptr) {
    SettleGrowth();
    for (const OwnedMemory& m : owned_)
      arcella_mem_budget_release(budget_, m.charged_pages * kPageBytes);
  }
  std::lock_guard<std::recursive_mutex> lock(group_->mu);
  for (auto& b : bindings_) b->importer = nullptr;
  bindings_.clear();
  if (inst_) {
    inst_->set_host_info(nullptr);
    inst_.reset();
  }
  // A private group dies with us; a shared one reclaims our objects now.
  if (group_.use_count() > 1) group_->MaybeCollect(/*force=*/true);
}

std::optional<GTrap> InstanceImpl::RunStart() {
  if (!start_) return std::nullopt;
  std::lock_guard<std::recursive_mutex> lock(group_->mu);
  wi::Func::Ptr fn{group_->store, inst_->funcs()[*start_]};
  start_.reset();
  wi::Values results;
  std::optional<GTrap> t = Run(fn, {}, &results);
  group_->MaybeCollect();
  return t;
}

void InstanceImpl::Attach(wi::Instance::Ptr inst, std::optional<uint32_t> start) {
  inst_ = std::move(inst);
  start_ = start;
  inst_->set_host_info(this);
  for (auto& b : bindings_) b->importer = this;
  wi::Store& store = group_->store;
  const wi::RefVec& exports = inst_->exports();
  export_memories_.assign(exports.size(), nullptr);
  export_globals_.assign(exports.size(), nullptr);
  for (size_t i = 0; i < exports.size(); ++i) {
    if (store.Is<wi::Memory>(exports[i]))
      export_memories_[i] = store.UnsafeGet<wi::Memory>(exports[i]).get();
    else if (store.Is<wi::Global>(exports[i]))
      export_globals_[i] = store.UnsafeGet<wi::Global>(exports[i]).get();
  }
  if (!inst_->memories().empty())
    memory0_ = store.UnsafeGet<wi::Memory>(inst_->memories()[0]).get();
  const wi::RefVec& mems = inst_->memories();
  for (size_t i = 0; i < owned_.size() && i < mems.size(); ++i)
    owned_[i].memory = store.UnsafeGet<wi::Memory>(mems[mems.size() - owned_.size() + i]).get();
}

bool InstanceImpl::ChargeMemories(arcella_mem_budget* budget, const wi::ModuleDesc& desc,
                                  size_t imported, std::string* error) {
  budget_ = budget;
  for (size_t i = 0; i < desc.memories.size(); ++i) {
    const wabt::Limits& l = desc.memories[i].type.limits;
    uint64_t left = 0;
    if (!arcella_mem_budget_reserve(budget, l.initial * kPageBytes, &left)) {
      *error = "memory " + std::to_string(imported + i) + " needs " +
               std::to_string(l.initial * kPageBytes) +
               " bytes initially; the engine's memory budget of " +
               std::to_string(arcella_mem_budget_limit(budget)) + " bytes has " +
               std::to_string(left) + " left";
      return false;
    }
    owned_.push_back({nullptr, l.initial, l.has_max ? l.max : 65536});
  }
  return true;
}

void InstanceImpl::ReserveGrowth() {
  const uint64_t limit = arcella_mem_budget_limit(budget_);
  for (OwnedMemory& m : owned_) {
    if (m.memory == nullptr) continue;
    auto& lim = const_cast<wi::MemoryType&>(m.memory->type()).limits;  // NOLINT
    uint64_t room = m.max_pages > m.charged_pages ? m.max_pages - m.charged_pages : 0;
    if (limit != 0 && room != 0) {
      // Take what is left (up to `room` pages), retrying smaller amounts
      // as other instances take their share.
      uint64_t left = 0;
      while (room != 0 && !arcella_mem_budget_reserve(budget_, room * kPageBytes, &left))
        room = std::min(room - 1, left / kPageBytes);
      m.charged_pages += room;
    }
    lim.max = limit == 0 ? m.max_pages : m.charged_pages;
  }
}

void InstanceImpl::SettleGrowth() {
  for (OwnedMemory& m : owned_) {
    if (m.memory == nullptr) continue;
    const uint64_t pages = m.memory->PageSize();
    if (pages < m.charged_pages) {
      arcella_mem_budget_release(budget_, (m.charged_pages - pages) * kPageBytes);
    } else if (pages > m.charged_pages) {
      // Grown without a reservation (no limit, or through an importer).
      arcella_mem_budget_reserve_always(budget_, (pages - m.charged_pages) * kPageBytes);
    }
    m.charged_pages = pages;
    const_cast<wi::MemoryType&>(m.memory->type()).limits.max = m.max_pages;  // NOLINT
  }
}

int64_t InstanceImpl::FuncIndexOf(wi::Ref func) const {
  const wi::RefVec& funcs = inst_->funcs();
  for (size_t i = 0; i < funcs.size(); ++i)
    if (funcs[i] == func) return static_cast<int64_t>(i);
  return -1;
}

std::optional<GTrap> InstanceImpl::Run(const wi::Func::Ptr& func, const wi::Values& params,
                                       wi::Values* results) {
  CallContext& ctx = t_ctx;
  size_t outer = 0;
  for (wi::Thread* t : ctx.active) outer += interp_private::Frames(*t).size();
  if (outer >= max_depth_ || ctx.active.size() >= kMaxNesting) {
    GTrap t;
    t.trap.kind = TrapKind::kStackExhausted;
    return t;
  }
  wi::Thread thread(group_->store);
  auto& frames = interp_private::Frames(thread);
  std::vector<wi::Frame>().swap(frames);
  frames.reserve(max_depth_ - outer);  // wabt's PushCall traps at capacity()

  ctx.active.push_back(&thread);
  if (budget_ != nullptr && running_++ == 0) ReserveGrowth();
  wi::Trap::Ptr trap;
  wabt::Result r = func->Call(thread, params, *results, &trap);
  if (budget_ != nullptr && --running_ == 0) SettleGrowth();
  ctx.active.pop_back();
  // wabt 1.0.32 bug: when call_indirect hits the frame limit, Thread::DoCall
  // sets *out_trap but reports success and the caller runs on. A trap object
  // after a "successful" call is that swallowed trap: report it.
  if (wabt::Succeeded(r) && !trap) return std::nullopt;
  if (!trap) return HostError("interpreter call failed");
  if (ctx.pending && ctx.pending_ref == trap.ref().index) {
    ctx.pending = false;
    return std::move(ctx.pending_trap);
  }
  GTrap gt;
  gt.trap = TrapFromMessage(trap->message());
  const auto& trace = interp_private::Trace(*trap);
  if (!trace.empty()) gt.func_index = FuncIndexOf(trace.back().func);
  return gt;
}

std::optional<GTrap> InstanceImpl::Call(uint32_t export_index, const std::vector<GValue>& args,
                                        std::vector<GValue>* results) {
  std::lock_guard<std::recursive_mutex> lock(group_->mu);
  wi::Store& store = group_->store;
  wi::Func::Ptr func{store, inst_->exports().at(export_index)};
  wi::Values params(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    if (auto err = ToWabt(*group_, args[i], &params[i]))
      return HostError("argument " + std::to_string(i) + ": " + *err);
  }
  wi::Values out;
  std::optional<GTrap> trap = Run(func, params, &out);
  if (!trap) {
    const wi::ValueTypes& types = func->type().results;
    results->resize(out.size());
    for (size_t i = 0; i < out.size(); ++i) (*results)[i] = FromWabt(*group_, types[i], out[i]);
  }
  group_->MaybeCollect();
  return trap;
}

wabt::Result CallHost(HostBinding& b, wi::Thread& thread, const wi::Values& params,
                      wi::Values& results, wi::Trap::Ptr* out_trap) {
  StoreGroup& g = *b.group;
  // The calling instance: the wasm frame below this host function's frame
  // (a shared table may hand our function to another instance of the group).
  InstanceImpl* caller = nullptr;
  int64_t where = -1;
  if (wi::Instance* ci = thread.GetCallerInstance()) {
    caller = static_cast<InstanceImpl*>(ci->host_info());
    const auto& frames = interp_private::Frames(thread);
    if (caller && frames.size() >= 2) where = caller->FuncIndexOf(frames[frames.size() - 2].func);
  }
  if (!caller) caller = b.importer;
  if (where < 0 && caller && caller == b.importer) where = b.func_index;

  std::optional<Trap> trap;
  if (!caller) {
    trap = Trap{TrapKind::kHostError, "", "host function called after its instance was freed", 0};
  } else {
    std::vector<GValue> args(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      args[i] = FromWabt(g, ToWabtType(b.type.params[i]), params[i]);
    }
    std::vector<GValue> res(b.type.results.size());
    for (size_t i = 0; i < res.size(); ++i) res[i].type = b.type.results[i];
    trap = b.fn(caller->user(), args, res);
    results.resize(res.size());  // wabt presizes only for calls from wasm
    for (size_t i = 0; !trap && i < res.size(); ++i) {
      if (res[i].type != b.type.results[i]) {
        trap = Trap{TrapKind::kHostError, "",
                    "host function result " + std::to_string(i) + " has the wrong type", 0};
      } else if (auto err = ToWabt(g, res[i], &results[i])) {
        trap = Trap{TrapKind::kHostError, "", "host function result: " + *err, 0};
      }
    }
  }
  if (!trap) return wabt::Result::Ok;
  wi::Trap::Ptr t = wi::Trap::New(thread.store(), "host trap");
  CallContext& ctx = t_ctx;
  ctx.pending = true;
  ctx.pending_ref = t.ref().index;
  ctx.pending_trap.trap = std::move(*trap);
  ctx.pending_trap.func_index = where;
  *out_trap = t;
  return wabt::Result::Error;
}

GValue InstanceImpl::GetGlobal(uint32_t export_index) {
  std::lock_guard<std::recursive_mutex> lock(group_->mu);
  wi::Global* g = export_globals_.at(export_index);
  if (g->type().type == wabt::Type::I32) {
    // The interrupt flag is stored from other threads (SetInterruptFlag,
    // atomically): load it atomically too (ThreadSanitizer: data race).
    auto* slot = reinterpret_cast<uint32_t*>(interp_private::GlobalSlot(*g));
    uint32_t v = __atomic_load_n(slot, __ATOMIC_SEQ_CST);
    return FromWabt(*group_, g->type().type, wi::Value::Make(v));
  }
  return FromWabt(*group_, g->type().type, g->Get());
}

void InstanceImpl::SetGlobal(uint32_t export_index, const GValue& v) {
  std::lock_guard<std::recursive_mutex> lock(group_->mu);
  wi::Global* g = export_globals_.at(export_index);
  wi::Value w;
  if (ToWabt(*group_, v, &w)) return;  // a foreign funcref cannot be stored here
  if (wi::IsReference(g->type().type)) g->Set(group_->store, w.Get<wi::Ref>());
  else g->UnsafeSet(w);
}

std::pair<uint8_t*, size_t> InstanceImpl::ExportedMemory(uint32_t export_index) {
  wi::Memory* m = export_index < export_memories_.size() ? export_memories_[export_index] : nullptr;
  if (!m) return {nullptr, 0};
  return {m->UnsafeData(), static_cast<size_t>(m->ByteSize())};
}

std::pair<uint8_t*, size_t> InstanceImpl::DefaultMemory() {
  if (!memory0_) return {nullptr, 0};
  return {memory0_->UnsafeData(), static_cast<size_t>(memory0_->ByteSize())};
}

// Lock-free by design: the flag's 32 bits are stored atomically while the
// guest reads them with wabt's plain global.get load. Formally a data race;
// an aligned 32-bit load never tears on the supported targets, and the guest
// re-reads the global at every check (function entries, loop headers).
void InstanceImpl::SetInterruptFlag(uint32_t export_index, uint32_t value) {
  wi::Global* g = export_index < export_globals_.size() ? export_globals_[export_index] : nullptr;
  if (!g || g->type().type != wabt::Type::I32) return;
  auto* slot = reinterpret_cast<uint32_t*>(interp_private::GlobalSlot(*g));
  __atomic_store_n(slot, value, __ATOMIC_SEQ_CST);
}

}  // namespace arcella::engine::interp::glue
