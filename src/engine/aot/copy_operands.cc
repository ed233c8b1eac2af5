#include "engine/aot/copy_operands.h"

#include <wabt/expr-visitor.h>
#include <wabt/ir.h>

#include <utility>

namespace arcella::engine::aot {
namespace {

class CopySwapper : public wabt::ExprVisitor::DelegateNop {
 public:
  wabt::Result OnMemoryCopyExpr(wabt::MemoryCopyExpr* e) override {
    if (e->srcmemidx.is_index() && e->destmemidx.is_index() &&
        e->srcmemidx.index() == e->destmemidx.index())
      return wabt::Result::Ok;
    std::swap(e->srcmemidx, e->destmemidx);
    ++swapped;
    return wabt::Result::Ok;
  }
  uint32_t swapped = 0;
};

}  // namespace

uint32_t SwapCopyOperands(wabt::Module* module) {
  CopySwapper swapper;
  wabt::ExprVisitor visitor(&swapper);
  for (wabt::Func* f : module->funcs) (void)visitor.VisitFunc(f);
  return swapper.swapped;
}

}  // namespace arcella::engine::aot
