// The wabt 1.0.32 catch-handler workaround (catch_locals.h).
#include "engine/interp/catch_locals.h"

#include <memory>

#include "engine/instrument_internal.h"
#include "wabt/cast.h"
#include "wabt/ir.h"

namespace arcella::engine::interp {
namespace {

using namespace wabt;

bool HasTry(const ExprList& exprs) {
  for (const Expr& e : exprs) {
    switch (e.type()) {
      case ExprType::Try: return true;
      case ExprType::Block:
        if (HasTry(cast<BlockExpr>(&e)->block.exprs)) return true;
        break;
      case ExprType::Loop:
        if (HasTry(cast<LoopExpr>(&e)->block.exprs)) return true;
        break;
      case ExprType::If:
        if (HasTry(cast<IfExpr>(&e)->true_.exprs) || HasTry(cast<IfExpr>(&e)->false_)) return true;
        break;
      default: break;
    }
  }
  return false;
}

void PushZero(ExprList* out, Type t) {
  switch (t) {
    case Type::I32: out->push_back(std::make_unique<ConstExpr>(Const::I32(0))); break;
    case Type::I64: out->push_back(std::make_unique<ConstExpr>(Const::I64(0))); break;
    case Type::F32: out->push_back(std::make_unique<ConstExpr>(Const::F32(0))); break;
    case Type::F64: out->push_back(std::make_unique<ConstExpr>(Const::F64(0))); break;
    case Type::V128: out->push_back(std::make_unique<ConstExpr>(Const::V128(v128{}))); break;
    default: out->push_back(std::make_unique<RefNullExpr>(t)); break;  // funcref, externref
  }
}

}  // namespace

int LiftCatchLocals(wabt::Module* m) {
  int rewritten = 0;
  const Index defined_end = static_cast<Index>(m->funcs.size());
  for (Index i = m->num_func_imports; i < defined_end; ++i) {
    Func* f = m->funcs[i];
    if (f->local_types.size() == 0 || !HasTry(f->exprs)) continue;
    const Index nparams = f->GetNumParams();

    auto field = std::make_unique<FuncModuleField>();
    Func& inner = field->func;
    inner.decl.sig.param_types = f->decl.sig.param_types;
    for (Type t : f->local_types) inner.decl.sig.param_types.push_back(t);
    inner.decl.sig.result_types = f->decl.sig.result_types;
    inner.decl.has_func_type = true;
    inner.decl.type_var = Var(instr::FuncTypeIndex(m, inner.decl.sig), Location());
    inner.exprs = std::move(f->exprs);
    inner.bindings = f->bindings;  // local names: same indices

    ExprList wrapper;
    for (Index p = 0; p < nparams; ++p)
      wrapper.push_back(std::make_unique<LocalGetExpr>(Var(p, Location())));
    for (Type t : f->local_types) PushZero(&wrapper, t);
    const Index inner_index = static_cast<Index>(m->funcs.size());
    wrapper.push_back(std::make_unique<CallExpr>(Var(inner_index, Location())));
    f->exprs = std::move(wrapper);
    f->local_types.Set({});
    for (auto it = f->bindings.begin(); it != f->bindings.end();)
      it = it->second.index >= nparams ? f->bindings.erase(it) : std::next(it);

    m->AppendField(std::move(field));  // appends to m->funcs: index inner_index
    ++rewritten;
  }
  return rewritten;
}

}  // namespace arcella::engine::interp
