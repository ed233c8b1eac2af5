// The pre-resolved call path (Instance::GetFunc / Instance::Invoke) on both
// tiers: results, multi-value, type/arity/owner checks, traps with function
// names, host imports, fuel, deadlines and interrupts; plus the AOT memory
// pool (reused reservations read back as zeros and still trap out of bounds).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/engine.h"
#include "engine/rt/arcella_rt.h"
#include "engine/tier_test.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

using test::Wat;

class PerfApiTest : public TierTest {};

TEST_P(PerfApiTest, InvokeReturnsResultsAndChecksTypes) {
  auto m = Compile(R"((module
    (global (export "g") i32 (i32.const 1))
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "mix") (param i64 f64) (result f64 i64)
      local.get 1 local.get 0 i64.const 1 i64.add)
    (func (export "nop"))))");
  ASSERT_TRUE(m);
  auto inst = Make(m);
  ASSERT_TRUE(inst);

  auto add = inst->GetFunc("add");
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  ASSERT_TRUE(add->valid());
  EXPECT_EQ(add->type().ToString(),
            (FuncType{{ValType::kI32, ValType::kI32}, {ValType::kI32}}).ToString());
  Value args[2] = {Value::I32(40), Value::I32(2)};
  Value res[1];
  for (uint32_t i = 0; i < 1000; ++i) {  // repeated calls through one handle
    args[1] = Value::I32(i);
    ASSERT_FALSE(inst->Invoke(*add, args, res));
    ASSERT_EQ(res[0].type, ValType::kI32);
    ASSERT_EQ(res[0].i32, 40u + i);
  }

  auto mix = inst->GetFunc("mix");
  ASSERT_TRUE(mix.ok());
  Value margs[2] = {Value::I64(41), Value::F64(2.5)};
  Value mres[2];
  ASSERT_FALSE(inst->Invoke(*mix, margs, mres));
  EXPECT_EQ(mres[0].type, ValType::kF64);
  EXPECT_EQ(mres[0].f64, 2.5);
  EXPECT_EQ(mres[1].type, ValType::kI64);
  EXPECT_EQ(mres[1].i64, 42u);

  auto nop = inst->GetFunc("nop");
  ASSERT_TRUE(nop.ok());
  EXPECT_FALSE(inst->Invoke(*nop, {}, {}));

  // Lookup errors match Call's.
  EXPECT_EQ(inst->GetFunc("missing").status().code(), inst->Call("missing", {}).status().code());
  EXPECT_FALSE(inst->GetFunc("missing").ok());
  auto g = inst->GetFunc("g");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("not a function"), std::string::npos) << g.status().message();

  // Wrong arity, wrong argument type, wrong result count: kHostError, no call.
  Value one[1] = {Value::I32(1)};
  auto t = inst->Invoke(*add, one, res);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kHostError);
  EXPECT_NE(t->message.find("(i32, i32) -> (i32)"), std::string::npos) << t->message;
  Value bad[2] = {Value::I32(1), Value::I64(2)};
  t = inst->Invoke(*add, bad, res);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kHostError);
  t = inst->Invoke(*add, args, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kHostError);

  // A default FuncHandle and a FuncHandle of another instance are refused.
  t = inst->Invoke(FuncHandle{}, {}, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kHostError);
  auto other = Make(m);
  ASSERT_TRUE(other);
  t = other->Invoke(*add, args, res);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kHostError);
  EXPECT_NE(t->message.find("another instance"), std::string::npos);
}

TEST_P(PerfApiTest, InvokeTrapsNameTheFunctionAndInstanceStaysUsable) {
  auto m = Compile(R"((module
    (import "env" "twice" (func $twice (param i32) (result i32)))
    (func $div (export "div") (param i32) (result i32) i32.const 10 local.get 0 i32.div_u)
    (func (export "host") (param i32) (result i32) local.get 0 call $twice i32.const 1 i32.add)
    (func (export "fail") (param i32) (result i32) local.get 0 call $twice)))");
  ASSERT_TRUE(m);
  Linker linker;
  linker.DefineFunc("env", "twice", {{ValType::kI32}, {ValType::kI32}},
                    [](Caller&, std::span<const Value> a,
                       std::span<Value> r) -> std::optional<Trap> {
                      if (a[0].i32 == 13) return Trap{TrapKind::kHostError, "", "unlucky", 0};
                      r[0] = Value::I32(a[0].i32 * 2);
                      return std::nullopt;
                    });
  auto inst = Make(m, {}, linker);
  ASSERT_TRUE(inst);
  auto div = inst->GetFunc("div");
  auto host = inst->GetFunc("host");
  auto fail = inst->GetFunc("fail");
  ASSERT_TRUE(div.ok() && host.ok() && fail.ok());
  Value a[1] = {Value::I32(0)};
  Value r[1];
  auto t = inst->Invoke(*div, a, r);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kIntegerDivideByZero);
  EXPECT_EQ(t->function, "div");
  a[0] = Value::I32(5);
  ASSERT_FALSE(inst->Invoke(*div, a, r));
  EXPECT_EQ(r[0].i32, 2u);
  ASSERT_FALSE(inst->Invoke(*host, a, r));
  EXPECT_EQ(r[0].i32, 11u);
  a[0] = Value::I32(13);
  t = inst->Invoke(*fail, a, r);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kHostError);
  EXPECT_EQ(t->message, "unlucky");
  a[0] = Value::I32(4);
  ASSERT_FALSE(inst->Invoke(*host, a, r));
  EXPECT_EQ(r[0].i32, 9u);
}

TEST_P(PerfApiTest, InvokeHonoursFuelDeadlineAndInterrupt) {
  auto m = Compile(R"((module
    (func (export "spin") (loop $l br $l))
    (func (export "count") (param i32) (result i32) (local $i i32)
      (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
      local.get $i)))",
                   Metering::kFuel);
  ASSERT_TRUE(m);

  InstanceOptions fuel_opts;
  fuel_opts.limits.fuel = 1000;
  auto fueled = Make(m, fuel_opts);
  ASSERT_TRUE(fueled);
  auto count = fueled->GetFunc("count");
  ASSERT_TRUE(count.ok());
  Value a[1] = {Value::I32(10)};
  Value r[1];
  ASSERT_FALSE(fueled->Invoke(*count, a, r));
  EXPECT_EQ(r[0].i32, 10u);
  EXPECT_LT(fueled->fuel(), 1000u);
  a[0] = Value::I32(1'000'000);
  auto t = fueled->Invoke(*count, a, r);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kOutOfFuel);

  InstanceOptions o;
  o.limits.deadline = std::chrono::milliseconds(50);
  auto inst = Make(m, o);
  ASSERT_TRUE(inst);
  auto spin = inst->GetFunc("spin");
  ASSERT_TRUE(spin.ok());
  auto t0 = std::chrono::steady_clock::now();
  t = inst->Invoke(*spin, {}, {});
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  t0)
                .count();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kDeadline);
  EXPECT_GE(ms, 45);
  auto count2 = inst->GetFunc("count");
  a[0] = Value::I32(3);
  ASSERT_FALSE(inst->Invoke(*count2, a, r));  // the next call is unaffected
  EXPECT_EQ(r[0].i32, 3u);

  auto inst2 = Make(m);
  ASSERT_TRUE(inst2);
  auto spin2 = inst2->GetFunc("spin");
  ASSERT_TRUE(spin2.ok());
  std::thread killer([&] {
    // Not a synchronisation: an interrupt is sticky until it traps, so the
    // call is interrupted whether it lands before or inside the loop.
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    inst2->Interrupt();
  });
  t = inst2->Invoke(*spin2, {}, {});
  killer.join();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TrapKind::kInterrupted);
  EXPECT_FALSE(inst2->Invoke(*inst2->GetFunc("count"), a, r));
}

// Memories recycled through the AOT reservation pool start zeroed, keep the
// guard region, and honour a different initial size.
TEST_P(PerfApiTest, RecycledMemoriesAreZeroedAndGuarded) {
  auto small = Compile(R"((module (memory (export "memory") 1)
    (func (export "peek") (param i32) (result i32) local.get 0 i32.load)
    (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store)))");
  auto big = Compile(R"((module (memory (export "memory") 3)
    (func (export "peek") (param i32) (result i32) local.get 0 i32.load)))");
  ASSERT_TRUE(small && big);
  size_t live0 = arcella_rt_live_memories();
  for (int round = 0; round < 200; ++round) {
    auto m = round % 3 == 2 ? big : small;
    auto inst = Make(m);
    ASSERT_TRUE(inst);
    uint32_t pages = round % 3 == 2 ? 3 : 1;
    ASSERT_EQ(inst->memory().size(), pages * 65536u);
    for (uint8_t b : inst->memory()) ASSERT_EQ(b, 0) << "round " << round;
    auto peek = inst->GetFunc("peek");
    ASSERT_TRUE(peek.ok());
    Value a[1] = {Value::I32(pages * 65536 - 4)};
    Value r[1];
    ASSERT_FALSE(inst->Invoke(*peek, a, r));
    a[0] = Value::I32(pages * 65536 - 3);  // straddles the end
    auto t = inst->Invoke(*peek, a, r);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->kind, TrapKind::kMemoryOutOfBounds);
    if (pages == 1) {  // dirty every page for the next instance
      auto poke = inst->GetFunc("poke");
      for (uint32_t off = 0; off < 65536; off += 4096) {
        Value pa[2] = {Value::I32(off), Value::I32(0xdeadbeef)};
        ASSERT_FALSE(inst->Invoke(*poke, pa, {}));
      }
    }
  }
  if (GetParam() == Tier::kAot) {
    EXPECT_EQ(arcella_rt_live_memories(), live0);
    EXPECT_GE(arcella_rt_pooled_memories(), 1u);
    EXPECT_LE(arcella_rt_pooled_memories(), arcella_rt_pool_capacity());
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, PerfApiTest, ::testing::Values(Tier::kAot, Tier::kInterp),
                         [](const auto& info) { return std::string(TierName(info.param)); });

}  // namespace
}  // namespace arcella::engine
