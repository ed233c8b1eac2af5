// The compact fuel shape (instrument_fuel.cc): a run that ends in a call,
// return, branch out of the function, unreachable or the function's end is
// charged in its flush. Counts must stay exact and equal on both tiers, also
// when fuel runs out part-way or code traps; interrupts still stop loops.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/tier_test.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

constexpr char kShapes[] = R"((module
  (table 1 funcref)
  (elem (i32.const 0) $one)
  (type $v (func (result i32)))
  (func $one (result i32) i32.const 1)
  (func $nothing)
  (func (export "chain") (result i32)
    call $one call $one i32.add
    call $one drop
    i32.const 0 call_indirect (type $v) i32.add)
  (func (export "leave") (param i32) (result i32)
    (block $b
      local.get 0 br_if $b
      call $nothing
      i32.const 7 br 1)
    i32.const 9 return)
  (func (export "trap") (result i32)
    call $one drop i32.const 1 drop unreachable)
  (func (export "tail") call $nothing)
  (func (export "loopcall") (param $n i32) (local $i i32)
    (loop $l
      call $nothing
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)))
)";

struct Outcome {
  bool trapped;
  TrapKind kind;
  uint64_t consumed;
};

// kShapes compiled once per tier.
std::shared_ptr<const Module> Shapes(Tier tier) {
  static std::shared_ptr<const Module> compiled[2];
  auto& m = compiled[tier == Tier::kAot ? 0 : 1];
  if (!m) {
    CompileOptions co;
    co.tier = tier;
    auto r = test::TestEngine(Metering::kFuel)->Compile(test::Wat(kShapes), co);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    EXPECT_EQ((*r)->tier(), tier);
    m = *r;
  }
  return m;
}

Outcome RunOn(Tier tier, const char* fn, std::vector<Value> args, uint64_t fuel) {
  auto m = Shapes(tier);
  if (!m) return {};
  InstanceOptions o;
  o.limits.fuel = fuel;
  auto inst = Instance::Create(m, Linker(), o);
  EXPECT_TRUE(inst.ok()) << inst.status().ToString();
  if (!inst.ok()) return {};
  auto r = (*inst)->Call(fn, args);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  Outcome out{r->trap.has_value(), r->trap ? r->trap->kind : TrapKind::kUnreachable,
              (*inst)->fuel_consumed()};
  return out;
}

class FuelShape : public TierTest {};

TEST_P(FuelShape, RunsEndingInExitsAreCountedExactly) {
  struct Case {
    const char* fn;
    std::vector<Value> args;
    uint64_t cost;
  } cases[] = {
      // call, 1, call, 1, add, call, 1, drop, const, call_indirect, 1, add
      {"chain", {}, 12},
      {"leave", {Value::I32(1)}, 4},  // local.get, br_if, const, return
      {"leave", {Value::I32(0)}, 5},  // local.get, br_if, call, const, br
      {"tail", {}, 1},                // call ($nothing costs 0)
      {"loopcall", {Value::I32(10)}, 80},
  };
  for (const auto& c : cases) {
    Outcome o = RunOn(GetParam(), c.fn, c.args, 1'000'000);
    EXPECT_FALSE(o.trapped) << c.fn;
    EXPECT_EQ(o.consumed, c.cost) << c.fn;
  }
  // A trap after a call: everything up to and including `unreachable`.
  Outcome t = RunOn(GetParam(), "trap", {}, 1'000'000);
  EXPECT_TRUE(t.trapped);
  EXPECT_EQ(t.kind, TrapKind::kUnreachable);
  EXPECT_EQ(t.consumed, 6u);
}

TEST_P(FuelShape, TightLoopsStopOnDeadlineAndInterrupt) {
  // The artefact with fuel metering, run without a fuel limit: the loop
  // headers' checks still see the interrupt flag.
  auto m = Compile(R"((module (func $nothing)
      (func (export "spin") (loop $l br $l))
      (func (export "spincall") (loop $l call $nothing br $l))))",
                   Metering::kFuel);
  ASSERT_TRUE(m);
  for (const char* fn : {"spin", "spincall"}) {
    InstanceOptions o;
    o.limits.deadline = std::chrono::milliseconds(20);
    auto inst = Make(m, o);
    ASSERT_TRUE(inst);
    auto r = inst->Call(fn, {});
    ASSERT_TRUE(r.ok() && r->trap) << fn;
    EXPECT_EQ(r->trap->kind, TrapKind::kDeadline) << fn;

    auto inst2 = Make(m);
    ASSERT_TRUE(inst2);
    // An interrupt is sticky until it traps: it stops the call whether it
    // lands before or inside the loop.
    std::thread killer([&] { inst2->Interrupt(); });
    r = inst2->Call(fn, {});
    killer.join();
    ASSERT_TRUE(r.ok() && r->trap) << fn;
    EXPECT_EQ(r->trap->kind, TrapKind::kInterrupted) << fn;
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, FuelShape, ::testing::Values(Tier::kAot, Tier::kInterp),
                         [](const auto& info) { return std::string(TierName(info.param)); });

// Both tiers agree for every fuel limit, including limits that run out
// inside a run charged at its flush. (Fuel is checked at function entries
// and loop headers, so a call may finish a little past its limit.)
TEST(FuelShapeTiers, SameOutcomeForEveryLimit) {
  for (const char* fn : {"chain", "trap", "tail"}) {
    for (uint64_t fuel = 0; fuel <= 14; ++fuel) {
      Outcome a = RunOn(Tier::kAot, fn, {}, fuel);
      Outcome i = RunOn(Tier::kInterp, fn, {}, fuel);
      EXPECT_EQ(a.trapped, i.trapped) << fn << " fuel " << fuel;
      EXPECT_EQ(a.kind, i.kind) << fn << " fuel " << fuel;
      EXPECT_EQ(a.consumed, i.consumed) << fn << " fuel " << fuel;
    }
  }
  // The limits above do run out part-way.
  Outcome none = RunOn(Tier::kAot, "chain", {}, 0);
  EXPECT_TRUE(none.trapped);
  EXPECT_EQ(none.kind, TrapKind::kOutOfFuel);
  Outcome enough = RunOn(Tier::kAot, "chain", {}, 12);
  EXPECT_FALSE(enough.trapped);
  EXPECT_EQ(enough.consumed, 12u);
}

}  // namespace
}  // namespace arcella::engine
