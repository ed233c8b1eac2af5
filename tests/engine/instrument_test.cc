// Metering instrumentation: exact fuel counts, checks and function
// renumbering, verified by running the instrumented module on wabt's
// interpreter directly (independent of the engine's tiers).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/instrument.h"
#include "engine/loader.h"
#include "engine_test_helpers.h"
#include "meter_runner.h"
#include "test_util.h"
#include "wabt/cast.h"
#include "wabt/ir.h"

namespace arcella::engine {
namespace {

using test::Wat;

// wat2wasm with its default (WebAssembly 2.0) features: test::Wat enables
// function-references, under which wabt types ref.func as (ref $t), which
// wabt 1.0.32 then refuses where a funcref is expected.
std::vector<uint8_t> Wat20(const std::string& text) {
  std::string dir = test::TempDir("arcella-instr");
  {
    FILE* f = std::fopen((dir + "/m.wat").c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  std::string cmd = "wat2wasm --debug-names -o " + dir + "/m.wasm " + dir + "/m.wat";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return test::ReadFile(dir + "/m.wasm");
}

// ------------------------------------------------------------ the reference
// test_helpers::NaiveModule (engine_test_helpers.h): exact by construction;
// used to cross-check the real instrumentation.
using test_helpers::NaiveModule;

std::vector<uint8_t> Metered(const std::vector<uint8_t>& wasm,
                             Metering metering = Metering::kFuel) {
  auto d = Decode(wasm);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  if (!d.ok()) return {};
  Status st = Instrument(d->ir.get(), metering);
  EXPECT_TRUE(st.ok()) << st.ToString();
  auto out = Encode(*d->ir);
  EXPECT_TRUE(out.ok());
  auto again = Decode(*out);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  return *out;
}

using Runner = test::MeterRunner;
using Args = std::vector<uint64_t>;
uint64_t I32(uint32_t v) { return v; }
uint64_t I64(uint64_t v) { return v; }

constexpr int64_t kFuel = 1'000'000;

// Fuel consumed by one call of `name` on a fresh instance of metered `wasm`.
int64_t Consumed(const std::vector<uint8_t>& metered, const std::string& name, const Args& args,
                 uint64_t* result = nullptr) {
  Runner r(metered);
  EXPECT_TRUE(r.ok()) << r.error;
  r.SetGlobal(kFuelExport, kFuel);
  uint64_t out = r.Call(name, args);
  EXPECT_EQ(r.trap_message, "") << name;
  if (result) *result = out;
  return kFuel - r.Global(kFuelExport);
}

// Executed-instruction count of the naive reference.
int64_t NaiveCountOf(const std::vector<uint8_t>& naive, const std::string& name, const Args& args) {
  Runner r(naive);
  EXPECT_TRUE(r.ok()) << r.error;
  r.Call(name, args);
  EXPECT_EQ(r.trap_message, "") << name;
  return r.Global(test_helpers::kNaiveExport);
}

// ------------------------------------------------------------ the cases
const char* kProgram = R"wat((module
  (type $t (func (param i32) (result i32)))
  (memory (export "mem") 1)
  (table 2 funcref)
  (elem (i32.const 0) $add1 $dbl)
  (func $add1 (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $dbl (param i32) (result i32) local.get 0 local.get 0 i32.add)
  (func (export "straight") (param i32) (result i32)
    local.get 0 nop i32.const 1 i32.add nop)
  (func (export "loop") (param $n i32) (result i32) (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
  (func (export "sel") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.const 10))
      (else (i32.const 20) (i32.const 1) (i32.add))))
  (func (export "calls") (result i32) i32.const 5 call $add1 call $add1)
  (func $fac (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
  (func (export "ind") (param i32 i32) (result i32)
    local.get 0 local.get 1 call_indirect (type $t))
  (func (export "bulk")
    (memory.fill (i32.const 0) (i32.const 7) (i32.const 100))
    (memory.copy (i32.const 200) (i32.const 0) (i32.const 100)))
  (func (export "bt") (param i32) (result i32)
    (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 (local.get 0)))
        (return (i32.const 100)))
      (return (i32.const 101)))
    (i32.const 102))
  (func (export "bi") (param i32) (result i32)
    (block $out (result i32)
      (block $in
        (br_if $in (local.get 0))
        (br $out (i32.const 7)))
      (i32.const 8)))
  (func (export "early") (param i32) (result i32)
    (br_if 0 (i32.const 1) (local.get 0)) drop (i32.const 2))
  (func (export "mix") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (block $skip
        (br_if $skip (i32.and (local.get $n) (i32.const 1)))
        (local.set $acc (call_indirect (type $t) (local.get $acc) (i32.rem_u (local.get $n) (i32.const 2)))))
      (if (i32.gt_u (local.get $n) (i32.const 3))
        (then (local.set $acc (i32.add (local.get $acc) (call $add1 (local.get $n)))))
        (else nop))
      (block $a (block $b (block $c
        (br_table $a $b $c (i32.rem_u (local.get $n) (i32.const 3))))
        (local.set $acc (i32.xor (local.get $acc) (i32.const 5))))
        (local.set $acc (i32.mul (local.get $acc) (i32.const 3))))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l))
    (local.get $acc))
))wat";

class FuelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    wasm_ = Wat(kProgram);
    metered_ = Metered(wasm_);
    naive_ = NaiveModule(wasm_);
  }
  // Checks the hand-computed count, the naive reference and the result.
  void Expect(const std::string& name, Args args, int64_t count, uint64_t result) {
    uint64_t got = 0;
    EXPECT_EQ(Consumed(metered_, name, args, &got), count) << name;
    EXPECT_EQ(NaiveCountOf(naive_, name, args), count) << name << " (naive)";
    EXPECT_EQ(got, result) << name;
  }
  std::vector<uint8_t> wasm_, metered_, naive_;
};

TEST_F(FuelTest, StraightLine) { Expect("straight", {I32(41)}, 3, 42); }

TEST_F(FuelTest, LoopNIterations) {
  // 9 per continuing iteration, 4 for the exit test, 1 for the final get.
  for (uint32_t n : {0u, 1u, 10u, 1000u}) Expect("loop", {I32(n)}, 9 * n + 5, n);
}

TEST_F(FuelTest, IfElseBothArms) {
  Expect("sel", {I32(1)}, 3, 10);
  Expect("sel", {I32(0)}, 5, 21);
}

TEST_F(FuelTest, CallsAndRecursion) {
  Expect("calls", {}, 3 + 2 * 3, 7);
  for (uint64_t n : {0u, 1u, 5u, 20u}) {
    uint64_t fac = 1;
    for (uint64_t i = 2; i <= n; ++i) fac *= i;
    Expect("fac", {I64(n)}, 9 * n + 4, fac);
  }
}

TEST_F(FuelTest, CallIndirect) {
  Expect("ind", {I32(20), I32(0)}, 6, 21);
  Expect("ind", {I32(20), I32(1)}, 6, 40);
}

TEST_F(FuelTest, BulkMemoryCostsOne) {
  Runner r(metered_);
  r.SetGlobal(kFuelExport, kFuel);
  r.Call("bulk", {});
  EXPECT_EQ(kFuel - r.Global(kFuelExport), 8);
  EXPECT_EQ(r.MemoryByte(99), 7);
  EXPECT_EQ(r.MemoryByte(299), 7);
  EXPECT_EQ(r.MemoryByte(300), 0);
  EXPECT_EQ(NaiveCountOf(naive_, "bulk", {}), 8);
}

TEST_F(FuelTest, NestedBlocksBrTableBrIf) {
  Expect("bt", {I32(0)}, 4, 100);
  Expect("bt", {I32(1)}, 4, 101);
  Expect("bt", {I32(2)}, 3, 102);
  Expect("bt", {I32(9)}, 3, 102);
  Expect("bi", {I32(0)}, 4, 7);
  Expect("bi", {I32(1)}, 3, 8);
  Expect("early", {I32(1)}, 3, 1);
  Expect("early", {I32(0)}, 5, 2);
}

TEST_F(FuelTest, MatchesNaiveCountOnMixedControlFlow) {
  for (uint32_t n = 1; n < 40; ++n) {
    uint64_t got = 0;
    int64_t c = Consumed(metered_, "mix", {I32(n)}, &got);
    EXPECT_EQ(c, NaiveCountOf(naive_, "mix", {I32(n)})) << n;
    Runner plain(wasm_);
    EXPECT_EQ(got, plain.Call("mix", {I32(n)})) << n;
  }
}

TEST_F(FuelTest, ExhaustionTrapsAtLoopHeader) {
  Runner r(metered_);
  r.SetGlobal(kFuelExport, 100);
  r.Call("loop", {I32(1000)});
  EXPECT_EQ(r.trap_message, "out of fuel");
  // The check runs at the first loop header where fuel went negative.
  EXPECT_LT(r.Global(kFuelExport), 0);
  EXPECT_GE(r.Global(kFuelExport), -9);
}

TEST_F(FuelTest, RefillKeepsExactTotal) {
  Runner r(metered_);
  r.SetGlobal(kFuelExport, 10);
  r.refill = 100;
  EXPECT_EQ(r.Call("loop", {I32(100)}), 100u);
  EXPECT_EQ(r.trap_message, "");
  EXPECT_GT(r.checks, 5);
  EXPECT_EQ(10 + r.refilled - r.Global(kFuelExport), 9 * 100 + 5);
}

TEST_F(FuelTest, InterruptStopsAtEntry) {
  Runner r(metered_);
  r.SetGlobal(kFuelExport, kFuel);
  r.SetGlobal(kInterruptExport, 1);
  r.Call("straight", {I32(1)});
  EXPECT_EQ(r.trap_message, "interrupted");
  EXPECT_EQ(r.checks, 1);
}

TEST(Instrument, TrapMidway) {
  // `unreachable` flushes: the count is exact up to and including it.
  auto m = Metered(Wat(R"wat((module
    (func $one (result i32) i32.const 1)
    (func (export "u") (result i32) i32.const 1 drop unreachable)
    (func (export "div") (param i32) (result i32)
      call $one drop
      (i32.div_u (i32.const 1) (local.get 0)))))wat"));
  Runner r(m);
  r.SetGlobal(kFuelExport, kFuel);
  r.Call("u", {});
  EXPECT_NE(r.trap_message, "");
  EXPECT_EQ(kFuel - r.Global(kFuelExport), 3);
  // An implicit trap loses only the run it happened in: the global holds the
  // count at the last flush (before `call $one`: 1, plus $one's 1).
  r.SetGlobal(kFuelExport, kFuel);
  r.Call("div", {I32(0)});
  EXPECT_NE(r.trap_message, "");
  EXPECT_EQ(kFuel - r.Global(kFuelExport), 2);
}

TEST(Instrument, InterruptOnlyMode) {
  auto wasm = Wat(kProgram);
  auto m = Metered(wasm, Metering::kInterrupt);
  Runner r(m);
  r.SetGlobal(kFuelExport, 5);
  EXPECT_EQ(r.Call("loop", {I32(100)}), 100u);
  EXPECT_EQ(r.trap_message, "");
  EXPECT_EQ(r.Global(kFuelExport), 5);  // fuel untouched
  EXPECT_EQ(r.checks, 0);
  r.SetGlobal(kInterruptExport, 1);
  r.Call("loop", {I32(100)});
  EXPECT_EQ(r.trap_message, "interrupted");
  EXPECT_EQ(r.checks, 1);
}

TEST(Instrument, NoneLeavesModuleAlone) {
  auto d = Decode(Wat(kProgram));
  ASSERT_TRUE(d.ok());
  size_t funcs = d->ir->funcs.size();
  ASSERT_TRUE(Instrument(d->ir.get(), Metering::kNone).ok());
  EXPECT_EQ(d->ir->funcs.size(), funcs);
  EXPECT_TRUE(d->ir->imports.empty());
}

TEST(Instrument, ShiftsEveryFunctionReference) {
  auto wasm = Wat20(R"wat((module
    (import "env" "twice" (func $twice (param i32) (result i32)))
    (type $t (func (param i32) (result i32)))
    (table $tab 4 funcref)
    (elem (i32.const 0) func $twice $inc $dec)
    (elem declare func $inc)
    (global $g (mut i32) (i32.const 0))
    (global $fr funcref (ref.func $dec))
    (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func $dec (param i32) (result i32) (i32.sub (local.get 0) (i32.const 1)))
    (func $start (global.set $g (i32.const 42)))
    (start $start)
    (func (export "g") (result i32) (global.get $g))
    (func (export "ind") (param i32 i32) (result i32)
      (call_indirect (type $t) (local.get 0) (local.get 1)))
    (func (export "direct") (param i32) (result i32) (call $twice (call $inc (local.get 0))))
    (func (export "viaref") (param i32) (result i32)
      (table.set $tab (i32.const 3) (ref.func $inc))
      (call_indirect (type $t) (local.get 0) (i32.const 3)))
    (func (export "viaglobal") (param i32) (result i32)
      (table.set $tab (i32.const 3) (global.get $fr))
      (call_indirect (type $t) (local.get 0) (i32.const 3)))
    (export "inc" (func $inc))
  ))wat");
  auto m = Metered(wasm);
  auto d = Decode(m);
  ASSERT_TRUE(d.ok());
  ASSERT_GE(d->imports.size(), 2u);
  EXPECT_EQ(d->imports[0].module, kMeterModule);
  EXPECT_EQ(d->imports[0].name, kMeterCheck);
  EXPECT_EQ(d->imports[1].name, "twice");
  EXPECT_EQ(d->func_names[1], "twice");
  EXPECT_EQ(d->func_names[2], "inc");
  Runner r(m);
  r.SetGlobal(kFuelExport, kFuel);
  EXPECT_EQ(r.Call("g", {}), 42u);  // start ran (and it was metered too)
  EXPECT_EQ(r.Call("ind", {I32(5), I32(0)}), 10u);
  EXPECT_EQ(r.Call("ind", {I32(5), I32(1)}), 6u);
  EXPECT_EQ(r.Call("ind", {I32(5), I32(2)}), 4u);
  EXPECT_EQ(r.Call("direct", {I32(5)}), 12u);
  EXPECT_EQ(r.Call("viaref", {I32(5)}), 6u);
  EXPECT_EQ(r.Call("viaglobal", {I32(5)}), 4u);
  EXPECT_EQ(r.Call("inc", {I32(1)}), 2u);
  EXPECT_EQ(r.trap_message, "");
}

TEST(Instrument, RunnerUsesTheBackendNames) {
  // meter_runner is C++17 and cannot include backend.h: keep them in sync.
  EXPECT_STREQ(kMeterModule, "arcella_rt");
  EXPECT_STREQ(kMeterCheck, "check");
  EXPECT_STREQ(kFuelExport, "__arcella_fuel");
  EXPECT_STREQ(kInterruptExport, "__arcella_interrupt");
}

TEST(Instrument, RejectsReservedExportName) {
  auto d = Decode(Wat(R"wat((module (global (export "__arcella_fuel") i32 (i32.const 0))))wat"));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(Instrument(d->ir.get(), Metering::kFuel).ok());
}

}  // namespace
}  // namespace arcella::engine
