// The fuel pass: per-function charging of straight-line runs (instrument.h).
//
// A run is a maximal sequence of instructions that is entered only at its
// first instruction and left only after its last, so its cost can be charged
// once, up front. A new run starts at: function entry, a loop header, the
// first instruction of each `if` arm, after an `if`'s end, after the end of
// a block that some branch targets, and after every br/br_if/br_table,
// return, unreachable, call and call_indirect. A block's start and the end
// of an untargeted block or of a loop do not split runs: they are entered
// only by falling through.
//
// Exceptions and tail calls: throw, rethrow, return_call and
// return_call_indirect end a run like return (fuel flushed first); `try`
// costs 0 like a block and its body continues the run; each catch/catch_all
// handler starts a run that reloads fuel from the global; a run starts after
// the try's end. (A throw in a callee reaches the handler after the
// callee flushed its fuel.)
//
// Each run gets a placeholder `nop` when it starts; when it ends (and its
// cost is known) the placeholder is replaced by the charge sequence.
//
// Compact shape (wasm2c turns each instruction into a C statement, so the
// metering's instruction count is what the C compiler parses): a run that
// ends in an exit after which the local is dead or reloaded -- call,
// call_indirect, return, unreachable, throw, rethrow, return_call*, a `br`
// out of the function, the function's end -- and has no check at its start
// is charged in that exit's flush, `global = local - cost` (or, after a
// call, `global = global - cost`), with nothing at its start. Counts are
// unchanged: nothing reads fuel inside a run, and a trap inside it leaves the
// global at the last flush as before. A check takes the charged value from
// `local.tee`.
#include <optional>
#include <vector>

#include "engine/instrument_internal.h"
#include "wabt/cast.h"
#include "wabt/ir.h"

namespace arcella::engine::instr {
namespace {

using namespace wabt;

class FuelPass {
 public:
  FuelPass(Func* f, const Globals& g) : f_(f), g_(g) {}

  void Run() {
    fuel_local_ = f_->GetNumParamsAndLocals();  // appended last: no index shifts
    f_->local_types.AppendDecl(Type::I64, 1);
    StartRun(&f_->exprs, f_->exprs.begin(), RunKind::kEntry);
    Walk(&f_->exprs);
    ExitRun(&f_->exprs, f_->exprs.end());  // falling off the end
  }

 private:
  enum class RunKind {
    kPlain,   // local -= cost
    kReload,  // after a call: local = global - cost
    kEntry,   // function entry: local = global - cost; check
    kLoop,    // loop header: local -= cost; check
  };
  struct Label {
    bool is_block;
    bool targeted;
  };

  void StartRun(ExprList* list, ExprList::iterator pos, RunKind kind) {
    auto nop = std::make_unique<NopExpr>();
    placeholder_ = nop.get();
    run_list_ = list;
    run_it_ = list->insert(pos, std::move(nop));
    kind_ = kind;
    cost_ = 0;
  }

  void EndRun() {
    if (placeholder_ == nullptr) return;
    ExprList seq;
    const bool check = kind_ == RunKind::kEntry || kind_ == RunKind::kLoop;
    bool from_global = kind_ == RunKind::kReload || kind_ == RunKind::kEntry;
    if (from_global || cost_ > 0) {
      if (from_global) {
        GlobalGet(&seq, g_.fuel);
      } else {
        LocalGet(&seq, fuel_local_);
      }
      if (cost_ > 0) {
        I64Const(&seq, cost_);
        seq.push_back(std::make_unique<BinaryExpr>(Opcode::I64Sub));
      }
      // A check follows: it takes the new value from the stack.
      if (check) {
        Emit(&seq, std::make_unique<LocalTeeExpr>(Var(fuel_local_, Location())));
      } else {
        LocalSet(&seq, fuel_local_);
      }
    } else if (check) {
      LocalGet(&seq, fuel_local_);
    }
    if (check) {
      ExprList c = FuelCheck(g_, fuel_local_);
      seq.splice(seq.end(), c);
    }
    Replace(&seq);
  }

  // Puts `seq` where the current run's placeholder is and closes the run.
  void Replace(ExprList* seq) {
    run_list_->splice(*run_it_, *seq);
    run_list_->erase(*run_it_);
    run_it_.reset();
    placeholder_ = nullptr;
    cost_ = 0;
  }

  // The current run ends at `before` by leaving the function or calling
  // (an exit after which the local is dead or reloaded from the global).
  // A run without a check at its start is then charged in the flush itself,
  // `global $fuel = (local $f or, after a call, global $fuel) - cost`, with
  // nothing at its start: nothing reads the fuel in between, and a trap
  // inside the run leaves the global at the last flush either way.
  void ExitRun(ExprList* list, ExprList::iterator before) {
    if (placeholder_ == nullptr || kind_ == RunKind::kEntry || kind_ == RunKind::kLoop) {
      EndRun();
      Flush(list, before);
      return;
    }
    ExprList seq;
    if (kind_ == RunKind::kReload) {
      if (cost_ > 0) {
        GlobalGet(&seq, g_.fuel);
        I64Const(&seq, cost_);
        seq.push_back(std::make_unique<BinaryExpr>(Opcode::I64Sub));
        GlobalSet(&seq, g_.fuel);
      }  // else the global is current already
    } else {
      LocalGet(&seq, fuel_local_);
      if (cost_ > 0) {
        I64Const(&seq, cost_);
        seq.push_back(std::make_unique<BinaryExpr>(Opcode::I64Sub));
      }
      GlobalSet(&seq, g_.fuel);
    }
    list->splice(before, seq);
    ExprList none;
    Replace(&none);
  }

  // `global $fuel = local $f` before `before`.
  void Flush(ExprList* list, ExprList::iterator before) {
    ExprList seq;
    LocalGet(&seq, fuel_local_);
    GlobalSet(&seq, g_.fuel);
    list->splice(before, seq);
  }

  // Records a branch to relative depth `v`; true if it leaves the function.
  bool Target(const Var& v) {
    Index depth = v.index();
    if (depth >= labels_.size()) return true;
    labels_[labels_.size() - 1 - depth].targeted = true;
    return false;
  }

  // Ends the current run after the instruction at `it` and starts the next.
  void Split(ExprList* list, ExprList::iterator it, RunKind next = RunKind::kPlain) {
    EndRun();
    StartRun(list, std::next(it), next);
  }

  void Walk(ExprList* list) {
    for (auto it = list->begin(); it != list->end(); ++it) {
      Expr& e = *it;
      if (&e == placeholder_) continue;
      switch (e.type()) {
        case ExprType::Nop:
        case ExprType::CodeMetadata: break;
        case ExprType::Block: {
          labels_.push_back({true, false});
          Walk(&cast<BlockExpr>(&e)->block.exprs);
          bool targeted = labels_.back().targeted;
          labels_.pop_back();
          if (targeted) Split(list, it);
          break;
        }
        case ExprType::Loop: {
          EndRun();
          ExprList* body = &cast<LoopExpr>(&e)->block.exprs;
          labels_.push_back({false, false});
          StartRun(body, body->begin(), RunKind::kLoop);
          Walk(body);
          labels_.pop_back();
          break;  // the run goes on past the loop's end (reached by fallthrough only)
        }
        case ExprType::If: {
          auto* ie = cast<IfExpr>(&e);
          cost_ += 1;
          EndRun();
          labels_.push_back({false, false});
          StartRun(&ie->true_.exprs, ie->true_.exprs.begin(), RunKind::kPlain);
          Walk(&ie->true_.exprs);
          EndRun();
          StartRun(&ie->false_, ie->false_.begin(), RunKind::kPlain);
          Walk(&ie->false_);
          EndRun();
          labels_.pop_back();
          StartRun(list, std::next(it), RunKind::kPlain);
          break;
        }
        case ExprType::Br:
        case ExprType::BrIf: {
          cost_ += 1;
          const Var& v = e.type() == ExprType::Br ? cast<BrExpr>(&e)->var : cast<BrIfExpr>(&e)->var;
          if (Target(v)) {
            if (e.type() == ExprType::Br) {
              ExitRun(list, it);  // leaves the function: like return
              StartRun(list, std::next(it), RunKind::kPlain);
              break;
            }
            Flush(list, it);  // the fallthrough goes on with the local
          }
          Split(list, it);
          break;
        }
        case ExprType::BrTable: {
          cost_ += 1;
          auto* bt = cast<BrTableExpr>(&e);
          bool leaves = Target(bt->default_target);
          for (const Var& v : bt->targets) leaves |= Target(v);
          if (leaves) Flush(list, it);
          Split(list, it);
          break;
        }
        case ExprType::Return:
        case ExprType::Unreachable:
          cost_ += 1;
          ExitRun(list, it);
          StartRun(list, std::next(it), RunKind::kPlain);
          break;
        case ExprType::Call:
        case ExprType::CallIndirect:
          cost_ += 1;
          ExitRun(list, it);
          StartRun(list, std::next(it), RunKind::kReload);
          break;
        case ExprType::Throw:
        case ExprType::Rethrow:
        case ExprType::ReturnCall:
        case ExprType::ReturnCallIndirect:
          // They leave the function (or reach a handler, which reloads):
          // the global must be current.
          cost_ += 1;
          ExitRun(list, it);
          StartRun(list, std::next(it), RunKind::kPlain);
          break;
        case ExprType::Try: {
          // Costs 0 like a block; the run goes on into the body, which is
          // entered by fallthrough only. A handler is entered from a throw
          // here (after a flush) or in a callee (which flushed), so it
          // starts from the global. After the try, a new run: the end is
          // reached from the body, the handlers and branches.
          auto* te = cast<TryExpr>(&e);
          labels_.push_back({true, false});
          Walk(&te->block.exprs);
          EndRun();
          for (Catch& c : te->catches) {
            StartRun(&c.exprs, c.exprs.begin(), RunKind::kReload);
            Walk(&c.exprs);
            EndRun();
          }
          labels_.pop_back();
          StartRun(list, std::next(it), RunKind::kPlain);
          break;
        }
        default: cost_ += 1; break;
      }
    }
  }

  Func* f_;
  Globals g_;
  Index fuel_local_ = 0;
  std::vector<Label> labels_;
  // The current run.
  Expr* placeholder_ = nullptr;
  ExprList* run_list_ = nullptr;
  std::optional<ExprList::iterator> run_it_;
  RunKind kind_ = RunKind::kPlain;
  uint64_t cost_ = 0;
};

}  // namespace

void InstrumentFuel(Func* f, const Globals& g) { FuelPass(f, g).Run(); }

}  // namespace arcella::engine::instr
