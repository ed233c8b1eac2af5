// Metering instrumentation (see instrument.h): module-level changes (the
// `check` import, the two exported globals, function renumbering) and the
// per-function interrupt-only pass. The fuel pass lives in instrument_fuel.cc.
#include "engine/instrument.h"

#include "engine/backend.h"
#include "engine/instrument_internal.h"
#include "wabt/cast.h"
#include "wabt/feature.h"
#include "wabt/ir.h"
#include "wabt/validator.h"

namespace arcella::engine {
namespace instr {

using namespace wabt;

// ------------------------------------------------------------ expr builders
void Emit(ExprList* out, std::unique_ptr<Expr> e) { out->push_back(std::move(e)); }
void LocalGet(ExprList* o, Index i) { Emit(o, std::make_unique<LocalGetExpr>(Var(i, Location()))); }
void LocalSet(ExprList* o, Index i) { Emit(o, std::make_unique<LocalSetExpr>(Var(i, Location()))); }
void GlobalGet(ExprList* o, Index i) {
  Emit(o, std::make_unique<GlobalGetExpr>(Var(i, Location())));
}
void GlobalSet(ExprList* o, Index i) {
  Emit(o, std::make_unique<GlobalSetExpr>(Var(i, Location())));
}
void I64Const(ExprList* o, uint64_t v) { Emit(o, std::make_unique<ConstExpr>(Const::I64(v))); }
void CallCheck(ExprList* o) { Emit(o, std::make_unique<CallExpr>(Var(kCheckFunc, Location()))); }

void IfThen(ExprList* o, ExprList body) {
  auto e = std::make_unique<IfExpr>();
  e->true_.exprs = std::move(body);  // void block type: empty declaration
  Emit(o, std::move(e));
}

Index FuncTypeIndex(wabt::Module* m, const FuncSignature& sig) {
  for (Index i = 0; i < m->types.size(); ++i)
    if (auto* ft = dyn_cast<wabt::FuncType>(m->types[i]); ft && ft->sig == sig) return i;
  auto field = std::make_unique<TypeModuleField>();
  auto ft = std::make_unique<wabt::FuncType>();
  ft->sig = sig;
  m->types.push_back(ft.get());
  field->type = std::move(ft);
  // Keep the type before every import/function in field order.
  auto pos = m->fields.begin();
  for (auto it = m->fields.begin(); it != m->fields.end(); ++it)
    if (it->type() == ModuleFieldType::Type) pos = std::next(it);
  m->fields.insert(pos, std::move(field));
  return static_cast<Index>(m->types.size() - 1);
}

ExprList InterruptCheck(const Globals& g) {
  ExprList out, body;
  GlobalGet(&out, g.interrupt);
  CallCheck(&body);
  IfThen(&out, std::move(body));
  return out;
}

ExprList FuelCheck(const Globals& g, Index fuel_local) {
  ExprList out, body;
  I64Const(&out, 0);
  Emit(&out, std::make_unique<CompareExpr>(Opcode::I64LtS));
  GlobalGet(&out, g.interrupt);
  Emit(&out, std::make_unique<BinaryExpr>(Opcode::I32Or));
  LocalGet(&body, fuel_local);
  GlobalSet(&body, g.fuel);
  CallCheck(&body);
  GlobalGet(&body, g.fuel);
  LocalSet(&body, fuel_local);
  IfThen(&out, std::move(body));
  return out;
}

namespace {

// ------------------------------------------------------- function renumbering
void ShiftVar(Var* v) {
  if (v->is_index()) v->set_index(v->index() + 1);
}

void ShiftFuncRefs(ExprList* exprs) {
  for (Expr& e : *exprs) {
    switch (e.type()) {
      case ExprType::Call: ShiftVar(&cast<CallExpr>(&e)->var); break;
      case ExprType::ReturnCall: ShiftVar(&cast<ReturnCallExpr>(&e)->var); break;
      case ExprType::RefFunc: ShiftVar(&cast<RefFuncExpr>(&e)->var); break;
      case ExprType::Block: ShiftFuncRefs(&cast<BlockExpr>(&e)->block.exprs); break;
      case ExprType::Loop: ShiftFuncRefs(&cast<LoopExpr>(&e)->block.exprs); break;
      case ExprType::If:
        ShiftFuncRefs(&cast<IfExpr>(&e)->true_.exprs);
        ShiftFuncRefs(&cast<IfExpr>(&e)->false_);
        break;
      case ExprType::Try: {
        auto* t = cast<TryExpr>(&e);
        ShiftFuncRefs(&t->block.exprs);
        for (Catch& c : t->catches) ShiftFuncRefs(&c.exprs);
        break;
      }
      default: break;
    }
  }
}

// Shifts every function index by one, everywhere it can occur.
void ShiftAllFuncRefs(wabt::Module* m) {
  for (Func* f : m->funcs) ShiftFuncRefs(&f->exprs);
  for (Global* g : m->globals) ShiftFuncRefs(&g->init_expr);
  for (ElemSegment* seg : m->elem_segments) {
    ShiftFuncRefs(&seg->offset);
    for (ExprList& el : seg->elem_exprs) ShiftFuncRefs(&el);
  }
  for (Export* e : m->exports)
    if (e->kind == ExternalKind::Func) ShiftVar(&e->var);
  for (Var* s : m->starts) ShiftVar(s);
  for (auto& [name, binding] : m->func_bindings) binding.index += 1;
}

// Inserts import "arcella_rt" "check" as function 0 (callers shift first).
void AddCheckImport(wabt::Module* m) {
  Index type = FuncTypeIndex(m, FuncSignature());
  auto imp = std::make_unique<FuncImport>();
  imp->module_name = kMeterModule;
  imp->field_name = kMeterCheck;
  imp->func.decl.has_func_type = true;
  imp->func.decl.type_var = Var(type, Location());
  Func* func = &imp->func;
  Import* raw = imp.get();
  auto field = std::make_unique<ImportModuleField>(std::move(imp));
  // Right after the type fields, i.e. before every other import.
  auto pos = m->fields.begin();
  for (auto it = m->fields.begin(); it != m->fields.end(); ++it)
    if (it->type() == ModuleFieldType::Type) pos = std::next(it);
  m->fields.insert(pos, std::move(field));
  m->imports.insert(m->imports.begin(), raw);
  m->funcs.insert(m->funcs.begin(), func);
  m->num_func_imports += 1;
}

Index AddGlobal(wabt::Module* m, Type type) {
  auto field = std::make_unique<GlobalModuleField>();
  field->global.type = type;
  field->global.mutable_ = true;
  field->global.init_expr.push_back(
      std::make_unique<ConstExpr>(type == Type::I64 ? Const::I64(0) : Const::I32(0)));
  m->AppendField(std::move(field));
  return static_cast<Index>(m->globals.size() - 1);
}

void AddExport(wabt::Module* m, const char* name, Index global) {
  auto field = std::make_unique<ExportModuleField>();
  field->export_.name = name;
  field->export_.kind = ExternalKind::Global;
  field->export_.var = Var(global, Location());
  m->AppendField(std::move(field));
}

// ------------------------------------------------------- interrupt-only pass
void InsertInterruptChecks(ExprList* exprs, const Globals& g) {
  for (Expr& e : *exprs) {
    switch (e.type()) {
      case ExprType::Block: InsertInterruptChecks(&cast<BlockExpr>(&e)->block.exprs, g); break;
      case ExprType::Loop: {
        ExprList* body = &cast<LoopExpr>(&e)->block.exprs;
        InsertInterruptChecks(body, g);
        ExprList check = InterruptCheck(g);
        body->splice(body->begin(), check);
        break;
      }
      case ExprType::If:
        InsertInterruptChecks(&cast<IfExpr>(&e)->true_.exprs, g);
        InsertInterruptChecks(&cast<IfExpr>(&e)->false_, g);
        break;
      case ExprType::Try: {
        auto* t = cast<TryExpr>(&e);
        InsertInterruptChecks(&t->block.exprs, g);
        for (Catch& c : t->catches) InsertInterruptChecks(&c.exprs, g);
        break;
      }
      default: break;
    }
  }
}

// Instructions the passes cannot meter (exceptions and tail calls can be).
bool HasUnsupported(const ExprList& exprs) {
  for (const Expr& e : exprs) {
    switch (e.type()) {
      case ExprType::CallRef: return true;
      case ExprType::Try: {
        auto* t = cast<TryExpr>(&e);
        if (HasUnsupported(t->block.exprs)) return true;
        for (const Catch& c : t->catches)
          if (HasUnsupported(c.exprs)) return true;
        break;
      }
      case ExprType::Block:
        if (HasUnsupported(cast<BlockExpr>(&e)->block.exprs)) return true;
        break;
      case ExprType::Loop:
        if (HasUnsupported(cast<LoopExpr>(&e)->block.exprs)) return true;
        break;
      case ExprType::If:
        if (HasUnsupported(cast<IfExpr>(&e)->true_.exprs) ||
            HasUnsupported(cast<IfExpr>(&e)->false_))
          return true;
        break;
      default: break;
    }
  }
  return false;
}

}  // namespace
}  // namespace instr

Status Instrument(wabt::Module* ir, Metering metering) {
  using namespace wabt;
  if (metering == Metering::kNone) return Status::Ok();
  for (const char* name : {kFuelExport, kInterruptExport}) {
    if (ir->GetExport(name) != nullptr)
      return Status::InvalidArgument(std::string("module already exports \"") + name +
                                     "\", a name reserved for metering");
  }
  for (const Func* f : ir->funcs) {
    if (instr::HasUnsupported(f->exprs))
      return Status::Unsupported(
          "metering: function uses an instruction it cannot meter (call_ref)");
  }

  instr::ShiftAllFuncRefs(ir);
  instr::AddCheckImport(ir);
  instr::Globals g;
  g.fuel = instr::AddGlobal(ir, Type::I64);
  g.interrupt = instr::AddGlobal(ir, Type::I32);
  instr::AddExport(ir, kFuelExport, g.fuel);
  instr::AddExport(ir, kInterruptExport, g.interrupt);

  for (Index i = ir->num_func_imports; i < ir->funcs.size(); ++i) {
    Func* f = ir->funcs[i];
    if (metering == Metering::kFuel) {
      instr::InstrumentFuel(f, g);
    } else {
      instr::InsertInterruptChecks(&f->exprs, g);
      ExprList entry = instr::InterruptCheck(g);
      f->exprs.splice(f->exprs.begin(), entry);
    }
  }

#ifndef NDEBUG
  Errors errors;
  Features features;
  features.enable_simd();
  features.enable_bulk_memory();
  features.enable_reference_types();
  features.enable_multi_value();
  features.enable_sign_extension();
  features.enable_sat_float_to_int();
  features.enable_exceptions();
  features.enable_tail_call();
  features.enable_multi_memory();
  if (Failed(ValidateModule(ir, &errors, ValidateOptions(features)))) {
    return Status::Internal("instrumented module is invalid: " +
                            (errors.empty() ? std::string("?") : errors[0].message));
  }
#endif
  return Status::Ok();
}

}  // namespace arcella::engine
