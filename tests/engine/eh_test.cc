// Exception handling (legacy try/catch/throw/rethrow/delegate) and tail calls
// on the interpreter tier, end to end through the engine's public API: tier
// routing, results, uncaught exceptions, and exact fuel (cross-checked with a
// naive per-instruction counter run through the same engine).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine_test_helpers.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

using test_helpers::InterpOptions;
using test_helpers::NaiveModule;

std::vector<uint8_t> EhWasm() { return test::ReadFile(test::FixturePath("early_eh.wasm")); }

std::shared_ptr<const Module> MustCompile(const std::vector<uint8_t>& wasm, Metering metering,
                                          Tier tier = Tier::kAuto) {
  CompileOptions o;
  o.tier = tier;
  auto m = Module::Compile(test::TestEngine(metering), wasm, o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : nullptr;
}

std::shared_ptr<Instance> MustInstantiate(std::shared_ptr<const Module> m,
                                          std::optional<uint64_t> fuel = std::nullopt,
                                          std::chrono::nanoseconds deadline = {}) {
  InstanceOptions io;
  io.limits.fuel = fuel;
  io.limits.deadline = deadline;
  auto i = Instance::Create(std::move(m), Linker{}, io);
  EXPECT_TRUE(i.ok()) << i.status().ToString();
  return i.ok() ? *i : nullptr;
}

uint32_t CallI32(Instance& inst, const std::string& name, std::vector<Value> args) {
  auto out = inst.Call(name, args);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return 0xdeadbeef;
  EXPECT_FALSE(out->trap) << name << ": " << out->trap->ToString();
  if (out->trap || out->results.empty()) return 0xdeadbeef;
  return out->results[0].i32;
}

TEST(EhTest, AutoRoutesToTheInterpreterAndCatches) {
  auto m = MustCompile(EhWasm(), Metering::kNone);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->tier(), Tier::kInterp);
  auto inst = MustInstantiate(m);
  ASSERT_TRUE(inst);
  EXPECT_EQ(CallI32(*inst, "catch_callee", {Value::I32(5)}), 106u);
  EXPECT_EQ(CallI32(*inst, "catch_local", {Value::I32(1)}), 7u);
  EXPECT_EQ(CallI32(*inst, "catch_local", {Value::I32(0)}), 3u);
  EXPECT_EQ(CallI32(*inst, "rethrow_delegate", {}), 42u);
  EXPECT_EQ(CallI32(*inst, "loop_throw", {Value::I32(10)}), 5u);
}

TEST(EhTest, ExplicitAotTierIsRefusedNamingTheProposal) {
  CompileOptions o;
  o.tier = Tier::kAot;
  auto m = Module::Compile(test::TestEngine(), EhWasm(), o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(m.status().message().find("exception-handling proposal"), std::string::npos)
      << m.status().message();
  EXPECT_NE(m.status().message().find("--tier interp"), std::string::npos);
}

TEST(EhTest, UncaughtExceptionTrapsAndTheInstanceStaysUsable) {
  auto inst = MustInstantiate(MustCompile(EhWasm(), Metering::kNone));
  ASSERT_TRUE(inst);
  auto out = inst->Call("uncaught", {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->trap);
  EXPECT_NE(out->trap->ToString().find("uncaught exception"), std::string::npos)
      << out->trap->ToString();
  EXPECT_EQ(CallI32(*inst, "catch_callee", {Value::I32(1)}), 102u);
}

// A catch in a function with declared locals (wabt 1.0.32 loses them there
// without the engine's rewrite, and aborts).
TEST(EhTest, CatchKeepsDeclaredLocals) {
  auto wasm = test::Wat(R"((module
    (tag $e (param i32))
    (func $throw (param i32) (throw $e (local.get 0)))
    (func (export "f") (param $p i32) (result i32)
      (local $a i32) (local $b i64) (local $v v128) (local $r externref)
      (local.set $a (i32.const 1000))
      (local.set $b (i64.const 7))
      (try (result i32)
        (do (call $throw (local.get $p)) (i32.const -1))
        (catch $e
          (i32.add (local.get $a))
          (i32.add (i32.wrap_i64 (local.get $b)))
          (i32.add (i32x4.extract_lane 0 (local.get $v)))
          (i32.add (ref.is_null (local.get $r))))))))");
  for (Metering metering : {Metering::kNone, Metering::kInterrupt, Metering::kFuel}) {
    auto inst = MustInstantiate(MustCompile(wasm, metering));
    ASSERT_TRUE(inst);
    EXPECT_EQ(CallI32(*inst, "f", {Value::I32(5)}), 1013u);
  }
}

// pandoc's mix: exception handling and SIMD in one module.
TEST(EhTest, ExceptionsWithSimdRunOnTheInterpreter) {
  auto wasm = test::Wat(R"((module
    (tag $e (param v128))
    (func (export "f") (param i32) (result i32)
      (local $v v128)
      (try (result i32)
        (do (throw $e (i32x4.splat (local.get 0))))
        (catch $e (local.set $v) (i32x4.extract_lane 3 (local.get $v)))))))");
  for (Metering metering : {Metering::kNone, Metering::kFuel}) {
    auto m = MustCompile(wasm, metering);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->tier(), Tier::kInterp);
    auto inst = MustInstantiate(m, metering == Metering::kFuel ? std::optional<uint64_t>(1000)
                                                               : std::nullopt);
    ASSERT_TRUE(inst);
    EXPECT_EQ(CallI32(*inst, "f", {Value::I32(77)}), 77u);
  }
}

// ------------------------------------------------------------ exact fuel
// The reference: test_helpers::NaiveModule (engine_test_helpers.h).
struct Case {
  const char* name;
  std::vector<Value> args;
};

void ExpectExactFuel(const std::vector<uint8_t>& wasm, const std::vector<Case>& cases) {
  auto metered = MustCompile(wasm, Metering::kFuel);
  auto naive = MustCompile(NaiveModule(wasm), Metering::kNone);
  ASSERT_TRUE(metered && naive);
  for (const Case& c : cases) {
    auto mi = MustInstantiate(metered, 1'000'000'000);
    auto ni = MustInstantiate(naive);
    ASSERT_TRUE(mi && ni);
    auto mo = mi->Call(c.name, c.args);
    auto no = ni->Call(c.name, c.args);
    ASSERT_TRUE(mo.ok() && no.ok()) << c.name;
    EXPECT_EQ(mo->trap.has_value(), no->trap.has_value()) << c.name;
    auto n = ni->GetGlobal(test_helpers::kNaiveExport);
    ASSERT_TRUE(n.ok());
    EXPECT_GT(n->i64, 0u) << c.name;
    EXPECT_EQ(mi->fuel_consumed(), n->i64) << c.name;
  }
}

TEST(EhTest, FuelIsExactAcrossThrowCatchRethrowDelegate) {
  ExpectExactFuel(EhWasm(), {{"catch_callee", {Value::I32(5)}},
                             {"catch_local", {Value::I32(1)}},
                             {"catch_local", {Value::I32(0)}},
                             {"rethrow_delegate", {}},
                             {"loop_throw", {Value::I32(0)}},
                             {"loop_throw", {Value::I32(37)}},
                             {"uncaught", {}}});
}

TEST(EhTest, FuelRunsOutInsideATryAndDeadlinesStopAHandler) {
  auto m = MustCompile(EhWasm(), Metering::kFuel);
  auto inst = MustInstantiate(m, 500);
  ASSERT_TRUE(inst);
  auto out = inst->Call("loop_throw", std::vector<Value>{Value::I32(1'000'000)});
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->trap);
  EXPECT_EQ(out->trap->kind, TrapKind::kOutOfFuel) << out->trap->ToString();

  auto spin = test::Wat(R"((module
    (tag $e)
    (func (export "spin")
      (try (do (throw $e)) (catch $e (loop $l (br $l)))))))");
  auto inst2 = MustInstantiate(MustCompile(spin, Metering::kInterrupt), std::nullopt,
                               std::chrono::milliseconds(50));
  ASSERT_TRUE(inst2);
  out = inst2->Call("spin", {});
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->trap);
  EXPECT_EQ(out->trap->kind, TrapKind::kDeadline) << out->trap->ToString();
}

TEST(TailCallTest, ReturnCallNeedsNoStackAndFuelIsExact) {
  auto wasm = test::ReadFile(test::FixturePath("early_tail_call.wasm"));
  auto m = MustCompile(wasm, Metering::kNone);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->tier(), Tier::kInterp);
  auto inst = MustInstantiate(m);  // max_stack_depth 10000 < 1000000 tail calls
  ASSERT_TRUE(inst);
  auto out = inst->Call("count", std::vector<Value>{Value::I64(1'000'000), Value::I64(0)});
  ASSERT_TRUE(out.ok());
  ASSERT_FALSE(out->trap) << out->trap->ToString();
  EXPECT_EQ(out->results[0].i64, 1'000'000u);
  ExpectExactFuel(wasm, {{"count", {Value::I64(0), Value::I64(0)}},
                         {"count", {Value::I64(1000), Value::I64(3)}}});
}

TEST(TailCallTest, EndlessTailRecursionStopsAtTheDeadline) {
  auto wasm = test::Wat(R"((module
    (func $spin (export "spin") (param i32) (return_call $spin (i32.add (local.get 0) (i32.const 1))))))");
  auto inst = MustInstantiate(MustCompile(wasm, Metering::kInterrupt), std::nullopt,
                              std::chrono::milliseconds(50));
  ASSERT_TRUE(inst);
  auto out = inst->Call("spin", std::vector<Value>{Value::I32(0)});
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->trap);
  EXPECT_EQ(out->trap->kind, TrapKind::kDeadline) << out->trap->ToString();
}

// Proposals no tier runs are named with where they were found.
TEST(FeatureNamesTest, UnsupportedProposalsAreNamedWithTheirOffset) {
  struct Want {
    const char* fixture;
    const char* text;
  };
  for (const Want& w :
       {Want{"early_threads.wasm", "uses the threads proposal (memory 0 is shared"},
        Want{"early_relaxed_simd.wasm",
             "uses the relaxed-SIMD proposal (i8x16.relaxed_swizzle in function 0"}}) {
    CompileOptions o;
    o.tier = Tier::kInterp;
    auto m = Module::Compile(test::TestEngine(), test::ReadFile(test::FixturePath(w.fixture)), o);
    ASSERT_FALSE(m.ok()) << w.fixture;
    EXPECT_EQ(m.status().code(), StatusCode::kUnsupported) << m.status().ToString();
    EXPECT_NE(m.status().message().find(w.text), std::string::npos) << m.status().message();
    EXPECT_NE(m.status().message().find("at offset 0x"), std::string::npos);
    EXPECT_NE(m.status().message().find("not supported by this engine"), std::string::npos);
  }
  for (auto [wat, text] : std::vector<std::pair<const char*, const char*>>{
           {"(module (memory i64 1))", "memory64 proposal (memory 0 is 64-bit"},
           {"(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
            "extended-const proposal (arithmetic in a constant expression at offset 0x"},
       }) {
    auto m = Module::Compile(test::TestEngine(), test::Wat(wat), {});
    ASSERT_FALSE(m.ok()) << wat;
    EXPECT_NE(m.status().message().find(text), std::string::npos) << m.status().message();
  }
}

// The pandoc symptom: a raw tag section used to be "invalid section code: 13".
TEST(FeatureNamesTest, InvalidExceptionModuleReportsTheRealError) {
  auto wasm = test::Wat(
      "(module (tag $e (param i32)) (func (export \"f\") (throw $e (i32.const 1))))");
  EXPECT_TRUE(Module::Compile(test::TestEngine(), wasm, InterpOptions()).ok());
  // Cut the module inside the tag section: malformed, and not "section code".
  std::vector<uint8_t> cut(wasm.begin(), wasm.begin() + 8);
  cut.insert(cut.end(), {0x0d, 0x00});
  auto m = Module::Compile(test::TestEngine(), cut, {});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message().find("invalid section code"), std::string::npos)
      << m.status().message();
}

}  // namespace
}  // namespace arcella::engine
