// Guards around libwabt's reader (see loader_internal.h).
#include <cstdio>
#include <string>

#include "engine/byte_reader.h"
#include "engine/loader_internal.h"
#include "wabt/cast.h"
#include "wabt/ir.h"

namespace arcella::engine::loader_internal {
namespace {

std::string Hex(size_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%zx", v);
  return buf;
}

// Any read past the end sets `failed` (then wabt reports the problem).
using Cursor = ByteReader;

// Scans one constant expression. Returns a non-OK status to reject the module;
// sets c->failed if it cannot parse (wabt will report that).
Status ConstExpr(Cursor* c) {
  for (;;) {
    size_t at = c->pos;
    uint8_t op;
    if (!c->Byte(&op)) return Status::Ok();
    bool ok = true;
    switch (op) {
      case 0x0b: return Status::Ok();  // end
      case 0x41: c->Leb(5); break;     // i32.const
      case 0x42: c->Leb(10); break;    // i64.const
      case 0x43: c->Skip(4); break;    // f32.const
      case 0x44: c->Skip(8); break;    // f64.const
      case 0xd0: c->Skip(1); break;    // ref.null t
      case 0xd2:                       // ref.func x
      case 0x23: c->Leb(5); break;     // global.get x
      case 0xfd: {                     // v128.const
        uint32_t sub = 0;
        if (c->U32(&sub)) ok = sub == 12 && c->Skip(16);
        break;
      }
      case 0x6a:  // i32.add, i32.sub, i32.mul, i64.add, i64.sub, i64.mul
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        return Status::Unsupported(
            DescribeFeatureUse({Feature::kExtendedConst, at, "arithmetic in a constant expression"},
                               "by this engine"));
      default: ok = false; break;
    }
    if (c->failed) return Status::Ok();
    if (!ok) {
      return Status::InvalidArgument("invalid module at byte " + Hex(at) +
                                     ": constant expression required (opcode " + Hex(op) + ")");
    }
  }
}

// vec(funcidx) or vec(expr).
Status ElemInits(Cursor* c, bool exprs) {
  uint32_t n = 0;
  if (!c->U32(&n)) return Status::Ok();
  for (uint32_t i = 0; i < n && !c->failed; ++i) {
    if (exprs) {
      ARCELLA_RETURN_IF_ERROR(ConstExpr(c));
    } else {
      c->Leb(5);
    }
  }
  return Status::Ok();
}

Status Elem(Cursor* c) {
  uint32_t flags = 0;
  if (!c->U32(&flags)) return Status::Ok();
  bool exprs = (flags & 4) != 0;
  switch (flags) {
    case 0:
    case 4: ARCELLA_RETURN_IF_ERROR(ConstExpr(c)); return ElemInits(c, exprs);
    case 1:
    case 3:
    case 5:
    case 7:
      c->Skip(1);  // elemkind / reftype
      return ElemInits(c, exprs);
    case 2:
    case 6:
      c->Leb(5);  // table index
      ARCELLA_RETURN_IF_ERROR(ConstExpr(c));
      c->Skip(1);
      return ElemInits(c, exprs);
    default: c->failed = true; return Status::Ok();
  }
}

Status Data(Cursor* c) {
  uint32_t flags = 0, n = 0;
  if (!c->U32(&flags)) return Status::Ok();
  if (flags == 2) c->Leb(5);  // memory index
  if (flags == 0 || flags == 2) {
    ARCELLA_RETURN_IF_ERROR(ConstExpr(c));
  } else if (flags != 1) {
    c->failed = true;
  }
  if (c->U32(&n)) c->Skip(n);
  return Status::Ok();
}

Status Global(Cursor* c) {
  uint8_t type = 0, mut = 0;
  if (!c->Byte(&type) || !c->Byte(&mut)) return Status::Ok();
  switch (type) {
    case 0x7f:
    case 0x7e:
    case 0x7d:
    case 0x7c:
    case 0x7b:
    case 0x70:
    case 0x6f: return ConstExpr(c);
    default:
      c->failed = true;  // not a 2.0 value type: wabt reports it
      return Status::Ok();
  }
}

bool IsCore(wabt::Type t) {
  switch (t) {
    case wabt::Type::I32:
    case wabt::Type::I64:
    case wabt::Type::F32:
    case wabt::Type::F64:
    case wabt::Type::V128:
    case wabt::Type::FuncRef:
    case wabt::Type::ExternRef: return true;
    default: return false;
  }
}
bool IsRef(wabt::Type t) { return t == wabt::Type::FuncRef || t == wabt::Type::ExternRef; }

Status NotCore(const std::string& what, wabt::Type t) {
  return Status::InvalidArgument("invalid module: " + what + " uses type " + t.GetName() +
                                 ", which is not part of WebAssembly 2.0");
}

Status CheckSig(const std::string& what, const wabt::FuncSignature& sig) {
  for (wabt::Type t : sig.param_types)
    if (!IsCore(t)) return NotCore(what, t);
  for (wabt::Type t : sig.result_types)
    if (!IsCore(t)) return NotCore(what, t);
  return Status::Ok();
}

Status CheckExprs(const std::string& what, const wabt::ExprList& exprs) {
  using namespace wabt;
  for (const Expr& e : exprs) {
    switch (e.type()) {
      case ExprType::Block:
      case ExprType::Loop: {
        const Block& b = e.type() == ExprType::Block ? cast<BlockExpr>(&e)->block
                                                     : cast<LoopExpr>(&e)->block;
        ARCELLA_RETURN_IF_ERROR(CheckSig(what, b.decl.sig));
        ARCELLA_RETURN_IF_ERROR(CheckExprs(what, b.exprs));
        break;
      }
      case ExprType::If: {
        auto* ie = cast<IfExpr>(&e);
        ARCELLA_RETURN_IF_ERROR(CheckSig(what, ie->true_.decl.sig));
        ARCELLA_RETURN_IF_ERROR(CheckExprs(what, ie->true_.exprs));
        ARCELLA_RETURN_IF_ERROR(CheckExprs(what, ie->false_));
        break;
      }
      case ExprType::Select:
        for (Type t : cast<SelectExpr>(&e)->result_type)
          if (!IsCore(t)) return NotCore(what, t);
        break;
      case ExprType::RefNull:
        if (!IsRef(cast<RefNullExpr>(&e)->type)) return NotCore(what, cast<RefNullExpr>(&e)->type);
        break;
      case ExprType::CallIndirect:
        ARCELLA_RETURN_IF_ERROR(CheckSig(what, cast<CallIndirectExpr>(&e)->decl.sig));
        break;
      case ExprType::ReturnCallIndirect:
        ARCELLA_RETURN_IF_ERROR(CheckSig(what, cast<ReturnCallIndirectExpr>(&e)->decl.sig));
        break;
      case ExprType::Try: {
        auto* te = cast<TryExpr>(&e);
        ARCELLA_RETURN_IF_ERROR(CheckSig(what, te->block.decl.sig));
        ARCELLA_RETURN_IF_ERROR(CheckExprs(what, te->block.exprs));
        for (const Catch& c : te->catches) ARCELLA_RETURN_IF_ERROR(CheckExprs(what, c.exprs));
        break;
      }
      default: break;
    }
  }
  return Status::Ok();
}

template <typename Vec>
void DropStale(wabt::BindingHash* h, const Vec& v) {
  for (auto it = h->begin(); it != h->end();) {
    it = static_cast<size_t>(it->second.index) >= v.size() ? h->erase(it) : std::next(it);
  }
}

// True if bytes [p, end) are well-formed UTF-8 (no overlongs, surrogates
// or code points above U+10FFFF).
bool ValidUtf8(const uint8_t* p, const uint8_t* end) {
  while (p < end) {
    uint8_t b = *p;
    int n;
    uint32_t cp;
    if (b < 0x80) {
      ++p;
      continue;
    }
    if ((b & 0xe0) == 0xc0) {
      n = 1;
      cp = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
      n = 2;
      cp = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
      n = 3;
      cp = b & 0x07;
    } else return false;
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += n + 1;
  }
  return true;
}

// A custom section's header (its name) is part of the binary format: a
// length past the section or a name that is not UTF-8 makes the module
// malformed. Its contents (e.g. a broken "name" section) are not, and wabt
// is told to ignore errors there.
Status CustomSectionName(std::span<const uint8_t> wasm, size_t start, size_t end) {
  Cursor s{wasm, start, end};
  uint64_t len = 0;
  // A strict u32 LEB: at most 5 bytes, no bits beyond 32 in the last one.
  bool leb_ok = s.Leb(5, &len) && (s.pos - start < 5 || (wasm[s.pos - 1] & 0x70) == 0);
  if (!leb_ok)
    return Status::InvalidArgument("invalid module at byte " + Hex(start) +
                                   ": custom section name length: integer too large");
  if (end - s.pos < len)
    return Status::InvalidArgument("invalid module at byte " + Hex(start) +
                                   ": custom section name length out of bounds");
  if (!ValidUtf8(wasm.data() + s.pos, wasm.data() + s.pos + len))
    return Status::InvalidArgument("invalid module at byte " + Hex(s.pos) +
                                   ": custom section name is not valid UTF-8");
  return Status::Ok();
}

}  // namespace

Status PrescanConstExprs(std::span<const uint8_t> wasm) {
  Cursor c{wasm, 8, wasm.size()};
  while (c.pos < wasm.size()) {
    uint8_t id = 0;
    uint32_t size = 0;
    if (!c.Byte(&id) || !c.U32(&size) || wasm.size() - c.pos < size) return Status::Ok();
    size_t section_end = c.pos + size;
    if (id == 0) ARCELLA_RETURN_IF_ERROR(CustomSectionName(wasm, c.pos, section_end));
    if (id == 6 || id == 9 || id == 11) {
      Cursor s{wasm, c.pos, section_end};
      uint32_t n = 0;
      if (s.U32(&n)) {
        for (uint32_t i = 0; i < n && !s.failed; ++i) {
          ARCELLA_RETURN_IF_ERROR(id == 6 ? Global(&s) : id == 9 ? Elem(&s) : Data(&s));
        }
      }
    }
    c.pos = section_end;
  }
  return Status::Ok();
}

Status CheckCoreTypes(const wabt::Module& m, bool allow_tags) {
  using namespace wabt;
  if (!m.tags.empty() && !allow_tags)
    return Status::InvalidArgument(
        "invalid module: tags (exception handling) are not part of WebAssembly 2.0");
  for (Index i = 0; i < m.types.size(); ++i) {
    auto* ft = dyn_cast<wabt::FuncType>(m.types[i]);
    if (ft == nullptr)
      return Status::InvalidArgument("invalid module: type " + std::to_string(i) +
                                     " is not a function type");
    ARCELLA_RETURN_IF_ERROR(CheckSig("type " + std::to_string(i), ft->sig));
  }
  for (Index i = 0; i < m.funcs.size(); ++i) {
    const Func* f = m.funcs[i];
    std::string what = "function " + std::to_string(i);
    ARCELLA_RETURN_IF_ERROR(CheckSig(what, f->decl.sig));
    for (Type t : f->local_types)
      if (!IsCore(t)) return NotCore(what, t);
    ARCELLA_RETURN_IF_ERROR(CheckExprs(what, f->exprs));
  }
  for (Index i = 0; i < m.tables.size(); ++i) {
    const Table* t = m.tables[i];
    std::string what = "table " + std::to_string(i);
    if (!IsRef(t->elem_type)) return NotCore(what, t->elem_type);
    if (t->elem_limits.is_shared || t->elem_limits.is_64)
      return Status::InvalidArgument("invalid module: " + what + " is shared or 64-bit");
  }
  for (Index i = 0; i < m.memories.size(); ++i) {
    const wabt::Limits& l = m.memories[i]->page_limits;
    if (l.is_shared || l.is_64)
      return Status::InvalidArgument("invalid module: memory " + std::to_string(i) +
                                     " is shared or 64-bit (threads/memory64 are not supported)");
  }
  for (Index i = 0; i < m.globals.size(); ++i) {
    std::string what = "global " + std::to_string(i);
    if (!IsCore(m.globals[i]->type)) return NotCore(what, m.globals[i]->type);
    ARCELLA_RETURN_IF_ERROR(CheckExprs(what, m.globals[i]->init_expr));
  }
  for (Index i = 0; i < m.elem_segments.size(); ++i) {
    const ElemSegment* s = m.elem_segments[i];
    std::string what = "element segment " + std::to_string(i);
    if (!IsRef(s->elem_type)) return NotCore(what, s->elem_type);
    for (const ExprList& el : s->elem_exprs) ARCELLA_RETURN_IF_ERROR(CheckExprs(what, el));
  }
  return Status::Ok();
}

namespace {

// Records the first use of each feature.
class FeatureScan {
 public:
  explicit FeatureScan(std::vector<FeatureUse>* out) : out_(out) {}

  void Use(Feature f, const wabt::Location& loc, const std::string& where) {
    for (const FeatureUse& u : *out_)
      if (u.feature == f) return;
    out_->push_back({f, loc.offset == wabt::kInvalidOffset ? 0 : loc.offset, where});
  }

  void Exprs(const wabt::ExprList& exprs, const std::string& where) {
    using namespace wabt;
    for (const Expr& e : exprs) {
      switch (e.type()) {
        case ExprType::AtomicLoad:
        case ExprType::AtomicRmw:
        case ExprType::AtomicRmwCmpxchg:
        case ExprType::AtomicStore:
        case ExprType::AtomicNotify:
        case ExprType::AtomicFence:
        case ExprType::AtomicWait:
          Use(Feature::kThreads, e.loc, "atomic instruction in " + where);
          break;
        case ExprType::ReturnCall:
        case ExprType::ReturnCallIndirect:
          Use(Feature::kTailCall, e.loc, "return_call in " + where);
          break;
        case ExprType::CallRef:
          Use(Feature::kFunctionReferences, e.loc, "call_ref in " + where);
          break;
        case ExprType::Throw: Use(Feature::kExceptions, e.loc, "throw in " + where); break;
        case ExprType::Rethrow: Use(Feature::kExceptions, e.loc, "rethrow in " + where); break;
        case ExprType::Try: {
          Use(Feature::kExceptions, e.loc, "try in " + where);
          auto* te = cast<TryExpr>(&e);
          Exprs(te->block.exprs, where);
          for (const Catch& c : te->catches) Exprs(c.exprs, where);
          break;
        }
        case ExprType::Block: Exprs(cast<BlockExpr>(&e)->block.exprs, where); break;
        case ExprType::Loop: Exprs(cast<LoopExpr>(&e)->block.exprs, where); break;
        case ExprType::If:
          Exprs(cast<IfExpr>(&e)->true_.exprs, where);
          Exprs(cast<IfExpr>(&e)->false_, where);
          break;
        default: {
          Opcode op = Opcode::Nop;
          if (auto* b = dyn_cast<BinaryExpr>(&e)) op = b->opcode;
          else if (auto* u = dyn_cast<UnaryExpr>(&e)) op = u->opcode;
          else if (auto* t = dyn_cast<TernaryExpr>(&e)) op = t->opcode;
          else if (auto* l = dyn_cast<SimdLaneOpExpr>(&e)) op = l->opcode;
          if (op.GetPrefix() == 0xfd && op.GetCode() >= 0x100)
            Use(Feature::kRelaxedSimd, e.loc, std::string(op.GetName()) + " in " + where);
          break;
        }
      }
    }
  }

  // A 2.0 constant expression holds one constant instruction; arithmetic
  // there is the extended-const proposal.
  void ConstExpr(const wabt::ExprList& exprs, const std::string& where) {
    for (const wabt::Expr& e : exprs)
      if (e.type() == wabt::ExprType::Binary)
        Use(Feature::kExtendedConst, e.loc, "arithmetic in the initializer of " + where);
  }

 private:
  std::vector<FeatureUse>* out_;
};

}  // namespace

void ScanFeatures(const wabt::Module& m, std::vector<FeatureUse>* out) {
  using namespace wabt;
  FeatureScan scan(out);
  if (!m.tags.empty()) scan.Use(Feature::kExceptions, Location(), "a tag");
  if (m.memories.size() > 1) {
    // Where memory 1 is declared: the second memory import or definition.
    Location at;
    int seen = 0;
    for (const ModuleField& field : m.fields) {
      const bool memory = field.type() == ModuleFieldType::Memory ||
                          (field.type() == ModuleFieldType::Import &&
                           cast<ImportModuleField>(&field)->import->kind() == ExternalKind::Memory);
      if (memory && ++seen == 2) {
        at = field.loc;
        break;
      }
    }
    scan.Use(Feature::kMultiMemory, at, "memory 1 (more than one memory)");
  }
  for (Index i = 0; i < m.globals.size(); ++i)
    scan.ConstExpr(m.globals[i]->init_expr, "global " + std::to_string(i));
  for (Index i = 0; i < m.elem_segments.size(); ++i)
    scan.ConstExpr(m.elem_segments[i]->offset, "element segment " + std::to_string(i));
  for (Index i = 0; i < m.data_segments.size(); ++i)
    scan.ConstExpr(m.data_segments[i]->offset, "data segment " + std::to_string(i));
  for (Index i = m.num_func_imports; i < m.funcs.size(); ++i)
    scan.Exprs(m.funcs[i]->exprs, "function " + std::to_string(i));
}

void SanitizeNames(wabt::Module* m) {
  DropStale(&m->func_bindings, m->funcs);
  DropStale(&m->global_bindings, m->globals);
  DropStale(&m->type_bindings, m->types);
  DropStale(&m->table_bindings, m->tables);
  DropStale(&m->memory_bindings, m->memories);
  DropStale(&m->data_segment_bindings, m->data_segments);
  DropStale(&m->elem_segment_bindings, m->elem_segments);
  DropStale(&m->tag_bindings, m->tags);
  DropStale(&m->export_bindings, m->exports);
  for (wabt::Func* f : m->funcs) {
    wabt::Index n = f->GetNumParamsAndLocals();
    for (auto it = f->bindings.begin(); it != f->bindings.end();)
      it = it->second.index >= n ? f->bindings.erase(it) : std::next(it);
  }
}

}  // namespace arcella::engine::loader_internal
