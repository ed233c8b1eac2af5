// wasm -> C via wabt's c-writer, plus the engine glue (see codegen.h).
#include "engine/aot/codegen.h"

#include "engine/aot/active_data.h"
#include "engine/aot/copy_operands.h"
#include "engine/aot/data_blob.h"
#include "engine/aot/mem_image.h"

#include <wabt/apply-names.h>
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/c-writer.h>
#include <wabt/error-formatter.h>
#include <wabt/feature.h>
#include <wabt/generate-names.h>
#include <wabt/ir.h>
#include <wabt/stream.h>

#include <malloc.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

namespace arcella::engine::aot {
namespace {

const char* CType(ValType t) {
  switch (t) {
    case ValType::kI32: return "u32";
    case ValType::kI64: return "u64";
    case ValType::kF32: return "f32";
    case ValType::kF64: return "f64";
    case ValType::kFuncRef: return "wasm_rt_funcref_t";
    case ValType::kExternRef: return "wasm_rt_externref_t";
    case ValType::kV128: break;
  }
  return "void";
}

char MultiLetter(ValType t) {
  switch (t) {
    case ValType::kI32: return 'i';
    case ValType::kI64: return 'j';
    case ValType::kF32: return 'f';
    case ValType::kF64: return 'd';
    case ValType::kFuncRef: return 'r';
    case ValType::kExternRef: return 'e';
    case ValType::kV128: break;
  }
  return '?';
}

// C type of a function's return value ("void", scalar, or multi struct).
std::string RetType(const FuncType& ft) {
  if (ft.results.empty()) return "void";
  if (ft.results.size() == 1) return CType(ft.results[0]);
  std::string s = "struct wasm_multi_";
  for (ValType t : ft.results) s += MultiLetter(t);
  return s;
}

// Expression reading slot `k` as type `t`.
std::string FromSlot(ValType t, size_t k) {
  std::string s = "s[" + std::to_string(k) + "]";
  switch (t) {
    case ValType::kI32: return "(u32)" + s;
    case ValType::kI64: return "(u64)" + s;
    case ValType::kF32: return "arcella_slot_f32(" + s + ")";
    case ValType::kF64: return "arcella_slot_f64(" + s + ")";
    case ValType::kFuncRef: return "arcella_funcref_unbox(" + s + ")";
    case ValType::kExternRef: return "(wasm_rt_externref_t)(uintptr_t)" + s;
    case ValType::kV128: break;
  }
  return s;
}

// Statement storing C expression `e` of type `t` into slot `k`.
std::string ToSlot(ValType t, size_t k, const std::string& e) {
  std::string s = "s[" + std::to_string(k) + "] = ";
  switch (t) {
    case ValType::kI32:
    case ValType::kI64: return s + "(uint64_t)(" + e + ");";
    case ValType::kF32: return s + "arcella_f32_slot(" + e + ");";
    case ValType::kF64: return s + "arcella_f64_slot(" + e + ");";
    case ValType::kFuncRef: return s + "arcella_funcref_box(" + e + ");";
    case ValType::kExternRef: return s + "(uint64_t)(uintptr_t)(" + e + ");";
    case ValType::kV128: break;
  }
  return s + "0;";
}

std::string ResultField(const FuncType& ft, size_t k) {
  return std::string(1, MultiLetter(ft.results[k])) + std::to_string(k);
}

void EmitImportThunk(std::ostream& o, size_t i, const FuncType& ft) {
  o << RetType(ft) << " Z_hZ_f" << i << "(struct Z_h_instance_t* p";
  for (size_t k = 0; k < ft.params.size(); ++k) o << ", " << CType(ft.params[k]) << " a" << k;
  o << ") {\n";
  size_t n = std::max<size_t>({ft.params.size(), ft.results.size(), 1});
  o << "  uint64_t s[" << n << "];\n";
  for (size_t k = 0; k < ft.params.size(); ++k)
    o << "  " << ToSlot(ft.params[k], k, "a" + std::to_string(k)) << "\n";
  o << "  arcella_rt_host_call(p->c.self, " << i << "u, s);\n";
  if (ft.results.size() == 1) {
    o << "  return " << FromSlot(ft.results[0], 0) << ";\n";
  } else if (ft.results.size() > 1) {
    o << "  " << RetType(ft) << " r;\n";
    for (size_t k = 0; k < ft.results.size(); ++k)
      o << "  r." << ResultField(ft, k) << " = " << FromSlot(ft.results[k], k) << ";\n";
    o << "  return r;\n";
  }
  o << "}\n";
}

void EmitExportWrapper(std::ostream& o, size_t i, const FuncType& ft) {
  o << "static void arcella_call_e" << i << "(void* inst, uint64_t* s) {\n  ";
  if (!ft.results.empty()) o << RetType(ft) << " r = ";
  o << "Z_mZ_e" << i << "((Z_m_instance_t*)inst";
  for (size_t k = 0; k < ft.params.size(); ++k) o << ", " << FromSlot(ft.params[k], k);
  o << ");\n";
  if (ft.results.size() == 1) {
    o << "  " << ToSlot(ft.results[0], 0, "r") << "\n";
  } else {
    for (size_t k = 0; k < ft.results.size(); ++k)
      o << "  " << ToSlot(ft.results[k], k, "r." + ResultField(ft, k)) << "\n";
  }
  o << "}\n";
}

// Drops the names a decode with debug names adds beyond a plain decode
// (local names, segment, tag and module names), so the C text of a handed
// over IR is the same as that of the binary decoded without names. Function,
// global, memory, table, type and data segment names are replaced anyway.
void ForgetDebugNames(wabt::Module* m) {
  m->name.clear();
  for (wabt::Func* f : m->funcs) f->bindings.clear();
  for (wabt::ElemSegment* e : m->elem_segments) e->name.clear();
  m->elem_segment_bindings.clear();
  for (wabt::Tag* t : m->tags) t->name.clear();
  m->tag_bindings.clear();
}

// Frees the body of each function wasm2c has finished writing (one behind
// the function just closed: the writer is done with it), so the IR shrinks
// as the C grows instead of living whole until the end.
class BodyReleaser {
 public:
  explicit BodyReleaser(wabt::Module* m) : m_(m) {}
  void Written(uint32_t func_index) {
    if (pending_ != UINT32_MAX && pending_ < m_->funcs.size()) m_->funcs[pending_]->exprs.clear();
    pending_ = func_index;
  }
  void ReleaseAll() {
    for (wabt::Func* f : m_->funcs) f->exprs.clear();
    pending_ = UINT32_MAX;
  }

 private:
  wabt::Module* m_;
  uint32_t pending_ = UINT32_MAX;
};

// Runs wasm2c on a thread of its own while the calling thread serves the
// split hooks it posts, one at a time, synchronously: compilers are still
// started (and the pool pumped) by the calling thread, whose lifetime their
// PR_SET_PDEATHSIG follows. The point is memory locality: a new thread
// allocates from its own malloc arena, so wasm2c's symbol sets are not
// scattered through the holes of the (renamed, partly freed) IR, which made
// its per-function copy of every global name (see ARCHITECTURE.md) about
// twice as slow on CRuby.
class HookRelay {
 public:
  // On the worker: runs `fn` on the owning thread and returns its status.
  Status Call(const std::function<Status()>& fn) {
    std::unique_lock<std::mutex> lock(mu_);
    request_ = &fn;
    served_ = false;
    cv_.notify_all();
    cv_.wait(lock, [this] { return served_; });
    return result_;
  }
  // On the owning thread: runs `work` on a new thread, serving its Calls
  // until it returns. Runs `work` here if no thread can be started.
  void Run(const std::function<void()>& work) {
    std::thread worker;
    try {
      worker = std::thread([this, &work] {
        work();
        std::lock_guard<std::mutex> lock(mu_);
        finished_ = true;
        cv_.notify_all();
      });
    } catch (const std::system_error&) {
      inline_ = true;
      work();
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return request_ != nullptr || finished_; });
      if (request_ == nullptr) break;
      const std::function<Status()>* fn = request_;
      request_ = nullptr;
      lock.unlock();
      Status st = (*fn)();
      lock.lock();
      result_ = std::move(st);
      served_ = true;
      cv_.notify_all();
    }
    lock.unlock();
    worker.join();
  }
  bool inline_run() const { return inline_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<Status()>* request_ = nullptr;
  Status result_;
  bool served_ = false, finished_ = false, inline_ = false;
};

}  // namespace

Result<GeneratedModule> GenerateSplitC(const BackendInput& input, const std::string& cache_key,
                                       const SplitHooks& hooks) {
  wabt::Features features;
  features.disable_simd();
  features.enable_multi_memory();
  wabt::ReadBinaryOptions ropts(features, nullptr, /*read_debug_names=*/false,
                                /*stop_on_first_error=*/true,
                                /*fail_on_custom_section_error=*/false);
  // The facade's IR when handed over (saves a second decode and a second
  // copy of the IR in memory), else a fresh decode of the binary.
  std::shared_ptr<wabt::Module> ir = input.ir;
  if (ir) {
    ForgetDebugNames(ir.get());
  } else {
    ir = std::make_shared<wabt::Module>();
    wabt::Errors errors;
    if (wabt::Failed(wabt::ReadBinaryIr("module.wasm", input.wasm.data(), input.wasm.size(), ropts,
                                        &errors, ir.get()))) {
      return Status::InvalidArgument(
          "aot: reading instrumented module: " +
          wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary));
    }
  }
  wabt::Module& module = *ir;
  if (module.imports.size() != input.imports.size() ||
      module.exports.size() != input.exports.size()) {
    return Status::Internal("aot: import/export lists do not match the module");
  }
  // Function index of each export (for mapping trap addresses).
  std::vector<uint32_t> export_func;
  for (const wabt::Export* e : module.exports)
    export_func.push_back(e->kind == wabt::ExternalKind::Func ? e->var.index() : UINT32_MAX);
  const uint32_t start_func = module.starts.empty() ? UINT32_MAX : module.starts[0]->index();
  // The interrupt flag's instance field (named below as "$g<i>"): made
  // volatile in every piece. Found before names replace the indexes.
  std::string volatile_field;
  for (size_t i = 0; i < input.exports.size(); ++i) {
    const ExportDesc& e = input.exports[i];
    if (e.name == kInterruptExport && e.desc.kind == ExternKind::kGlobal) {
      const wabt::Index g = module.exports[i]->var.index();
      if (g < module.num_global_imports)
        return Status::Internal("aot: the interrupt global is imported");
      volatile_field = "w2c_g" + std::to_string(g);
    }
  }

  // memory.copy between two memories: wasm2c reads its operands the other way
  // round (copy_operands.h).
  if (module.memories.size() > 1) SwapCopyOperands(&module);

  // Predictable C names.
  for (size_t i = 0; i < module.imports.size(); ++i) {
    module.imports[i]->module_name = "h";
    module.imports[i]->field_name = "f" + std::to_string(i);
  }
  for (size_t i = 0; i < module.exports.size(); ++i)
    module.exports[i]->name = "e" + std::to_string(i);
  // Data segments without any memory (legal when passive and only dropped)
  // still refer to memory 0 in wabt's IR, which its name pass rejects: give
  // such modules an unexported, empty memory (never reported as memory 0).
  const bool had_memory = !module.memories.empty();
  if (!had_memory && !module.data_segments.empty()) {
    auto field = std::make_unique<wabt::MemoryModuleField>();
    field->memory.page_limits.initial = 0;
    field->memory.page_limits.max = 0;
    field->memory.page_limits.has_max = true;
    module.AppendField(std::move(field));
  }

  if (module.tables.empty() && !module.elem_segments.empty()) {  // likewise for tables
    auto field = std::make_unique<wabt::TableModuleField>();
    field->table.elem_limits.initial = 0;
    field->table.elem_limits.max = 0;
    field->table.elem_limits.has_max = true;
    module.AppendField(std::move(field));
  }

  // Names (and their bindings: GenerateNames only binds names it creates).
  auto name_all = [](auto& items, wabt::BindingHash* bindings, const char* prefix) {
    bindings->clear();
    for (size_t i = 0; i < items.size(); ++i) {
      items[i]->name = std::string("$") + prefix + std::to_string(i);
      bindings->emplace(items[i]->name, wabt::Binding(static_cast<wabt::Index>(i)));
    }
  };
  name_all(module.funcs, &module.func_bindings, "f");
  name_all(module.globals, &module.global_bindings, "g");
  name_all(module.memories, &module.memory_bindings, "M");
  name_all(module.tables, &module.table_bindings, "T");
  name_all(module.types, &module.type_bindings, "t");
  name_all(module.data_segments, &module.data_segment_bindings, "d");
  module.export_bindings.clear();
  for (size_t i = 0; i < module.exports.size(); ++i)
    module.export_bindings.emplace(module.exports[i]->name,
                                   wabt::Binding(static_cast<wabt::Index>(i)));

  // wasm2c's writer wants every reference by name (as the wasm2c tool does).
  if (wabt::Failed(wabt::GenerateNames(&module)) || wabt::Failed(wabt::ApplyNames(&module)))
    return Status::Internal("aot: naming the module failed");

  const long image_segments = ImageSegmentCount(module);

  GeneratedModule out;
  out.data = EncodeDataBlob(module);
  out.data_segments = static_cast<uint32_t>(module.data_segments.size());
  // Active segments leave the IR (wasm2c's cost grows with its names, see
  // active_data.h); their loads go back into init_memories() below.
  const DetachedData detached = DetachActiveData(&module);
  wabt::MemoryStream h_stream;
  SplitConfig config;
  config.dir = hooks.dir;
  config.unit_budget = hooks.unit_budget;
  config.volatile_field = volatile_field;
  config.data_segments = out.data_segments;
  config.module_header = &h_stream.output_buffer().data;
  BodyReleaser releaser(&module);
  config.on_function = [&releaser](uint32_t f) { releaser.Written(f); };
  HookRelay relay;
  std::function<Status(const std::string&)> on_header;
  std::function<Status(const CUnit&)> on_unit;
  if (hooks.on_header) {
    on_header = [&](const std::string& digest) -> Status {
      if (relay.inline_run()) return hooks.on_header(digest);
      return relay.Call([&] { return hooks.on_header(digest); });
    };
  }
  if (hooks.on_unit) {
    on_unit = [&](const CUnit& u) -> Status {
      if (relay.inline_run()) return hooks.on_unit(u);
      return relay.Call([&] { return hooks.on_unit(u); });
    };
  }
  CSplitter splitter(config, on_header, on_unit);
  wabt::WriteCOptions wopts;
  wopts.module_name = "m";
  bool written = false;
  Status split;
  relay.Run([&] {
    written = wabt::Succeeded(wabt::WriteC(&splitter, &h_stream, "m.h", &module, wopts));
    split = splitter.Finish();
    releaser.ReleaseAll();
  });
  malloc_trim(0);                 // hand the freed IR back to the system (a daemon lives on)
  if (!split.ok()) return split;  // a cancel or compiler error stops wasm2c here too
  if (!written) return Status::Unsupported("aot: wasm2c cannot translate this module");
  out.units = splitter.units();
  std::string main = splitter.TakeMain();
  if (!volatile_field.empty()) {
    // The export getter of the interrupt global must name the field used.
    if (main.find("return &instance->" + volatile_field + ";") == std::string::npos)
      return Status::Internal("aot: cannot find the interrupt global in wasm2c output");
    main = MakeVolatile(main, volatile_field);
  }

  if (detached.detached && !InsertActiveLoads(&main, detached.loads))
    return Status::Internal("aot: cannot find init_memories in wasm2c output");

  std::string image_glue;
  if (image_segments > 0) RewriteForImage(&main, image_segments, &image_glue);

  std::ostringstream g;
  g << "\n/* ---- arcella glue ---- */\n";
  g << "const u8* arcella_data_segments[" << std::max<uint32_t>(out.data_segments, 1) << "];\n";
  g << "uint32_t arcella_data_segment_count(void) { return " << out.data_segments << "u; }\n";
  g << image_glue;
  g << "struct Z_h_instance_t { arcella_host_ctx_t c; };\n";
  std::string memory0;
  for (size_t i = 0; i < input.imports.size(); ++i) {
    const ExternDesc& d = input.imports[i].desc;
    switch (d.kind) {
      case ExternKind::kFunc: EmitImportThunk(g, i, d.func); break;
      case ExternKind::kMemory:
        g << "wasm_rt_memory_t* Z_hZ_f" << i << "(struct Z_h_instance_t* p) "
          << "{ return (wasm_rt_memory_t*)p->c.self->imports[" << i << "]; }\n";
        if (memory0.empty()) memory0 = "((Z_m_instance_t*)inst)->Z_hZ_f" + std::to_string(i);
        break;
      case ExternKind::kTable:
        g << (d.value_type == ValType::kFuncRef ? "wasm_rt_funcref_table_t"
                                                : "wasm_rt_externref_table_t")
          << "* Z_hZ_f" << i << "(struct Z_h_instance_t* p) { return p->c.self->imports[" << i
          << "]; }\n";
        break;
      case ExternKind::kGlobal:
        g << CType(d.value_type) << "* Z_hZ_f" << i
          << "(struct Z_h_instance_t* p) { return p->c.self->imports[" << i << "]; }\n";
        break;
      case ExternKind::kTag: return Status::Unsupported("aot: exception tags are not supported");
    }
  }
  if (memory0.empty() && had_memory) memory0 = "&((Z_m_instance_t*)inst)->w2c_M0";

  for (size_t i = 0; i < input.exports.size(); ++i) {
    if (input.exports[i].desc.kind == ExternKind::kFunc)
      EmitExportWrapper(g, i, input.exports[i].desc.func);
  }
  g << "arcella_entry_fn arcella_export_fn(uint32_t i) {\n  switch (i) {\n";
  for (size_t i = 0; i < input.exports.size(); ++i) {
    if (input.exports[i].desc.kind == ExternKind::kFunc)
      g << "    case " << i << ": return arcella_call_e" << i << ";\n";
  }
  g << "  }\n  return NULL;\n}\n";
  g << "void* arcella_export_ptr(void* inst, uint32_t i) {\n  switch (i) {\n";
  for (size_t i = 0; i < input.exports.size(); ++i) {
    if (input.exports[i].desc.kind != ExternKind::kFunc)
      g << "    case " << i << ": return (void*)Z_mZ_e" << i << "((Z_m_instance_t*)inst);\n";
  }
  g << "  }\n  return NULL;\n}\n";
  g << "wasm_rt_memory_t* arcella_memory0(void* inst) { return "
    << (memory0.empty() ? "NULL" : memory0) << "; }\n";
  g << "uint32_t arcella_instance_size(void) { return (uint32_t)sizeof(Z_m_instance_t); }\n";
  g << "void arcella_init_module(void) { Z_m_init_module(); }\n";
  g << "void arcella_instantiate(void* inst, uint64_t* s) {\n"
    << (module.imports.empty()
            ? "  (void)s;\n  Z_m_instantiate((Z_m_instance_t*)inst);\n}\n"
            : "  Z_m_instantiate((Z_m_instance_t*)inst, (struct Z_h_instance_t*)(uintptr_t)s[0]);\n}\n");
  g << "void arcella_free(void* inst) { Z_m_free((Z_m_instance_t*)inst); }\n";
  g << "const uint32_t arcella_export_func_index[] = {";
  for (uint32_t f : export_func) g << f << "u, ";
  g << start_func << "u};\n";
  g << "uint32_t arcella_export_count(void) { return " << export_func.size() << "u; }\n";
  g << "const char* arcella_cache_key(void) { return \"" << cache_key << "\"; }\n";
  out.main_path = hooks.dir + "/main.c";
  FILE* f = fopen(out.main_path.c_str(), "we");
  bool ok = f != nullptr;
  const std::string glue = g.str();
  if (ok) {
    ok = fputs("#include \"shared.h\"\n\n", f) >= 0 &&
         fwrite(main.data(), 1, main.size(), f) == main.size() &&
         fwrite(glue.data(), 1, glue.size(), f) == glue.size();
    ok = fclose(f) == 0 && ok;
  }
  if (!ok) return Status::IoError("aot: writing " + out.main_path + ": " + strerror(errno));
  return out;
}

}  // namespace arcella::engine::aot
