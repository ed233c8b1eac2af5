// Helpers shared by the engine tests: compile options for the interpreter
// tier, and the naive fuel reference that cross-checks the metering
// instrumentation (instrument_test.cc on wabt's interpreter directly,
// eh_test.cc through the engine).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/engine.h"
#include "engine/loader.h"
#include "wabt/cast.h"
#include "wabt/ir.h"

namespace arcella::engine::test_helpers {

// Engine::Compile options asking for the interpreter tier.
inline CompileOptions InterpOptions() {
  CompileOptions o;
  o.tier = Tier::kInterp;
  return o;
}

// The exported i64 global NaiveModule counts in.
inline constexpr const char* kNaiveExport = "__naive";

// ------------------------------------------------------------ fuel reference
// A naive counter, exact by construction: `global $n += 1` before every
// counted instruction (try, block, loop, nop cost nothing; throw and rethrow
// cost 1 like any other).
inline void NaiveCount(wabt::ExprList* list, wabt::Index g) {
  using namespace wabt;
  for (auto it = list->begin(); it != list->end(); ++it) {
    Expr& e = *it;
    bool counted = true;
    switch (e.type()) {
      case ExprType::Nop: counted = false; break;
      case ExprType::Block:
        counted = false;
        NaiveCount(&cast<BlockExpr>(&e)->block.exprs, g);
        break;
      case ExprType::Loop:
        counted = false;
        NaiveCount(&cast<LoopExpr>(&e)->block.exprs, g);
        break;
      case ExprType::Try: {
        counted = false;
        auto* t = cast<TryExpr>(&e);
        NaiveCount(&t->block.exprs, g);
        for (Catch& c : t->catches) NaiveCount(&c.exprs, g);
        break;
      }
      case ExprType::If:
        NaiveCount(&cast<IfExpr>(&e)->true_.exprs, g);
        NaiveCount(&cast<IfExpr>(&e)->false_, g);
        break;
      default: break;
    }
    if (!counted) continue;
    list->insert(it, std::make_unique<GlobalGetExpr>(Var(g, Location())));
    list->insert(it, std::make_unique<ConstExpr>(Const::I64(1)));
    list->insert(it, std::make_unique<BinaryExpr>(Opcode::I64Add));
    list->insert(it, std::make_unique<GlobalSetExpr>(Var(g, Location())));
  }
}

// `wasm` with NaiveCount applied to every defined function and the counter
// exported as kNaiveExport; still valid (checked). Empty on failure.
inline std::vector<uint8_t> NaiveModule(const std::vector<uint8_t>& wasm) {
  auto d = Decode(wasm);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  if (!d.ok()) return {};
  wabt::Module* m = d->ir.get();
  auto gf = std::make_unique<wabt::GlobalModuleField>();
  gf->global.type = wabt::Type::I64;
  gf->global.mutable_ = true;
  gf->global.init_expr.push_back(std::make_unique<wabt::ConstExpr>(wabt::Const::I64(0)));
  m->AppendField(std::move(gf));
  auto g = static_cast<wabt::Index>(m->globals.size() - 1);
  auto ef = std::make_unique<wabt::ExportModuleField>();
  ef->export_.name = kNaiveExport;
  ef->export_.kind = wabt::ExternalKind::Global;
  ef->export_.var = wabt::Var(g, wabt::Location());
  m->AppendField(std::move(ef));
  for (wabt::Index i = m->num_func_imports; i < m->funcs.size(); ++i)
    NaiveCount(&m->funcs[i]->exprs, g);
  auto out = Encode(*m);
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return {};
  auto again = Decode(*out);  // must still validate
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  return *out;
}

}  // namespace arcella::engine::test_helpers
