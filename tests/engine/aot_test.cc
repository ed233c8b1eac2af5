// AOT tier: values, host imports, traps, linking (through CompileAot).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "aot_test_util.h"

namespace arcella::engine::aot_test {
namespace {

class AotTest : public ::testing::Test {
 protected:
  std::string cache_ = test::TempDir("aot-cache");
};

TEST_F(AotTest, AllValueTypesAndMultiValue) {
  std::string wat = R"((module
    (func (export "id") (param i32 i64 f32 f64 externref funcref)
                        (result funcref externref f64 f32 i64 i32)
      local.get 5 local.get 4 local.get 3 local.get 2 local.get 1 local.get 0)
    (func $f (export "f") (result i32) i32.const 7)
    (table $ft 1 funcref) (elem (table $ft) (i32.const 0) func $f)
    (func (export "getf") (result funcref) (table.get $ft (i32.const 0)))
    (func (export "isnull") (param externref) (result i32) local.get 0 ref.is_null)
    (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
    (func (export "fmul") (param f32 f32) (result f32) local.get 0 local.get 1 f32.mul)
    (global (export "g64") (mut i64) (i64.const -5))
    (global (export "gf") (mut f64) (f64.const 2.5))
    (global (export "gext") (mut externref) (ref.null extern))
  ))";
  BackendInput in = InputFor(test::Wat(wat));
  auto mod = CompileAot(in, OptionsIn(cache_));
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  auto inst = Inst(**mod);
  ASSERT_TRUE(inst);

  std::vector<Value> funcref(1);
  funcref[0].type = ValType::kFuncRef;
  ASSERT_FALSE(inst->Call(ExportIndex(in, "getf"), {}, funcref));
  EXPECT_FALSE(funcref[0].ref_null);

  std::vector<Value> args = {Value::I32(0xdeadbeef), Value::I64(0x123456789abcdefULL),
                             Value::F32(1.5f),       Value::F64(-2.25),
                             Value::ExternRef(42),   funcref[0]};
  std::vector<Value> res(6);
  ASSERT_FALSE(inst->Call(ExportIndex(in, "id"), args, res));
  EXPECT_EQ(res[0].type, ValType::kFuncRef);
  EXPECT_EQ(res[0].ref, funcref[0].ref);
  EXPECT_EQ(res[1].type, ValType::kExternRef);
  EXPECT_FALSE(res[1].ref_null);
  EXPECT_EQ(res[1].ref, 42u);
  EXPECT_EQ(res[2].f64, -2.25);
  EXPECT_EQ(res[3].f32, 1.5f);
  EXPECT_EQ(res[4].i64, 0x123456789abcdefULL);
  EXPECT_EQ(res[5].i32, 0xdeadbeefu);

  // externref 0 is not null; a null stays null.
  std::vector<Value> r1(1);
  ASSERT_FALSE(inst->Call(ExportIndex(in, "isnull"), std::vector<Value>{Value::ExternRef(0)}, r1));
  EXPECT_EQ(r1[0].i32, 0u);
  ASSERT_FALSE(inst->Call(ExportIndex(in, "isnull"),
                          std::vector<Value>{Value::NullRef(ValType::kExternRef)}, r1));
  EXPECT_EQ(r1[0].i32, 1u);

  ASSERT_FALSE(inst->Call(ExportIndex(in, "add64"),
                          std::vector<Value>{Value::I64(~0ULL), Value::I64(2)}, r1));
  EXPECT_EQ(r1[0].i64, 1u);
  ASSERT_FALSE(
      inst->Call(ExportIndex(in, "fmul"), std::vector<Value>{Value::F32(3), Value::F32(0.5f)}, r1));
  EXPECT_EQ(r1[0].f32, 1.5f);
  // NaN payloads survive the trip.
  ASSERT_FALSE(inst->Call(ExportIndex(in, "fmul"),
                          std::vector<Value>{Value::F32Bits(0x7fc00001), Value::F32(1)}, r1));
  EXPECT_TRUE(std::isnan(r1[0].f32));

  uint32_t g64 = ExportIndex(in, "g64"), gf = ExportIndex(in, "gf"), gext = ExportIndex(in, "gext");
  EXPECT_EQ(static_cast<int64_t>(inst->GetGlobal(g64).i64), -5);
  inst->SetGlobal(g64, Value::I64(99));
  EXPECT_EQ(inst->GetGlobal(g64).i64, 99u);
  EXPECT_EQ(inst->GetGlobal(gf).f64, 2.5);
  EXPECT_TRUE(inst->GetGlobal(gext).ref_null);
  inst->SetGlobal(gext, Value::ExternRef(7));
  EXPECT_EQ(inst->GetGlobal(gext).ref, 7u);
}

TEST_F(AotTest, HostImportsAndHostTraps) {
  std::string wat = R"((module
    (import "env" "add" (func $add (param i32 i64) (result i64)))
    (import "env" "pair" (func $pair (param f64) (result f64 i32)))
    (import "env" "exit" (func $exit (param i32)))
    (memory (export "mem") 1)
    (func (export "run") (param i32) (result i64)
      (call $add (local.get 0) (i64.const 10)))
    (func (export "pair") (result f64 i32) (call $pair (f64.const 1.25)))
    (func (export "quit") (call $exit (i32.const 3)) unreachable)
  ))";
  BackendInput in = InputFor(test::Wat(wat));
  auto mod = CompileAot(in, OptionsIn(cache_));
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  int seen_mem_size = 0;
  HostFunc add = [&](Caller& c, std::span<const Value> a,
                     std::span<Value> r) -> std::optional<Trap> {
    seen_mem_size = static_cast<int>(c.memory().size());
    c.memory()[5] = 77;
    r[0] = Value::I64(a[0].i32 + a[1].i64);
    return std::nullopt;
  };
  HostFunc pair = [](Caller&, std::span<const Value> a, std::span<Value> r) -> std::optional<Trap> {
    r[0] = Value::F64(a[0].f64 * 2);
    r[1] = Value::I32(9);
    return std::nullopt;
  };
  HostFunc quit = [](Caller&, std::span<const Value> a, std::span<Value>) -> std::optional<Trap> {
    return Trap{TrapKind::kExit, "", "bye", static_cast<int32_t>(a[0].i32)};
  };
  std::vector<BoundImport> b(3);
  b[0].fn = &add;
  b[1].fn = &pair;
  b[2].fn = &quit;
  auto inst = Inst(**mod, b);
  ASSERT_TRUE(inst);
  std::vector<Value> r(2);
  ASSERT_FALSE(inst->Call(ExportIndex(in, "run"), std::vector<Value>{Value::I32(5)},
                          std::span<Value>(r.data(), 1)));
  EXPECT_EQ(r[0].i64, 15u);
  EXPECT_EQ(seen_mem_size, 65536);
  EXPECT_EQ(inst->DefaultMemory()[5], 77);
  EXPECT_EQ(inst->ExportedMemory(ExportIndex(in, "mem")).size(), 65536u);
  ASSERT_FALSE(inst->Call(ExportIndex(in, "pair"), {}, r));
  EXPECT_EQ(r[0].f64, 2.5);
  EXPECT_EQ(r[1].i32, 9u);
  auto t = inst->Call(ExportIndex(in, "quit"), {}, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kExit);
  EXPECT_EQ(t->trap.exit_code, 3);
  EXPECT_EQ(t->trap.message, "bye");
  EXPECT_EQ(t->func_index, 5);  // "quit", the caller of the import
  // Still usable after a trap.
  ASSERT_FALSE(inst->Call(ExportIndex(in, "run"), std::vector<Value>{Value::I32(1)},
                          std::span<Value>(r.data(), 1)));
  EXPECT_EQ(r[0].i64, 11u);
}

TEST_F(AotTest, TrapKindsAndFunctions) {
  std::string wat = R"((module
    (type $v (func))
    (type $i (func (result i32)))
    (memory 1)
    (table $t 2 funcref)
    (table $ext 1 externref)
    (elem (table $t) (i32.const 0) func $ok)
    (func $ok)
    (func $unreach (export "unreach") unreachable)
    (func $div (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
    (func $ovf (export "ovf") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
    (func $conv (export "conv") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
    (func $load (export "load") (param i32) (result i32) (i32.load offset=8 (local.get 0)))
    (func $store (export "store") (param i32) (i64.store (local.get 0) (i64.const 1)))
    (func $fill (export "fill") (param i32) (memory.fill (local.get 0) (i32.const 0) (i32.const 100)))
    (func $tget (export "tget") (param i32) (result externref) (table.get $ext (local.get 0)))
    (func $ci (export "ci") (param i32) (call_indirect $t (type $v) (local.get 0)))
    (func $cibad (export "cibad") (result i32) (call_indirect $t (type $i) (i32.const 0)))
    (func $rec (export "rec") (param i32) (result i32) (i32.add (call $rec (local.get 0)) (i32.const 1)))
  ))";
  BackendInput in = InputFor(test::Wat(wat));
  auto mod = CompileAot(in, OptionsIn(cache_));
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  auto inst = Inst(**mod);
  ASSERT_TRUE(inst);
  struct Case {
    const char* name;
    std::vector<Value> args;
    size_t nres;
    TrapKind kind;
    int64_t func;
  };
  std::vector<Case> cases = {
      {"unreach", {}, 0, TrapKind::kUnreachable, 1},
      {"div", {Value::I32(0)}, 1, TrapKind::kIntegerDivideByZero, 2},
      {"ovf", {}, 1, TrapKind::kIntegerOverflow, 3},
      {"conv", {Value::F32(NAN)}, 1, TrapKind::kBadConversion, 4},
      {"conv", {Value::F32(3e9f)}, 1, TrapKind::kIntegerOverflow, 4},
      {"load", {Value::I32(65530)}, 1, TrapKind::kMemoryOutOfBounds, 5},
      {"load", {Value::I32(0xfffffff0u)}, 1, TrapKind::kMemoryOutOfBounds, 5},
      {"store", {Value::I32(65535)}, 0, TrapKind::kMemoryOutOfBounds, 6},
      {"fill", {Value::I32(65500)}, 0, TrapKind::kMemoryOutOfBounds, 7},
      {"tget", {Value::I32(1)}, 1, TrapKind::kTableOutOfBounds, 8},
      {"ci", {Value::I32(1)}, 0, TrapKind::kIndirectCallNull, 9},
      {"ci", {Value::I32(5)}, 0, TrapKind::kTableOutOfBounds, 9},
      {"cibad", {}, 1, TrapKind::kIndirectCallTypeMismatch, 10},
      {"rec", {Value::I32(0)}, 1, TrapKind::kStackExhausted, 11},
  };
  for (const Case& c : cases) {
    std::vector<Value> res(c.nres);
    auto t = inst->Call(ExportIndex(in, c.name), c.args, res);
    ASSERT_TRUE(t) << c.name;
    EXPECT_EQ(t->trap.kind, c.kind) << c.name << ": " << TrapKindName(t->trap.kind);
    EXPECT_EQ(t->func_index, c.func) << c.name;
  }
  // Works fine afterwards, including in-bounds edges.
  std::vector<Value> res(1);
  EXPECT_FALSE(inst->Call(ExportIndex(in, "load"), std::vector<Value>{Value::I32(65524)}, res));
  EXPECT_FALSE(inst->Call(ExportIndex(in, "ci"), std::vector<Value>{Value::I32(0)}, {}));
}

TEST_F(AotTest, StackDepthLimitAndNativeRecursionOnThreads) {
  std::string wat = R"((module
    (func $rec (export "rec") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
        (else (i32.add (call $rec (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
    (func $inf (export "inf") (param i64 i64 i64 i64) (result i64)
      (i64.add (call $inf (local.get 0) (local.get 1) (local.get 2) (local.get 3)) (local.get 3)))
  ))";
  BackendInput in = InputFor(test::Wat(wat));
  auto mod = CompileAot(in, OptionsIn(cache_));
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  InstanceLimits lim;
  lim.max_stack_depth = 1000;
  auto inst = Inst(**mod, {}, lim);
  std::vector<Value> r(1);
  EXPECT_FALSE(inst->Call(0, std::vector<Value>{Value::I32(990)}, r));
  EXPECT_EQ(r[0].i32, 990u);
  auto t = inst->Call(0, std::vector<Value>{Value::I32(1001)}, r);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kStackExhausted);
  // A huge depth limit: the native stack guard catches it (main and other threads).
  InstanceLimits big;
  big.max_stack_depth = 100'000'000;
  auto deep = Inst(**mod, {}, big);
  std::vector<Value> args(4, Value::I64(1));
  auto run = [&] {
    for (int i = 0; i < 3; ++i) {
      auto tt = deep->Call(1, args, r);
      ASSERT_TRUE(tt);
      EXPECT_EQ(tt->trap.kind, TrapKind::kStackExhausted);
    }
  };
  run();
  std::thread th(run);
  th.join();
  EXPECT_FALSE(inst->Call(0, std::vector<Value>{Value::I32(10)}, r));
}

TEST_F(AotTest, ImportsMemoryTableGlobalFromAnotherInstance) {
  std::string a_wat = R"((module
    (memory (export "mem") 1 10)
    (table (export "tab") 2 funcref)
    (global (export "g") (mut i32) (i32.const 41))
    (func $seven (result i32) i32.const 7)
    (elem (i32.const 1) func $seven)
    (func (export "peek") (result i32) (i32.load (i32.const 100)))
  ))";
  std::string b_wat = R"((module
    (import "a" "mem" (memory 1))
    (import "a" "tab" (table 2 funcref))
    (import "a" "g" (global $g (mut i32)))
    (type $i (func (result i32)))
    (func (export "poke") (i32.store (i32.const 100) (i32.const 1234))
      (global.set $g (i32.add (global.get $g) (i32.const 1))))
    (func (export "callt") (result i32) (call_indirect (type $i) (i32.const 1)))
    (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  ))";
  BackendInput ain = InputFor(test::Wat(a_wat));
  BackendInput bin = InputFor(test::Wat(b_wat));
  auto am = CompileAot(ain, OptionsIn(cache_));
  auto bm = CompileAot(bin, OptionsIn(cache_));
  ASSERT_TRUE(am.ok() && bm.ok());
  auto a = Inst(**am);
  std::vector<BoundImport> imps(3);
  for (int i = 0; i < 3; ++i) {
    imps[i].from = a.get();
    imps[i].from_export = ExportIndex(ain, i == 0 ? "mem" : i == 1 ? "tab" : "g");
  }
  auto b = Inst(**bm, imps);
  ASSERT_TRUE(b);
  std::vector<Value> r(1);
  ASSERT_FALSE(b->Call(ExportIndex(bin, "poke"), {}, {}));
  ASSERT_FALSE(a->Call(ExportIndex(ain, "peek"), {}, r));
  EXPECT_EQ(r[0].i32, 1234u);
  EXPECT_EQ(a->GetGlobal(ExportIndex(ain, "g")).i32, 42u);
  ASSERT_FALSE(b->Call(ExportIndex(bin, "callt"), {}, r));
  EXPECT_EQ(r[0].i32, 7u);
  ASSERT_FALSE(b->Call(ExportIndex(bin, "grow"), {}, r));
  EXPECT_EQ(r[0].i32, 1u);
  EXPECT_EQ(a->DefaultMemory().size(), 2u * 65536);
  EXPECT_EQ(b->DefaultMemory().size(), 2u * 65536);
}

TEST_F(AotTest, InterruptFlagIsReadEveryIteration) {
  std::string wat = R"((module
    (global $int (export "__arcella_interrupt") (mut i32) (i32.const 0))
    (func (export "spin") (result i32) (local i32)
      (loop $l
        (local.set 0 (i32.add (local.get 0) (i32.const 1)))
        (br_if $l (i32.eqz (global.get $int))))
      (local.get 0))
  ))";
  BackendInput in = InputFor(test::Wat(wat));
  auto mod = CompileAot(in, OptionsIn(cache_));
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  auto inst = Inst(**mod);
  uint32_t flag = ExportIndex(in, kInterruptExport);
  std::thread stopper([&] {
    // A head start so the flag is raised mid-loop: the loop counter lives in
    // a local the host cannot observe while the guest runs.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    inst->SetInterruptFlag(flag, 1);
  });
  std::vector<Value> r(1);
  EXPECT_FALSE(inst->Call(ExportIndex(in, "spin"), {}, r));
  stopper.join();
  EXPECT_GT(r[0].i32, 1u);
}

TEST_F(AotTest, StartFunctionTrapIsReported) {
  std::string wat = R"((module (func $s unreachable) (start $s)))";
  auto mod = CompileWat(wat, cache_);
  ASSERT_TRUE(mod);
  std::optional<BackendTrap> st;
  auto r = mod->Instantiate({}, {}, nullptr, &st);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(st);
  EXPECT_EQ(st->trap.kind, TrapKind::kUnreachable);
  EXPECT_EQ(st->func_index, 0);
}

}  // namespace
}  // namespace arcella::engine::aot_test
