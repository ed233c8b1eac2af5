// MeterRunner (meter_runner.h) on libwabt's interpreter. Built as C++17 (see
// the wabt_* rule in CMakeLists.txt); contains no test cases itself.
#include <cstring>

#include "meter_runner.h"
#include "wabt/binary-reader.h"
#include "wabt/interp/binary-reader-interp.h"
#include "wabt/interp/interp.h"

namespace arcella::test {

namespace wi = wabt::interp;

struct MeterRunner::Impl {
  wi::Store store;
  wi::Module::Ptr mod;
  wi::Instance::Ptr inst;

  wi::Ref Export(const std::string& name) {
    const auto& types = mod->export_types();
    for (size_t i = 0; i < types.size(); ++i)
      if (types[i].name == name) return inst->exports()[i];
    return wi::Ref::Null;
  }
};

MeterRunner::MeterRunner(const std::vector<uint8_t>& wasm) : impl_(new Impl) {
  wabt::Features f;
  f.enable_simd();
  f.enable_bulk_memory();
  f.enable_reference_types();
  f.enable_multi_value();
  wabt::ReadBinaryOptions opts(f, nullptr, true, true, false);
  wabt::Errors errors;
  wi::ModuleDesc desc;
  if (wabt::Failed(wi::ReadBinaryInterp("m", wasm.data(), wasm.size(), opts, &errors, &desc))) {
    error = errors.empty() ? "read failed" : errors[0].message;
    return;
  }
  wi::Store& store = impl_->store;
  impl_->mod = wi::Module::New(store, std::move(desc));
  wi::RefVec imports;
  for (const wi::ImportType& it : impl_->mod->import_types()) {
    if (it.module == "arcella_rt" && it.name == "check") {
      auto fn = wi::HostFunc::New(store, wi::FuncType({}, {}),
                                  [this](wi::Thread&, const wi::Values&, wi::Values&,
                                         wi::Trap::Ptr* trap) {
                                    ++checks;
                                    // During instantiation (start function) the exports are not
                                    // reachable yet: let it run on.
                                    if (!impl_->inst) return wabt::Result::Ok;
                                    if (Global("__arcella_interrupt") != 0) {
                                      *trap = wi::Trap::New(impl_->store, "interrupted");
                                      return wabt::Result::Error;
                                    }
                                    if (refill > 0) {
                                      refilled += refill;
                                      SetGlobal("__arcella_fuel",
                                                Global("__arcella_fuel") + refill);
                                      return wabt::Result::Ok;
                                    }
                                    *trap = wi::Trap::New(impl_->store, "out of fuel");
                                    return wabt::Result::Error;
                                  });
      imports.push_back(fn.ref());
    } else if (it.module == "env" && it.name == "twice") {
      auto fn = wi::HostFunc::New(store, wi::FuncType({wabt::Type::I32}, {wabt::Type::I32}),
                                  [](wi::Thread&, const wi::Values& a, wi::Values& r,
                                     wi::Trap::Ptr*) {
                                    r[0] = wi::Value::Make(a[0].Get<uint32_t>() * 2);
                                    return wabt::Result::Ok;
                                  });
      imports.push_back(fn.ref());
    } else {
      error = "unexpected import " + it.module + "." + it.name;
      return;
    }
  }
  wi::Trap::Ptr trap;
  wi::Instance::Ptr inst = wi::Instance::Instantiate(store, impl_->mod.ref(), imports, &trap);
  impl_->inst = inst;
  if (!impl_->inst) error = trap ? trap->message() : "instantiation failed";
}

MeterRunner::~MeterRunner() = default;

int64_t MeterRunner::Global(const std::string& name) {
  wi::Ref ref = impl_->Export(name);
  if (ref == wi::Ref::Null) return INT64_MIN;
  auto g = impl_->store.UnsafeGet<wi::Global>(ref);
  wi::Value v = g->Get();
  if (g->type().type == wabt::Type::I32) return static_cast<int32_t>(v.Get<uint32_t>());
  return v.Get<int64_t>();
}

void MeterRunner::SetGlobal(const std::string& name, int64_t value) {
  wi::Ref ref = impl_->Export(name);
  if (ref == wi::Ref::Null) return;
  auto g = impl_->store.UnsafeGet<wi::Global>(ref);
  if (g->type().type == wabt::Type::I32)
    g->UnsafeSet(wi::Value::Make(static_cast<uint32_t>(value)));
  else g->UnsafeSet(wi::Value::Make(value));
}

uint64_t MeterRunner::Call(const std::string& name, const std::vector<uint64_t>& args) {
  trap_message.clear();
  wi::Ref ref = impl_->Export(name);
  if (ref == wi::Ref::Null) {
    trap_message = "no export " + name;
    return 0;
  }
  auto fn = impl_->store.UnsafeGet<wi::Func>(ref);
  const wi::FuncType& type = fn->type();
  if (type.params.size() != args.size()) {
    trap_message = "wrong argument count";
    return 0;
  }
  wi::Values params;
  for (size_t i = 0; i < args.size(); ++i) {
    if (type.params[i] == wabt::Type::I64) params.push_back(wi::Value::Make(args[i]));
    else params.push_back(wi::Value::Make(static_cast<uint32_t>(args[i])));
  }
  wi::Values results;
  wi::Trap::Ptr trap;
  if (wabt::Failed(fn->Call(impl_->store, params, results, &trap))) {
    trap_message = trap ? trap->message() : "call failed";
    return 0;
  }
  if (results.empty()) return 0;
  return type.results[0] == wabt::Type::I64 ? results[0].Get<uint64_t>()
                                            : results[0].Get<uint32_t>();
}

uint8_t MeterRunner::MemoryByte(size_t offset) {
  auto m = impl_->store.UnsafeGet<wi::Memory>(impl_->inst->memories()[0]);
  return offset < m->ByteSize() ? m->UnsafeData()[offset] : 0;
}

}  // namespace arcella::test
