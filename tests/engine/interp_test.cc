// Interpreter tier, tested directly through CompileInterp (backend.h).
#include <gtest/gtest.h>
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/ir.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>

#include "engine/backend.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

using test::Wat;

// A compiled module plus its export names (export index = position).
struct Compiled {
  std::shared_ptr<ModuleBackend> mod;
  std::vector<std::string> exports;
  uint32_t Export(const std::string& name) const {
    for (size_t i = 0; i < exports.size(); ++i)
      if (exports[i] == name) return static_cast<uint32_t>(i);
    ADD_FAILURE() << "no export " << name;
    return 0;
  }
};

Compiled Compile(const std::string& wat) {
  BackendInput in;
  in.wasm = Wat(wat);
  Compiled c;
  wabt::Module ir;
  wabt::Errors errors;
  wabt::Features features;
  wabt::ReadBinaryOptions opts(features, nullptr, false, true, false);
  EXPECT_TRUE(wabt::Succeeded(
      wabt::ReadBinaryIr("t.wasm", in.wasm.data(), in.wasm.size(), opts, &errors, &ir)));
  for (const wabt::Export* e : ir.exports) c.exports.push_back(e->name);
  auto r = CompileInterp(in);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok()) c.mod = *r;
  return c;
}

std::unique_ptr<InstanceBackend> Inst(const Compiled& c, std::vector<BoundImport> imports = {},
                                      InstanceLimits lim = {},
                                      std::optional<BackendTrap>* start_trap = nullptr) {
  std::optional<BackendTrap> st;
  auto r = c.mod->Instantiate(imports, lim, nullptr, start_trap ? start_trap : &st);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(st.has_value());
  return r.ok() ? std::move(r).value() : nullptr;
}

// Calls export `name`; returns the trap (if any) and fills `out`.
std::optional<BackendTrap> CallE(InstanceBackend& i, const Compiled& c, const std::string& name,
                                 std::vector<Value> args, std::vector<Value>* out,
                                 size_t nresults) {
  out->assign(nresults, Value());
  return i.Call(c.Export(name), args, *out);
}

TEST(InterpTest, ArithmeticAllTypesMultiValueAndV128) {
  auto c = Compile(R"((module
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "mul64") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
    (func (export "idf32") (param f32) (result f32) (local.get 0))
    (func (export "idf64") (param f64) (result f64) (local.get 0))
    (func (export "fsum") (param f32 f64) (result f64)
      (f64.add (f64.promote_f32 (local.get 0)) (local.get 1)))
    (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
    (func (export "v") (param v128) (result v128) (local.get 0))))");
  auto inst = Inst(c);
  std::vector<Value> out;
  ASSERT_FALSE(CallE(*inst, c, "add", {Value::I32(40), Value::I32(2)}, &out, 1));
  EXPECT_EQ(out[0].i32, 42u);
  ASSERT_FALSE(CallE(*inst, c, "mul64", {Value::I64(1ull << 33), Value::I64(3)}, &out, 1));
  EXPECT_EQ(out[0].type, ValType::kI64);
  EXPECT_EQ(out[0].i64, 3ull << 33);
  // NaN payloads survive bit-exactly.
  ASSERT_FALSE(CallE(*inst, c, "idf32", {Value::F32Bits(0x7fa00001)}, &out, 1));
  EXPECT_EQ(out[0].i32, 0x7fa00001u);
  ASSERT_FALSE(CallE(*inst, c, "idf64", {Value::F64Bits(0xfff0000000000123ull)}, &out, 1));
  EXPECT_EQ(out[0].i64, 0xfff0000000000123ull);
  ASSERT_FALSE(CallE(*inst, c, "fsum", {Value::F32(1.5f), Value::F64(2.25)}, &out, 1));
  EXPECT_EQ(out[0].f64, 3.75);
  ASSERT_FALSE(CallE(*inst, c, "swap", {Value::I32(7), Value::I64(9)}, &out, 2));
  EXPECT_EQ(out[0].type, ValType::kI64);
  EXPECT_EQ(out[0].i64, 9u);
  EXPECT_EQ(out[1].i32, 7u);
  uint8_t bytes[16];
  for (int i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(i * 17 + 1);
  ASSERT_FALSE(CallE(*inst, c, "v", {Value::V128(bytes)}, &out, 1));
  EXPECT_EQ(out[0].type, ValType::kV128);
  EXPECT_EQ(std::memcmp(out[0].v128, bytes, 16), 0);
}

TEST(InterpTest, SimdRuns) {
  auto c = Compile(R"((module
    (memory (export "mem") 1)
    (func (export "add4") (param v128 v128) (result v128) (i32x4.add (local.get 0) (local.get 1)))
    (func (export "dot") (result f32)
      (local v128)
      (v128.store (i32.const 0) (v128.const f32x4 1 2 3 4))
      (local.set 0 (f32x4.mul (v128.load (i32.const 0)) (v128.const f32x4 2 2 2 2)))
      (f32.add (f32.add (f32x4.extract_lane 0 (local.get 0)) (f32x4.extract_lane 1 (local.get 0)))
               (f32.add (f32x4.extract_lane 2 (local.get 0)) (f32x4.extract_lane 3 (local.get 0)))))))");
  auto inst = Inst(c);
  uint32_t a[4] = {1, 2, 3, 0xffffffff}, b[4] = {10, 20, 30, 2};
  std::vector<Value> out;
  ASSERT_FALSE(CallE(*inst, c, "add4",
                     {Value::V128(reinterpret_cast<uint8_t*>(a)),
                      Value::V128(reinterpret_cast<uint8_t*>(b))},
                     &out, 1));
  uint32_t r[4];
  std::memcpy(r, out[0].v128, 16);
  EXPECT_EQ(r[0], 11u);
  EXPECT_EQ(r[1], 22u);
  EXPECT_EQ(r[2], 33u);
  EXPECT_EQ(r[3], 1u);
  ASSERT_FALSE(CallE(*inst, c, "dot", {}, &out, 1));
  EXPECT_EQ(out[0].f32, 20.0f);
}

TEST(InterpTest, HostImportsSeeCallerMemoryAndTrapsPropagate) {
  auto c = Compile(R"((module
    (import "env" "add3" (func $add3 (param i32) (result i32)))
    (import "env" "peek" (func $peek (param i32) (result i32)))
    (import "env" "exit" (func $exit (param i32)))
    (memory (export "mem") 1)
    (data (i32.const 16) "\2a")
    (func (export "f") (param i32) (result i32) (call $add3 (local.get 0)))
    (func (export "g") (result i32) (call $peek (i32.const 16)))
    (func (export "quit") (call $exit (i32.const 7)) unreachable)))");
  HostFunc add3 = [](Caller&, std::span<const Value> a, std::span<Value> r) -> std::optional<Trap> {
    r[0] = Value::I32(a[0].i32 + 3);
    return std::nullopt;
  };
  HostFunc peek = [](Caller& c, std::span<const Value> a,
                     std::span<Value> r) -> std::optional<Trap> {
    auto mem = c.memory();
    if (a[0].i32 >= mem.size()) return Trap{TrapKind::kHostError, "", "bad pointer", 0};
    r[0] = Value::I32(mem[a[0].i32]);
    return std::nullopt;
  };
  HostFunc exitf = [](Caller&, std::span<const Value> a, std::span<Value>) -> std::optional<Trap> {
    return Trap{TrapKind::kExit, "", "bye", static_cast<int32_t>(a[0].i32)};
  };
  std::vector<BoundImport> imps(3);
  imps[0].fn = &add3;
  imps[1].fn = &peek;
  imps[2].fn = &exitf;
  auto inst = Inst(c, imps);
  std::vector<Value> out;
  ASSERT_FALSE(CallE(*inst, c, "f", {Value::I32(39)}, &out, 1));
  EXPECT_EQ(out[0].i32, 42u);
  ASSERT_FALSE(CallE(*inst, c, "g", {}, &out, 1));
  EXPECT_EQ(out[0].i32, 42u);
  auto t = CallE(*inst, c, "quit", {}, &out, 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kExit);
  EXPECT_EQ(t->trap.exit_code, 7);
  EXPECT_EQ(t->trap.message, "bye");
  EXPECT_EQ(t->func_index, 5);  // "quit": 3 imports + f, g, quit
  // The instance stays usable after a host trap.
  ASSERT_FALSE(CallE(*inst, c, "f", {Value::I32(1)}, &out, 1));
  EXPECT_EQ(out[0].i32, 4u);
}

TEST(InterpTest, EveryTrapKind) {
  auto c = Compile(R"((module
    (type $v (func))
    (type $i (func (result i32)))
    (memory 1)
    (table $t 2 funcref)
    (elem (table $t) (i32.const 0) func $nop)
    (func $nop)
    (func (export "unreachable") unreachable)
    (func (export "oob") (result i32) (i32.load (i32.const 65534)))
    (func (export "table_oob") (result funcref) (table.get $t (i32.const 5)))
    (func (export "null") (call_indirect (type $v) (i32.const 1)))
    (func (export "undef") (call_indirect (type $v) (i32.const 9)))
    (func (export "sig") (result i32) (call_indirect (type $i) (i32.const 0)))
    (func (export "div0") (result i32) (i32.div_u (i32.const 1) (i32.const 0)))
    (func (export "ovf") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
    (func (export "conv") (result i32) (i32.trunc_f32_s (f32.const nan)))
    (func $rec (export "rec") (call $rec))))");
  auto inst = Inst(c);
  struct Case {
    const char* name;
    size_t results;
    TrapKind kind;
    int64_t func;
  } cases[] = {
      {"unreachable", 0, TrapKind::kUnreachable, 1},
      {"oob", 1, TrapKind::kMemoryOutOfBounds, 2},
      {"table_oob", 1, TrapKind::kTableOutOfBounds, 3},
      {"null", 0, TrapKind::kIndirectCallNull, 4},
      {"undef", 0, TrapKind::kIndirectCallNull, 5},
      {"sig", 1, TrapKind::kIndirectCallTypeMismatch, 6},
      {"div0", 1, TrapKind::kIntegerDivideByZero, 7},
      {"ovf", 1, TrapKind::kIntegerOverflow, 8},
      {"conv", 1, TrapKind::kBadConversion, 9},
      {"rec", 0, TrapKind::kStackExhausted, 10},
  };
  for (const Case& k : cases) {
    std::vector<Value> out;
    auto t = CallE(*inst, c, k.name, {}, &out, k.results);
    ASSERT_TRUE(t) << k.name;
    EXPECT_EQ(t->trap.kind, k.kind) << k.name << ": " << t->trap.message;
    EXPECT_EQ(t->func_index, k.func) << k.name;
  }
}

TEST(InterpTest, RecursionDepthLimitIsExact) {
  auto c = Compile(R"((module
    (func $d (export "depth") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
        (else (i32.add (i32.const 1) (call $d (i32.sub (local.get 0) (i32.const 1)))))))))");
  InstanceLimits lim;
  lim.max_stack_depth = 100;
  auto inst = Inst(c, {}, lim);
  std::vector<Value> out;
  // depth(n) uses n+1 nested frames.
  ASSERT_FALSE(CallE(*inst, c, "depth", {Value::I32(99)}, &out, 1));
  EXPECT_EQ(out[0].i32, 99u);
  auto t = CallE(*inst, c, "depth", {Value::I32(100)}, &out, 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kStackExhausted);
  // Default limit: 10,000 frames, far beyond wabt's built-in 1,638.
  auto deep = Inst(c);
  ASSERT_FALSE(CallE(*deep, c, "depth", {Value::I32(9999)}, &out, 1));
  EXPECT_EQ(out[0].i32, 9999u);
  t = CallE(*deep, c, "depth", {Value::I32(10000)}, &out, 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kStackExhausted);
}

TEST(InterpTest, IndirectRecursionExhaustsStack) {
  // wabt 1.0.32 swallows this trap in call_indirect; the tier must report it.
  auto c = Compile(R"((module
    (type $proc (func))
    (table funcref (elem $runaway))
    (func $runaway (export "runaway") (call_indirect (type $proc) (i32.const 0)))))");
  auto inst = Inst(c);
  std::vector<Value> out;
  auto t = CallE(*inst, c, "runaway", {}, &out, 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kStackExhausted);
}

TEST(InterpTest, ReexportedHostFunction) {
  auto c = Compile(
      R"((module (func $two (import "env" "two") (result i32 i64)) (export "two" (func $two))))");
  HostFunc two = [](Caller&, std::span<const Value>, std::span<Value> r) -> std::optional<Trap> {
    r[0] = Value::I32(2);
    r[1] = Value::I64(22);
    return std::nullopt;
  };
  std::vector<BoundImport> imps(1);
  imps[0].fn = &two;
  auto inst = Inst(c, imps);
  std::vector<Value> out;
  ASSERT_FALSE(CallE(*inst, c, "two", {}, &out, 2));
  EXPECT_EQ(out[0].i32, 2u);
  EXPECT_EQ(out[1].i64, 22u);
}

TEST(InterpTest, DepthCountsAcrossNestedHostCalls) {
  auto c = Compile(R"((module
    (import "env" "reenter" (func $re (param i32) (result i32)))
    (func (export "down") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
        (else (call $re (i32.sub (local.get 0) (i32.const 1))))))))");
  InstanceBackend* self = nullptr;
  uint32_t down = c.Export("down");
  HostFunc re = [&](Caller&, std::span<const Value> a, std::span<Value> r) -> std::optional<Trap> {
    Value res;
    auto t = self->Call(down, a, std::span<Value>(&res, 1));
    if (t) return t->trap;
    r[0] = res;
    return std::nullopt;
  };
  std::vector<BoundImport> imps(1);
  imps[0].fn = &re;
  InstanceLimits lim;
  lim.max_stack_depth = 50;
  auto inst = Inst(c, imps, lim);
  self = inst.get();
  std::vector<Value> out;
  // Each level: one wasm frame + one host frame.
  ASSERT_FALSE(CallE(*inst, c, "down", {Value::I32(20)}, &out, 1));
  auto t = CallE(*inst, c, "down", {Value::I32(30)}, &out, 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kStackExhausted);
}

TEST(InterpTest, MemoryAndTableCaps) {
  auto c = Compile(R"((module
    (memory (export "mem") 1)
    (table 1 funcref)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "tgrow") (param i32) (result i32) (table.grow 0 (ref.null func) (local.get 0)))))");
  InstanceLimits lim;
  lim.max_memory_bytes = 2 * 65536;
  lim.max_table_elements = 3;
  auto inst = Inst(c, {}, lim);
  std::vector<Value> out;
  ASSERT_FALSE(CallE(*inst, c, "grow", {Value::I32(1)}, &out, 1));
  EXPECT_EQ(out[0].i32, 1u);
  ASSERT_FALSE(CallE(*inst, c, "grow", {Value::I32(1)}, &out, 1));
  EXPECT_EQ(out[0].i32, 0xffffffffu);
  EXPECT_EQ(inst->DefaultMemory().size(), 2u * 65536);
  EXPECT_EQ(inst->ExportedMemory(c.Export("mem")).size(), 2u * 65536);
  ASSERT_FALSE(CallE(*inst, c, "tgrow", {Value::I32(2)}, &out, 1));
  EXPECT_EQ(out[0].i32, 1u);
  ASSERT_FALSE(CallE(*inst, c, "tgrow", {Value::I32(1)}, &out, 1));
  EXPECT_EQ(out[0].i32, 0xffffffffu);

  auto big = Compile("(module (memory 3))");
  lim.max_memory_bytes = 2 * 65536;
  std::optional<BackendTrap> st;
  auto r = big.mod->Instantiate({}, lim, nullptr, &st);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cap"), std::string::npos) << r.status().ToString();
}

TEST(InterpTest, ExternrefRoundTripsThroughParamsGlobalsAndTables) {
  auto c = Compile(R"((module
    (global $g (export "g") (mut externref) (ref.null extern))
    (table $t 4 externref)
    (func (export "id") (param externref) (result externref) (local.get 0))
    (func (export "put") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))
    (func (export "get") (param i32) (result externref) (table.get $t (local.get 0)))
    (func (export "isnull") (param externref) (result i32) (ref.is_null (local.get 0)))
    (table $ft 1 funcref)
    (elem (table $ft) (i32.const 0) func $f)
    (func (export "fref") (result funcref) (table.get $ft (i32.const 0)))
    (func (export "fnull") (param funcref) (result i32) (ref.is_null (local.get 0)))
    (func $f)))");
  auto inst = Inst(c);
  std::vector<Value> out;
  ASSERT_FALSE(CallE(*inst, c, "id", {Value::ExternRef(1234567890123ull)}, &out, 1));
  EXPECT_EQ(out[0].type, ValType::kExternRef);
  EXPECT_FALSE(out[0].ref_null);
  EXPECT_EQ(out[0].ref, 1234567890123ull);
  ASSERT_FALSE(CallE(*inst, c, "id", {Value::NullRef(ValType::kExternRef)}, &out, 1));
  EXPECT_TRUE(out[0].ref_null);
  ASSERT_FALSE(CallE(*inst, c, "isnull", {Value::ExternRef(0)}, &out, 1));
  EXPECT_EQ(out[0].i32, 0u);  // payload 0 is not null
  ASSERT_FALSE(CallE(*inst, c, "put", {Value::I32(2), Value::ExternRef(77)}, &out, 0));
  ASSERT_FALSE(CallE(*inst, c, "get", {Value::I32(2)}, &out, 1));
  EXPECT_EQ(out[0].ref, 77u);
  ASSERT_FALSE(CallE(*inst, c, "get", {Value::I32(1)}, &out, 1));
  EXPECT_TRUE(out[0].ref_null);
  inst->SetGlobal(c.Export("g"), Value::ExternRef(99));
  Value g = inst->GetGlobal(c.Export("g"));
  EXPECT_EQ(g.type, ValType::kExternRef);
  EXPECT_EQ(g.ref, 99u);
  ASSERT_FALSE(CallE(*inst, c, "fref", {}, &out, 1));
  EXPECT_EQ(out[0].type, ValType::kFuncRef);
  EXPECT_FALSE(out[0].ref_null);
  Value fref = out[0];
  ASSERT_FALSE(CallE(*inst, c, "fnull", {fref}, &out, 1));
  EXPECT_EQ(out[0].i32, 0u);
  ASSERT_FALSE(CallE(*inst, c, "fnull", {Value::NullRef(ValType::kFuncRef)}, &out, 1));
  EXPECT_EQ(out[0].i32, 1u);
  // A funcref handle from another instance's store is refused, not misread.
  auto other = Inst(c);
  auto t = CallE(*other, c, "fnull", {fref}, &out, 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kHostError);
}

TEST(InterpTest, GlobalsInterruptFlagAndStartTrap) {
  auto c = Compile(R"((module
    (global (export "__arcella_interrupt") (mut i32) (i32.const 0))
    (global (export "f64") (mut f64) (f64.const 1.5))
    (global (export "k") i64 (i64.const -5))))");
  auto inst = Inst(c);
  EXPECT_EQ(inst->GetGlobal(c.Export("f64")).f64, 1.5);
  inst->SetGlobal(c.Export("f64"), Value::F64Bits(0x7ff4000000000001ull));
  EXPECT_EQ(inst->GetGlobal(c.Export("f64")).i64, 0x7ff4000000000001ull);
  EXPECT_EQ(inst->GetGlobal(c.Export("k")).i64, static_cast<uint64_t>(-5));
  std::thread([&] { inst->SetInterruptFlag(c.Export("__arcella_interrupt"), 1); }).join();
  EXPECT_EQ(inst->GetGlobal(c.Export("__arcella_interrupt")).i32, 1u);

  auto s = Compile(R"((module (memory (export "m") 1)
    (func $start (i32.store (i32.const 0) (i32.const 5)) unreachable) (start $start)))");
  std::optional<BackendTrap> st;
  auto r = s.mod->Instantiate({}, {}, nullptr, &st);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(st);
  EXPECT_EQ(st->trap.kind, TrapKind::kUnreachable);
  EXPECT_EQ(st->func_index, 0);
  EXPECT_EQ((*r)->DefaultMemory()[0], 5);  // valid instance, partial effects kept
}

TEST(InterpTest, LinkedInstancesShareMemoryTableAndGlobals) {
  auto a = Compile(R"((module
    (memory (export "mem") 1)
    (table (export "tab") 2 funcref)
    (global (export "g") (mut i32) (i32.const 1))
    (type $i (func (result i32)))
    (func (export "load") (result i32) (i32.load (i32.const 8)))
    (func (export "callt") (result i32) (call_indirect (type $i) (i32.const 1)))))");
  auto b = Compile(R"((module
    (import "a" "mem" (memory 1))
    (import "a" "tab" (table 2 funcref))
    (import "a" "g" (global (mut i32)))
    (elem (i32.const 1) func $seven)
    (func $seven (result i32) (i32.const 7))
    (func (export "store") (i32.store (i32.const 8) (i32.const 1234)) (global.set 0 (i32.const 9)))))");
  auto ia = Inst(a);
  std::vector<BoundImport> imps(3);
  for (int i = 0; i < 3; ++i) imps[i].from = ia.get();
  imps[0].from_export = a.Export("mem");
  imps[1].from_export = a.Export("tab");
  imps[2].from_export = a.Export("g");
  auto ib = Inst(b, imps);
  std::vector<Value> out;
  ASSERT_FALSE(CallE(*ib, b, "store", {}, &out, 0));
  ASSERT_FALSE(CallE(*ia, a, "load", {}, &out, 1));
  EXPECT_EQ(out[0].i32, 1234u);
  EXPECT_EQ(ia->GetGlobal(a.Export("g")).i32, 9u);
  ASSERT_FALSE(CallE(*ia, a, "callt", {}, &out, 1));
  EXPECT_EQ(out[0].i32, 7u);
  // B's function stays callable through A's table after B is freed.
  ib.reset();
  ASSERT_FALSE(CallE(*ia, a, "callt", {}, &out, 1));
  EXPECT_EQ(out[0].i32, 7u);
}

TEST(InterpTest, ManyThreadsTrappingConcurrently) {
  auto c = Compile(R"((module
    (memory 1)
    (func (export "f") (param i32) (result i32)
      (if (i32.eq (local.get 0) (i32.const 0)) (then unreachable))
      (if (i32.eq (local.get 0) (i32.const 1)) (then (drop (i32.load (i32.const 70000)))))
      (i32.div_u (i32.const 100) (i32.sub (local.get 0) (i32.const 2))))))");
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto inst = Inst(c);
      const TrapKind want[] = {TrapKind::kUnreachable, TrapKind::kMemoryOutOfBounds,
                               TrapKind::kIntegerDivideByZero};
      for (int i = 0; i < 2000; ++i) {
        std::vector<Value> out;
        uint32_t arg = static_cast<uint32_t>(i % 4);
        auto tr = CallE(*inst, c, "f", {Value::I32(arg)}, &out, 1);
        if (arg < 3 ? (!tr || tr->trap.kind != want[arg]) : (tr || out[0].i32 != 100)) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace arcella::engine
