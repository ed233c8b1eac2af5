// The public engine API on both tiers: compile errors, calls, host functions,
// linking, fuel (exact counts), deadlines, interrupts, memory/stack limits,
// threads.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "engine/tier_test.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

using test::Wat;

class EngineTest : public TierTest {};

TEST_P(EngineTest, MalformedInputIsAnErrorWithOffset) {
  CompileOptions o;
  o.tier = GetParam();
  std::vector<uint8_t> junk = {'n', 'o', 'p', 'e', 1, 0, 0, 0};
  auto r = test::TestEngine()->Compile(junk, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("magic"), std::string::npos) << r.status().message();

  // Valid header, truncated section.
  std::vector<uint8_t> trunc = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1};
  r = test::TestEngine()->Compile(trunc, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("0x"), std::string::npos) << r.status().message();

  // Type error in code (i32.add on an i64): wat2wasm refuses invalid code,
  // so corrupt a valid module instead.
  auto good = Wat("(module (func (export \"f\") (result i32) i32.const 1 i32.const 2 i32.add))");
  for (size_t i = 0; i + 1 < good.size(); ++i) {
    if (good[i] == 0x41 && good[i + 1] == 0x01) {  // i32.const 1 -> i64.const 1
      good[i] = 0x42;
      break;
    }
  }
  r = test::TestEngine()->Compile(good, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("type mismatch"), std::string::npos) << r.status().message();
}

TEST_P(EngineTest, CallsWithAllValueTypesAndMultiValue) {
  auto m = Compile(R"((module
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "mix") (param i64 f32 f64) (result f64 i64 f32)
      local.get 2 local.get 0 i64.const 1 i64.add local.get 1)
    (global (export "g") (mut i32) (i32.const 7))))");
  ASSERT_TRUE(m);
  auto inst = Make(m);
  ASSERT_TRUE(inst);
  auto r = inst->Call("add", std::vector<Value>{Value::I32(40), Value::I32(2)});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->ok());
  EXPECT_EQ(r->results[0].i32, 42u);
  r = inst->Call("mix", std::vector<Value>{Value::I64(41), Value::F32(1.5f), Value::F64(-2.25)});
  ASSERT_TRUE(r.ok() && r->ok());
  ASSERT_EQ(r->results.size(), 3u);
  EXPECT_EQ(r->results[0].f64, -2.25);
  EXPECT_EQ(r->results[1].i64, 42u);
  EXPECT_EQ(r->results[2].f32, 1.5f);
  EXPECT_EQ(inst->GetGlobal("g")->i32, 7u);
  EXPECT_TRUE(inst->SetGlobal("g", Value::I32(9)).ok());
  EXPECT_EQ(inst->GetGlobal("g")->i32, 9u);
  // Misuse is an error Status, not a trap.
  EXPECT_FALSE(inst->Call("nope", {}).ok());
  EXPECT_FALSE(inst->Call("add", std::vector<Value>{Value::I32(1)}).ok());
  EXPECT_FALSE(inst->Call("add", std::vector<Value>{Value::I64(1), Value::I32(1)}).ok());
}

TEST_P(EngineTest, HostFunctionsAndUnresolvedImports) {
  auto m = Compile(R"((module
    (import "env" "twice" (func $twice (param i32) (result i32)))
    (import "env" "missing" (func (param f64)))
    (func (export "f") (param i32) (result i32) local.get 0 call $twice)))");
  ASSERT_TRUE(m);
  Linker linker;
  linker.DefineFunc("env", "twice", {{ValType::kI32}, {ValType::kI32}},
                    [](Caller&, std::span<const Value> a,
                       std::span<Value> r) -> std::optional<Trap> {
                      r[0] = Value::I32(a[0].i32 * 2);
                      return std::nullopt;
                    });
  auto bad = Instance::Create(m, linker, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("env.missing"), std::string::npos)
      << bad.status().message();
  linker.DefineFunc("env", "missing", {{ValType::kF64}, {}},
                    [](Caller&, std::span<const Value>, std::span<Value>) -> std::optional<Trap> {
                      return Trap{TrapKind::kHostError, "", "boom", 0};
                    });
  auto inst = Make(m, {}, linker);
  ASSERT_TRUE(inst);
  auto r = inst->Call("f", std::vector<Value>{Value::I32(21)});
  ASSERT_TRUE(r.ok() && r->ok());
  EXPECT_EQ(r->results[0].i32, 42u);
}

TEST_P(EngineTest, HostTrapAndExitUnwindTheGuest) {
  auto m = Compile(R"((module
    (import "env" "exit" (func $exit (param i32)))
    (func (export "run") (param i32) (result i32) local.get 0 call $exit i32.const 99)))");
  ASSERT_TRUE(m);
  Linker linker;
  linker.DefineFunc("env", "exit", {{ValType::kI32}, {}},
                    [](Caller&, std::span<const Value> a, std::span<Value>) -> std::optional<Trap> {
                      return Trap{TrapKind::kExit, "", "", static_cast<int32_t>(a[0].i32)};
                    });
  auto inst = Make(m, {}, linker);
  ASSERT_TRUE(inst);
  for (int code : {0, 3, 77}) {
    auto r = inst->Call("run", std::vector<Value>{Value::I32(code)});
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->trap);
    EXPECT_EQ(r->trap->kind, TrapKind::kExit);
    EXPECT_EQ(r->trap->exit_code, code);
  }
}

TEST_P(EngineTest, TrapKindsAndFunctionNames) {
  auto m = Compile(R"((module
    (memory 1)
    (table 2 funcref)
    (type $v (func))
    (func $unreach (export "unreach") unreachable)
    (func $oob (export "oob") (result i32) i32.const 65536 i32.load)
    (func (export "div0") (result i32) i32.const 1 i32.const 0 i32.div_s)
    (func (export "ovf") (result i32) i32.const 0x80000000 i32.const -1 i32.div_s)
    (func (export "conv") (result i32) f32.const nan i32.trunc_f32_s)
    (func (export "null_elem") i32.const 1 call_indirect (type $v))
    (func (export "tbl_oob") i32.const 5 call_indirect (type $v))
    (func $rec (export "rec") call $rec)))");
  ASSERT_TRUE(m);
  auto inst = Make(m);
  ASSERT_TRUE(inst);
  struct Case {
    const char* fn;
    TrapKind kind;
  } cases[] = {{"unreach", TrapKind::kUnreachable},      {"oob", TrapKind::kMemoryOutOfBounds},
               {"div0", TrapKind::kIntegerDivideByZero}, {"ovf", TrapKind::kIntegerOverflow},
               {"conv", TrapKind::kBadConversion},       {"null_elem", TrapKind::kIndirectCallNull},
               {"rec", TrapKind::kStackExhausted}};
  for (const auto& c : cases) {
    auto r = inst->Call(c.fn, {});
    ASSERT_TRUE(r.ok()) << c.fn;
    ASSERT_TRUE(r->trap) << c.fn;
    EXPECT_EQ(r->trap->kind, c.kind) << c.fn << ": " << r->trap->ToString();
  }
  auto r = inst->Call("unreach", {});
  EXPECT_EQ(r->trap->function, "unreach");
  // The instance stays usable after traps.
  r = inst->Call("tbl_oob", {});
  ASSERT_TRUE(r.ok() && r->trap);
  EXPECT_TRUE(r->trap->kind == TrapKind::kTableOutOfBounds ||
              r->trap->kind == TrapKind::kIndirectCallNull)
      << r->trap->ToString();
}

// Exact fuel: 1 per executed instruction, 0 for nop/block/loop/end/else.
TEST_P(EngineTest, FuelCountsAreExact) {
  auto m = Compile(R"((module
    (memory 1)
    (table 1 funcref)
    (type $t (func (param i32) (result i32)))
    (elem (i32.const 0) $inc)
    (func $inc (param i32) (result i32) local.get 0 i32.const 1 i32.add)
    (func (export "straight") (result i32) nop i32.const 1 i32.const 2 i32.add)
    (func (export "count") (param $n i32) (local $i i32)
      (loop $l
        local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l))
    (func (export "calls") (result i32) i32.const 0 call $inc call $inc)
    (func (export "indirect") (result i32) i32.const 5 i32.const 0 call_indirect (type $t))
    (func (export "branches") (param i32) (result i32)
      (block $b (result i32)
        (if (result i32) (local.get 0) (then i32.const 10) (else i32.const 20))))
    (func (export "bulk") i32.const 0 i32.const 7 i32.const 100 memory.fill
                          i32.const 200 i32.const 0 i32.const 100 memory.copy)))",
                   Metering::kFuel);
  ASSERT_TRUE(m);
  struct Case {
    const char* fn;
    std::vector<Value> args;
    uint64_t cost;
  } cases[] = {
      {"straight", {}, 3},
      {"count", {Value::I32(10)}, 70},
      {"count", {Value::I32(1000)}, 7000},
      {"calls", {}, 9},                  // const, call, 3, call, 3
      {"indirect", {}, 6},               // const, const, call_indirect, 3
      {"branches", {Value::I32(1)}, 3},  // local.get, if, const
      {"branches", {Value::I32(0)}, 3},
      {"bulk", {}, 8},
  };
  for (const auto& c : cases) {
    InstanceOptions o;
    o.limits.fuel = 1'000'000;
    auto inst = Make(m, o);
    ASSERT_TRUE(inst);
    uint64_t before = inst->fuel();
    auto r = inst->Call(c.fn, c.args);
    ASSERT_TRUE(r.ok() && r->ok()) << c.fn;
    EXPECT_EQ(before - inst->fuel(), c.cost) << c.fn;
    EXPECT_EQ(inst->fuel_consumed(), c.cost) << c.fn;
  }
}

TEST_P(EngineTest, RunawayLoopStoppedByFuelAndRefilled) {
  auto m = Compile("(module (func (export \"spin\") (loop $l br $l)))", Metering::kFuel);
  ASSERT_TRUE(m);
  InstanceOptions o;
  o.limits.fuel = 100'000;
  auto inst = Make(m, o);
  ASSERT_TRUE(inst);
  auto r = inst->Call("spin", {});
  ASSERT_TRUE(r.ok() && r->trap);
  EXPECT_EQ(r->trap->kind, TrapKind::kOutOfFuel);
  EXPECT_EQ(r->trap->function, "spin");
  EXPECT_GE(inst->fuel_consumed(), 100'000u);
  EXPECT_LE(inst->fuel_consumed(), 100'002u);

  // Time slicing: refill three times, then give up.
  int refills = 0;
  o.on_out_of_fuel = [&](Instance&) -> uint64_t { return ++refills <= 3 ? 1000 : 0; };
  inst = Make(m, o);
  r = inst->Call("spin", {});
  ASSERT_TRUE(r.ok() && r->trap);
  EXPECT_EQ(r->trap->kind, TrapKind::kOutOfFuel);
  EXPECT_EQ(refills, 4);
  EXPECT_GE(inst->fuel_consumed(), 103'000u);
}

TEST_P(EngineTest, DeadlineAndInterrupt) {
  auto m = Compile("(module (func (export \"spin\") (loop $l br $l)) (func (export \"ok\")))",
                   Metering::kInterrupt);
  ASSERT_TRUE(m);
  InstanceOptions o;
  o.limits.deadline = std::chrono::milliseconds(50);
  auto inst = Make(m, o);
  ASSERT_TRUE(inst);
  auto t0 = std::chrono::steady_clock::now();
  auto r = inst->Call("spin", {});
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  t0)
                .count();
  ASSERT_TRUE(r.ok() && r->trap);
  EXPECT_EQ(r->trap->kind, TrapKind::kDeadline);
  EXPECT_GE(ms, 45);
  // The next call is unaffected.
  r = inst->Call("ok", {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());

  auto inst2 = Make(m);
  std::thread killer([&] {
    // Not a synchronisation: an interrupt is sticky until it traps, so the
    // call is interrupted whether it lands before or inside the loop.
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    inst2->Interrupt();
  });
  r = inst2->Call("spin", {});
  killer.join();
  ASSERT_TRUE(r.ok() && r->trap);
  EXPECT_EQ(r->trap->kind, TrapKind::kInterrupted);
  r = inst2->Call("ok", {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
}

TEST_P(EngineTest, MemoryBombHeldAtCap) {
  auto m = Compile(R"((module (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "bomb") (result i32) (local $n i32)
      (block $done (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1))) (br $l)))
      memory.size)))");
  ASSERT_TRUE(m);
  InstanceOptions o;
  o.limits.max_memory_bytes = 4 << 20;  // 64 pages
  auto inst = Make(m, o);
  ASSERT_TRUE(inst);
  auto r = inst->Call("bomb", {});
  ASSERT_TRUE(r.ok() && r->ok());
  EXPECT_LE(r->results[0].i32, 64u);
  EXPECT_GE(r->results[0].i32, 49u);
  EXPECT_LE(inst->memory().size(), 4u << 20);
  r = inst->Call("grow", std::vector<Value>{Value::I32(1000)});
  EXPECT_EQ(r->results[0].i32, 0xffffffffu);
}

TEST_P(EngineTest, RecursionTrappedOnManyThreads) {
  auto m = Compile(R"((module
    (func $deep (export "deep") (param i32) (result i32)
      local.get 0 i32.eqz if (result i32) i32.const 0 else
      local.get 0 i32.const 1 i32.sub call $deep i32.const 1 i32.add end)
    (func $rec (export "rec") (param i64) (result i64) local.get 0 call $rec)
    (func (export "div") (param i32) (result i32) i32.const 100 local.get 0 i32.div_u)))");
  ASSERT_TRUE(m);
  InstanceOptions o;
  o.limits.max_stack_depth = 500;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto inst = Instance::Create(m, Linker(), o);
      if (!inst.ok()) {
        ++wrong;
        return;
      }
      for (int i = 0; i < 2000; ++i) {
        auto r = (*inst)->Call("div", std::vector<Value>{Value::I32(i % 3 == 0 ? 0 : 5)});
        bool expect_trap = i % 3 == 0;
        if (!r.ok() || (expect_trap != bool(r->trap)) ||
            (expect_trap && r->trap->kind != TrapKind::kIntegerDivideByZero) ||
            (!expect_trap && r->results[0].i32 != 20))
          ++wrong;
        if (i % 100 == t) {
          auto s = (*inst)->Call("rec", std::vector<Value>{Value::I64(1)});
          if (!s.ok() || !s->trap || s->trap->kind != TrapKind::kStackExhausted) ++wrong;
          auto d = (*inst)->Call("deep", std::vector<Value>{Value::I32(400)});
          if (!d.ok() || !d->ok() || d->results[0].i32 != 400) ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  // The depth limit is what the caller set.
  auto inst = Make(m, o);
  auto d = inst->Call("deep", std::vector<Value>{Value::I32(600)});
  ASSERT_TRUE(d.ok() && d->trap);
  EXPECT_EQ(d->trap->kind, TrapKind::kStackExhausted);
}

TEST_P(EngineTest, StartFunctionTrapIsAnError) {
  auto m = Compile("(module (func $s unreachable) (start $s))");
  ASSERT_TRUE(m);
  auto r = Instance::Create(m, Linker(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unreachable"), std::string::npos) << r.status().message();
}

// The start function runs under the instance's limits: fuel is counted (and
// the metering check works before Create returns), deadlines stop it.
TEST_P(EngineTest, StartFunctionRunsUnderLimits) {
  auto sets = Compile(R"((module (global $g (mut i32) (i32.const 0))
    (func $s (global.set $g (i32.const 7))) (start $s)
    (func (export "g") (result i32) global.get $g)))",
                      Metering::kFuel);
  ASSERT_TRUE(sets);
  InstanceOptions o;
  o.limits.fuel = 1000;
  auto inst = Make(sets, o);
  ASSERT_TRUE(inst);
  EXPECT_EQ(inst->fuel_consumed(), 2u);  // i32.const, global.set
  auto r = inst->Call("g", {});
  ASSERT_TRUE(r.ok() && r->ok());
  EXPECT_EQ(r->results[0].i32, 7u);

  auto spins = Compile("(module (func $s (loop $l (br $l))) (start $s) (func (export \"f\")))",
                       Metering::kFuel);
  ASSERT_TRUE(spins);
  auto bad = Instance::Create(spins, Linker(), o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("out of fuel"), std::string::npos)
      << bad.status().message();
  InstanceOptions d;
  d.limits.deadline = std::chrono::milliseconds(50);
  bad = Instance::Create(spins, Linker(), d);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("deadline exceeded"), std::string::npos)
      << bad.status().message();
}

TEST_P(EngineTest, InstancesLinkToInstances) {
  auto lib = Compile(R"((module (memory (export "mem") 1)
    (global (export "g") (mut i32) (i32.const 5))
    (func (export "sq") (param i32) (result i32) local.get 0 local.get 0 i32.mul)))");
  auto app = Compile(R"((module
    (import "lib" "mem" (memory 1))
    (import "lib" "g" (global (mut i32)))
    (import "lib" "sq" (func $sq (param i32) (result i32)))
    (func (export "run") (result i32)
      i32.const 0 i32.const 77 i32.store
      global.get 0 call $sq)))");
  ASSERT_TRUE(lib && app);
  auto libi = Make(lib);
  Linker linker;
  linker.DefineInstance("lib", libi);
  auto appi = Make(app, {}, linker);
  ASSERT_TRUE(appi);
  auto r = appi->Call("run", {});
  ASSERT_TRUE(r.ok() && r->ok());
  EXPECT_EQ(r->results[0].i32, 25u);
  EXPECT_EQ(libi->memory()[0], 77);
}

INSTANTIATE_TEST_SUITE_P(Tiers, EngineTest, ::testing::Values(Tier::kAot, Tier::kInterp),
                         [](const auto& info) { return std::string(TierName(info.param)); });

}  // namespace
}  // namespace arcella::engine
