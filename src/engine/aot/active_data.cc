#include "engine/aot/active_data.h"

#include <wabt/cast.h>
#include <wabt/expr-visitor.h>
#include <wabt/ir.h>

#include <vector>

namespace arcella::engine::aot {
namespace {

// Marks every data segment a memory.init or data.drop names.
class SegmentUses : public wabt::ExprVisitor::DelegateNop {
 public:
  SegmentUses(const wabt::Module& m, std::vector<bool>* used) : m_(m), used_(used) {}
  wabt::Result OnMemoryInitExpr(wabt::MemoryInitExpr* e) override { return Mark(e->var); }
  wabt::Result OnDataDropExpr(wabt::DataDropExpr* e) override { return Mark(e->var); }

 private:
  wabt::Result Mark(const wabt::Var& var) {
    const wabt::Index i = m_.GetDataSegmentIndex(var);
    if (i >= used_->size()) return wabt::Result::Error;
    (*used_)[i] = true;
    return wabt::Result::Ok;
  }
  const wabt::Module& m_;
  std::vector<bool>* used_;
};

// The C wasm2c writes for import `i` used as a value (renamed "h"."f<i>").
std::string ImportRef(size_t i) { return "(*instance->Z_hZ_f" + std::to_string(i) + ")"; }

// Index in module.imports of the `n`th import of `kind`, or -1.
long ImportPosition(const wabt::Module& m, wabt::ExternalKind kind, wabt::Index n) {
  for (size_t i = 0; i < m.imports.size(); ++i) {
    if (m.imports[i]->kind() != kind) continue;
    if (n-- == 0) return static_cast<long>(i);
  }
  return -1;
}

}  // namespace

DetachedData DetachActiveData(wabt::Module* module) {
  wabt::Module& m = *module;
  DetachedData out;
  if (m.memories.size() != 1 || m.memories[0]->page_limits.is_64) return out;
  std::string mem;
  if (m.num_memory_imports == 0) {
    if (m.memories[0]->name != "$M0") return out;
    mem = "instance->w2c_M0";
  } else {
    const long pos = ImportPosition(m, wabt::ExternalKind::Memory, 0);
    if (pos < 0) return out;
    mem = ImportRef(static_cast<size_t>(pos));
  }

  // The LOAD_DATA line of each active segment, as wasm2c writes it.
  std::string loads;
  uint32_t active = 0;
  for (size_t i = 0; i < m.data_segments.size(); ++i) {
    const wabt::DataSegment* ds = m.data_segments[i];
    if (ds->kind != wabt::SegmentKind::Active) continue;
    if (ds->name != "$d" + std::to_string(i) || ds->offset.size() != 1) return out;
    if (m.GetMemoryIndex(ds->memory_var) != 0) return out;
    std::string offset;
    const wabt::Expr& e = ds->offset.front();
    if (e.type() == wabt::ExprType::Const) {
      const wabt::Const& c = wabt::cast<wabt::ConstExpr>(&e)->const_;
      if (c.type() != wabt::Type::I32) return out;
      offset = std::to_string(c.u32()) + "u";
    } else if (e.type() == wabt::ExprType::GlobalGet) {
      const wabt::Index g = m.GetGlobalIndex(wabt::cast<wabt::GlobalGetExpr>(&e)->var);
      if (g >= m.num_global_imports) return out;
      const long pos = ImportPosition(m, wabt::ExternalKind::Global, g);
      if (pos < 0) return out;
      offset = ImportRef(static_cast<size_t>(pos));
    } else {
      return out;
    }
    loads += "  LOAD_DATA(" + mem + ", " + offset + ", ";
    if (ds->data.empty()) {
      loads += "NULL, 0);\n";
    } else {
      loads += "data_segment_data_w2c_d" + std::to_string(i) + ", " +
               std::to_string(ds->data.size()) + ");\n";
    }
    ++active;
  }
  if (active == 0) return out;

  std::vector<bool> used(m.data_segments.size(), false);
  SegmentUses uses(m, &used);
  wabt::ExprVisitor visitor(&uses);
  for (wabt::Func* f : m.funcs) {
    if (wabt::Failed(visitor.VisitFunc(f))) return out;
  }

  // Keep passive segments and (emptied, made passive) active ones that code
  // names; drop the other active ones. Names stay; bindings follow.
  std::vector<wabt::DataSegment*> kept;
  for (size_t i = 0; i < m.data_segments.size(); ++i) {
    wabt::DataSegment* ds = m.data_segments[i];
    if (ds->kind != wabt::SegmentKind::Active) {
      kept.push_back(ds);
    } else if (used[i]) {
      ds->kind = wabt::SegmentKind::Passive;
      ds->offset.clear();
      ds->data.clear();
      ds->data.shrink_to_fit();
      kept.push_back(ds);
      ++out.emptied;
    } else {
      ds->offset.clear();
      ds->data.clear();
      ds->data.shrink_to_fit();
      ++out.removed;
    }
  }
  m.data_segments = std::move(kept);
  m.data_segment_bindings.clear();
  for (size_t i = 0; i < m.data_segments.size(); ++i)
    m.data_segment_bindings.emplace(m.data_segments[i]->name,
                                    wabt::Binding(static_cast<wabt::Index>(i)));
  out.detached = true;
  out.loads = std::move(loads);
  return out;
}

bool InsertActiveLoads(std::string* c, const std::string& loads) {
  const std::string head = "static void init_memories(";
  const size_t fn = c->find(head);
  if (fn == std::string::npos || c->find(head, fn + 1) != std::string::npos) return false;
  const size_t body = c->find(") {\n", fn);
  const size_t end = c->find("\n}\n", fn);
  if (body == std::string::npos || end == std::string::npos || body + 3 > end) return false;
  c->insert(end + 1, loads);  // before the closing brace (also of an empty body)
  return true;
}

}  // namespace arcella::engine::aot
