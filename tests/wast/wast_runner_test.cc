// Tests of the spec-test script runner: value matching, trap-text mapping,
// module front-end, and whole scripts on each tier (including assertions
// that must be reported as failures).
#include <gtest/gtest.h>

#include <sstream>

#include "engine/engine.h"
#include "test_util.h"
#include "wabt/ir.h"
#include "wast/wast_modules.h"
#include "wast/wast_runner.h"
#include "wast/wast_values.h"

namespace arcella::wast {
namespace {

using engine::TrapKind;
using engine::Value;

TEST(WastValues, FloatNanPatterns) {
  wabt::Const canon = wabt::Const::F32();
  canon.set_f32(wabt::ExpectedNan::Canonical);
  wabt::Const arith = wabt::Const::F32();
  arith.set_f32(wabt::ExpectedNan::Arithmetic);
  EXPECT_TRUE(MatchesExpected(canon, Value::F32Bits(0x7fc00000)));
  EXPECT_TRUE(MatchesExpected(canon, Value::F32Bits(0xffc00000)));
  EXPECT_FALSE(MatchesExpected(canon, Value::F32Bits(0x7fc00001)));
  EXPECT_TRUE(MatchesExpected(arith, Value::F32Bits(0x7fc00001)));
  EXPECT_FALSE(MatchesExpected(arith, Value::F32Bits(0x7f800001)));             // signalling
  EXPECT_FALSE(MatchesExpected(arith, Value::F64Bits(0x7ff8000000000000ull)));  // wrong type

  wabt::Const d = wabt::Const::F64();
  d.set_f64(wabt::ExpectedNan::Canonical);
  EXPECT_TRUE(MatchesExpected(d, Value::F64Bits(0xfff8000000000000ull)));
  EXPECT_FALSE(MatchesExpected(d, Value::F64Bits(0x7ff8000000000001ull)));

  // Non-NaN floats compare bit for bit: -0.0 is not 0.0.
  EXPECT_TRUE(MatchesExpected(wabt::Const::F32(0x80000000), Value::F32Bits(0x80000000)));
  EXPECT_FALSE(MatchesExpected(wabt::Const::F32(0x80000000), Value::F32Bits(0)));
  EXPECT_FALSE(MatchesExpected(wabt::Const::I32(1), Value::I64(1)));
}

TEST(WastValues, V128LanesAndRefs) {
  wabt::Const v = wabt::Const::V128({});
  v.set_v128_f32(0, 0x3f800000);
  v.set_v128_f32(1, 0);
  v.set_expected_nan(1, wabt::ExpectedNan::Canonical);
  v.set_v128_f32(2, 0);
  v.set_v128_f32(3, 0x40000000);
  uint8_t bytes[16] = {};
  uint32_t lanes[4] = {0x3f800000, 0xffc00000, 0, 0x40000000};
  std::memcpy(bytes, lanes, 16);
  EXPECT_TRUE(MatchesExpected(v, Value::V128(bytes)));
  lanes[1] = 0x7f800001;
  std::memcpy(bytes, lanes, 16);
  EXPECT_FALSE(MatchesExpected(v, Value::V128(bytes)));

  wabt::Const ext;
  ext.set_externref(7);
  EXPECT_TRUE(MatchesExpected(ext, Value::ExternRef(7)));
  EXPECT_FALSE(MatchesExpected(ext, Value::ExternRef(8)));
  EXPECT_FALSE(MatchesExpected(ext, Value::NullRef(engine::ValType::kExternRef)));
  wabt::Const null_func;
  null_func.set_null(wabt::Type::FuncRef);
  EXPECT_TRUE(MatchesExpected(null_func, Value::NullRef(engine::ValType::kFuncRef)));
  wabt::Const any_func;
  any_func.set_funcref();
  EXPECT_FALSE(MatchesExpected(any_func, Value::NullRef(engine::ValType::kFuncRef)));
  auto arg = ConstToValue(ext);
  ASSERT_TRUE(arg.ok());
  EXPECT_EQ(arg->ref, 7u);
}

TEST(WastValues, TrapTexts) {
  EXPECT_EQ(TrapKindsForText("integer divide by zero"),
            std::vector<TrapKind>{TrapKind::kIntegerDivideByZero});
  EXPECT_EQ(TrapKindsForText("uninitialized element 2"),
            std::vector<TrapKind>{TrapKind::kIndirectCallNull});
  EXPECT_EQ(TrapKindsForText("call stack exhausted"),
            std::vector<TrapKind>{TrapKind::kStackExhausted});
  EXPECT_TRUE(TrapKindsForText("something new").empty());
}

TEST(WastModules, FrontEndRejectsBadText) {
  EXPECT_TRUE(WatToWasm("(module (func (export \"f\") (result i32) (i32.const 1)))").ok());
  EXPECT_FALSE(WatToWasm("(module (func (result i32) (i64.const 1)))").ok());  // invalid
  EXPECT_FALSE(WatToWasm("(module (func (call $nope)))").ok());                // unresolved
  EXPECT_FALSE(WatToWasm("(module (func (i32.const 0x)))").ok());              // malformed
}

// A script exercising every command kind; all assertions hold.
constexpr const char* kGoodScript = R"wast(
(module $M
  (import "spectest" "print_i32" (func $print (param i32)))
  (import "spectest" "global_i32" (global $g i32))
  (memory (export "mem") 1)
  (global (export "answer") i32 (i32.const 42))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "g") (result i32) (call $print (global.get $g)) (global.get $g))
  (func (export "nan") (result f32) (f32.div (f32.const 0) (f32.const 0)))
  (func (export "two") (result i64 f64) (i64.const -1) (f64.const 1.5))
  (func $rec (export "rec") (call $rec))
  (func (export "ext") (param externref) (result externref) (local.get 0)))
(register "M" $M)
(assert_return (invoke "div" (i32.const 7) (i32.const 2)) (i32.const 3))
(assert_return (invoke $M "g") (i32.const 666))
(assert_return (get "answer") (i32.const 42))
(assert_return (invoke "nan") (f32.const nan:canonical))
(assert_return (invoke "two") (i64.const -1) (f64.const 1.5))
(assert_return (invoke "ext" (ref.extern 5)) (ref.extern 5))
(assert_return (invoke "ext" (ref.null extern)) (ref.null extern))
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div" (i32.const 0x80000000) (i32.const -1)) "integer overflow")
(assert_exhaustion (invoke "rec") "call stack exhausted")
(invoke "g")
(module
  (import "M" "mem" (memory 1))
  (func (export "load") (result i32) (i32.load (i32.const 0))))
(assert_return (invoke "load") (i32.const 0))
(assert_invalid (module (func (result i32) (i64.const 0))) "type mismatch")
(assert_malformed (module quote "(func (i32.const nope))") "unexpected token")
(assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")
(assert_unlinkable (module (import "M" "missing" (func))) "unknown import")
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
)wast";

class WastScripts : public ::testing::TestWithParam<engine::Tier> {
 protected:
  WastOptions Options() {
    WastOptions o;
    o.tier = GetParam();
    o.cache_dir = test::TempDir("wast-cache");
    return o;
  }
};

TEST_P(WastScripts, EveryCommandKindPasses) {
  std::ostringstream log;
  auto s = RunWastText("good.wast", kGoodScript, Options(), log);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->failed, 0) << log.str();
  EXPECT_EQ(s->passed, 19) << log.str();
  EXPECT_NE(log.str().find("good.wast: 19 passed, 0 failed"), std::string::npos) << log.str();
}

TEST_P(WastScripts, WrongAssertionsFail) {
  constexpr const char* kBad = R"wast(
(module
  (func (export "one") (result i32) (i32.const 1))
  (func (export "trap") unreachable)
  (func (export "nan") (result f64) (f64.const nan:0x4)))
(assert_return (invoke "one") (i32.const 2))
(assert_trap (invoke "one") "unreachable")
(assert_trap (invoke "trap") "integer divide by zero")
(assert_return (invoke "nan") (f64.const nan:canonical))
(assert_invalid (module (func)) "accepted, so this fails")
(assert_unlinkable (module) "links, so this fails")
(assert_return (invoke "missing"))
(module (import "nowhere" "f" (func)))
(assert_return (invoke "one") (i32.const 1))
)wast";
  std::ostringstream log;
  auto s = RunWastText("bad.wast", kBad, Options(), log);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->failed, 9) << log.str();
  EXPECT_EQ(s->passed, 1) << log.str();
  ASSERT_EQ(s->failures.size(), 9u);
  EXPECT_NE(s->failures[0].find("bad.wast:6: assert_return"), std::string::npos) << s->failures[0];
  // The last invoke refers to the failed module: reported, not crashed.
  EXPECT_NE(s->failures[8].find("no module instance"), std::string::npos) << s->failures[8];
}

// Text modules with two memories: invalid for the 2.0 scripts, run with
// --multi-memory (both memories of one module, then of two registered ones).
TEST_P(WastScripts, MultiMemoryNeedsTheOption) {
  constexpr const char* kTwo = R"wast(
(module $A (memory (export "mem") 1) (data (i32.const 0) "\2a"))
(register "A")
(module $B (memory (export "mem") 1) (data (i32.const 0) "\07"))
(register "B")
(module
  (memory $a (import "A" "mem") 1)
  (memory $b (import "B" "mem") 1)
  (memory $c 1)
  (func (export "sum") (result i32)
    (i32.store8 $c (i32.const 0) (i32.const 1))
    (i32.add (i32.load8_u $c (i32.const 0))
      (i32.add (i32.load8_u $a (i32.const 0)) (i32.load8_u $b (i32.const 0))))))
(assert_return (invoke "sum") (i32.const 50))
)wast";
  std::ostringstream log;
  WastOptions options = Options();
  // Without the option, the text parser refuses the memory operands.
  auto strict = RunWastText("two.wast", kTwo, options, log);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find("two.wast:11: "), std::string::npos)
      << strict.status().ToString();
  options.multi_memory = true;
  auto s = RunWastText("two.wast", kTwo, options, log);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->failed, 0) << log.str();
  EXPECT_EQ(s->passed, 4) << log.str();
  // In a 2.0 script, a module with two memories is invalid.
  constexpr const char* kInvalid = R"wast(
(assert_invalid (module (memory 0) (memory 0)) "multiple memories")
)wast";
  auto inv = RunWastText("inv.wast", kInvalid, Options(), log);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->failed, 0) << log.str();
  EXPECT_EQ(inv->passed, 1) << log.str();
}

INSTANTIATE_TEST_SUITE_P(Tiers, WastScripts,
                         ::testing::Values(engine::Tier::kInterp, engine::Tier::kAot),
                         [](const auto& info) {
                           return std::string(engine::TierName(info.param));
                         });

TEST(WastRunner, UnparsableAndMissingFiles) {
  std::ostringstream log;
  EXPECT_FALSE(RunWastText("x.wast", "(module (func)", {}, log).ok());
  EXPECT_FALSE(RunWastFile("/nonexistent/x.wast", {}, log).ok());
  WastSummary total = RunWastFiles({"/nonexistent/x.wast"}, {}, log);
  EXPECT_EQ(total.files_failed, 1);
  EXPECT_EQ(total.failed, 1);
}

}  // namespace
}  // namespace arcella::wast
