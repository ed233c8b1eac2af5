// C++17, wabt side: loading modules and instantiating them (wabt_glue.h).
#include <algorithm>
#include <cstdio>

#include <wabt/binary-reader.h>
#include <wabt/error.h>
#include <wabt/interp/binary-reader-interp.h>

#include "engine/interp/wabt_instance.h"

namespace arcella::engine::interp::glue {

namespace {

constexpr uint64_t kPageSize = 65536;
constexpr uint64_t kMaxPages32 = 65536;

// Lowers the max of every defined memory/table to the caps; fails if an
// initial size is already above them.
bool ApplyLimits(wi::ModuleDesc& d, const GLimits& lim, std::string* error) {
  uint64_t cap_pages = kMaxPages32;
  if (lim.max_memory_bytes != 0) cap_pages = std::min(cap_pages, lim.max_memory_bytes / kPageSize);
  for (size_t i = 0; i < d.memories.size(); ++i) {
    wabt::Limits& l = d.memories[i].type.limits;
    uint64_t max = std::min(l.has_max ? l.max : kMaxPages32, cap_pages);
    if (l.initial > max) {
      *error = "memory " + std::to_string(i) + " needs " + std::to_string(l.initial * kPageSize) +
               " bytes initially, more than the cap of " + std::to_string(cap_pages * kPageSize) +
               " bytes";
      return false;
    }
    l.max = max;
    l.has_max = true;
  }
  uint64_t cap_elems = lim.max_table_elements == 0 ? 0xffffffffu : lim.max_table_elements;
  for (size_t i = 0; i < d.tables.size(); ++i) {
    wabt::Limits& l = d.tables[i].type.limits;
    uint64_t max = std::min<uint64_t>(l.has_max ? l.max : 0xffffffffu, cap_elems);
    if (l.initial > max) {
      *error = "table " + std::to_string(i) + " needs " + std::to_string(l.initial) +
               " elements initially, more than the cap of " + std::to_string(cap_elems);
      return false;
    }
    l.max = max;
    l.has_max = true;
  }
  return true;
}

}  // namespace

std::shared_ptr<GModule> LoadModule(const uint8_t* data, size_t size, std::string* error) {
  // WebAssembly 2.0: multi-value, bulk memory, reference types, sign-ext,
  // sat-conv, mutable globals, SIMD; several memories (both tiers); and the
  // legacy exception-handling and tail-call proposals (the loader accepts
  // them for this tier only).
  wabt::Features features;
  features.enable_exceptions();
  features.enable_tail_call();
  features.enable_simd();
  features.enable_bulk_memory();
  features.enable_reference_types();
  features.enable_multi_value();
  features.enable_sign_extension();
  features.enable_sat_float_to_int();
  features.enable_mutable_globals();
  features.enable_multi_memory();
  wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/false);
  wabt::Errors errors;
  auto mod = std::make_shared<GModule>();
  wabt::Result r = wi::ReadBinaryInterp("module.wasm", data, size, options, &errors, &mod->desc);
  if (wabt::Failed(r)) {
    *error = "interpreter could not load the module";
    if (!errors.empty()) {
      char off[32];
      snprintf(off, sizeof off, "0x%zx", errors[0].loc.offset);
      *error += " at byte " + std::string(off) + ": " + errors[0].message;
    }
    return nullptr;
  }
  return mod;
}

std::vector<bool> ImportIsFunc(const GModule& m) {
  std::vector<bool> out;
  for (const auto& imp : m.desc.imports)
    out.push_back(imp.type.type->kind == wabt::ExternalKind::Func);
  return out;
}

GFuncType ImportFuncType(const GModule& m, size_t i) {
  GFuncType t;
  auto* ft = wabt::cast<wi::FuncType>(m.desc.imports[i].type.type.get());
  for (wabt::Type p : ft->params) t.params.push_back(FromWabtType(p));
  for (wabt::Type r : ft->results) t.results.push_back(FromWabtType(r));
  return t;
}

std::unique_ptr<GInstance> Instantiate(const GModule& m, const std::vector<GImport>& imports,
                                       const GLimits& limits, void* user, GInstance* store_with,
                                       std::string* error, InstantiateError* kind) {
  const wi::ModuleDesc& desc = m.desc;
  auto fail = [&](InstantiateError k, std::string msg) -> std::unique_ptr<GInstance> {
    *kind = k;
    *error = std::move(msg);
    return nullptr;
  };
  if (imports.size() != desc.imports.size())
    return fail(InstantiateError::kInvalid, "expected " + std::to_string(desc.imports.size()) +
                                                " imports, got " + std::to_string(imports.size()));
  // The store group: that of the instances we import from, else a new one.
  std::shared_ptr<StoreGroup> group;
  for (size_t i = 0; i < imports.size(); ++i) {
    const wi::ImportType& it = desc.imports[i].type;
    std::string what = "import " + std::to_string(i) + " (" + it.module + "." + it.name + ")";
    if (it.type->kind == wabt::ExternalKind::Func) {
      if (!imports[i].fn) return fail(InstantiateError::kInvalid, what + " has no host function");
      continue;
    }
    auto* from = static_cast<InstanceImpl*>(imports[i].from);
    if (!from) return fail(InstantiateError::kInvalid, what + " is not bound to an instance");
    if (!group) {
      group = from->group();
    } else if (group != from->group()) {
      return fail(InstantiateError::kUnsupported,
                  "the interpreter cannot link one instance to memories/tables/globals of "
                  "instances that do not already share a store (" +
                      what + ")");
    }
  }
  if (!group && store_with) group = static_cast<InstanceImpl*>(store_with)->group();
  if (!group) group = std::make_shared<StoreGroup>();

  std::lock_guard<std::recursive_mutex> lock(group->mu);
  wi::ModuleDesc copy = desc;
  std::string limit_error;
  if (!ApplyLimits(copy, limits, &limit_error)) return fail(InstantiateError::kLimits, limit_error);
  copy.starts.clear();  // run below, under our depth limit

  uint32_t depth = limits.max_stack_depth == 0 ? 10'000 : limits.max_stack_depth;
  auto self = std::make_unique<InstanceImpl>(group, user, depth);
  if (limits.budget != nullptr) {
    size_t imported = 0;
    for (const auto& imp : copy.imports)
      if (imp.type.type->kind == wabt::ExternalKind::Memory) ++imported;
    std::string budget_error;
    if (!self->ChargeMemories(limits.budget, copy, imported, &budget_error))
      return fail(InstantiateError::kLimits, budget_error);
  }
  wi::Store& store = group->store;
  wi::Module::Ptr wmod = wi::Module::New(store, std::move(copy));

  wi::RefVec refs;
  for (size_t i = 0; i < imports.size(); ++i) {
    const wi::ImportType& it = desc.imports[i].type;
    if (it.type->kind == wabt::ExternalKind::Func) {
      auto* ft = wabt::cast<wi::FuncType>(it.type.get());
      auto b = std::make_shared<HostBinding>();
      b->fn = imports[i].fn;
      b->type = ImportFuncType(m, i);
      b->func_index = static_cast<uint32_t>(i);
      b->group = group.get();
      auto hf = wi::HostFunc::New(store, *ft,
                                  [b](wi::Thread& thread, const wi::Values& params,
                                      wi::Values& results, wi::Trap::Ptr* out_trap) {
                                    return CallHost(*b, thread, params, results, out_trap);
                                  });
      refs.push_back(hf.ref());
      self->bindings().push_back(std::move(b));
    } else {
      auto* from = static_cast<InstanceImpl*>(imports[i].from);
      const wi::RefVec& exports = from->wabt_instance()->exports();
      if (imports[i].from_export >= exports.size())
        return fail(InstantiateError::kInvalid,
                    "import " + std::to_string(i) + ": bad export index");
      refs.push_back(exports[imports[i].from_export]);
    }
  }

  wi::Trap::Ptr trap;
  wi::Instance::Ptr winst = wi::Instance::Instantiate(store, wmod.ref(), refs, &trap);
  if (!winst) {
    std::string msg = trap ? trap->message() : std::string("unknown error");
    bool is_trap = TrapFromMessage(msg).kind != TrapKind::kHostError;
    return fail(is_trap ? InstantiateError::kTrap : InstantiateError::kInvalid,
                (is_trap ? "instantiation trapped: " : "instantiation failed: ") + msg);
  }
  std::optional<uint32_t> start;
  if (!desc.starts.empty()) start = desc.starts[0].func_index;
  self->Attach(winst, start);
  group->MaybeCollect();
  *kind = InstantiateError::kNone;
  return self;
}

}  // namespace arcella::engine::interp::glue
