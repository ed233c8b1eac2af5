// AOT code generation from the facade's IR (no second decode) and with
// function bodies freed while the C is written: the C is the same as that of
// a fresh decode, and a module of many functions split into many units runs.
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include <wabt/ir.h>

#include "aot_test_util.h"
#include "engine/aot/codegen.h"
#include "engine/aot/compiler.h"
#include "engine/instrument.h"

namespace arcella::engine::aot_test {
namespace {

// `n` named functions chained by calls, each with named locals and a block,
// an indirect call through the table, data segments (active and passive),
// and an exported mutable global: f_i(x) = f_{i-1}(x) + i.
std::string ManyFunctionsWat(int n) {
  std::ostringstream w;
  w << "(module $many\n  (memory 1)\n  (table $tab " << n << " funcref)\n";
  w << "  (global $g (export \"g\") (mut i32) (i32.const 5))\n";
  w << "  (data $act (i32.const 32) \"gen-data\")\n  (data $pas \"passive\")\n";
  for (int i = 0; i < n; ++i) {
    w << "  (func $fn_" << i << " (param $x i32) (result i32) (local $acc i32)\n";
    w << "    (block $out (local.set $acc (i32.add (local.get $x) (i32.const " << i << ")))"
      << " (br_if $out (i32.eqz (local.get $x))))\n";
    if (i == 0) {
      w << "    (local.get $acc))\n";
    } else {
      w << "    (i32.add (call $fn_" << i - 1 << " (local.get $x)) (i32.const " << i << ")))\n";
    }
  }
  w << "  (type $t (func (param i32) (result i32)))\n";
  w << "  (elem (i32.const 0)";
  for (int i = 0; i < n; ++i) w << " $fn_" << i;
  w << ")\n";
  w << "  (func (export \"run\") (param i32) (result i32)\n"
    << "    (i32.add (call $fn_" << n - 1 << " (local.get 0))\n"
    << "      (i32.add (i32.load8_u (i32.const 32))\n"
    << "        (call_indirect (type $t) (i32.const 7) (i32.const " << n - 1 << ")))))\n";
  w << "  (func (export \"drop\") (data.drop $pas)))\n";
  return w.str();
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<aot::GeneratedModule> Generate(const BackendInput& in, const std::string& dir,
                                      uint32_t* units_seen) {
  aot::SplitHooks hooks;
  hooks.dir = dir;
  hooks.unit_budget = 2048;  // many units
  hooks.on_header = [](const std::string&) { return Status::Ok(); };
  hooks.on_unit = [units_seen](const aot::CUnit&) {
    ++*units_seen;
    return Status::Ok();
  };
  return aot::GenerateSplitC(in, "key", hooks);
}

TEST(AotGenTest, HandedOverIrGivesTheSameCAsDecodingTheBinary) {
  for (Metering metering : {Metering::kNone, Metering::kFuel}) {
    SCOPED_TRACE(metering == Metering::kFuel ? "fuel" : "none");
    BackendInput with_ir = FacadeInput(test::Wat(ManyFunctionsWat(300)), metering);
    ASSERT_TRUE(with_ir.ir);
    BackendInput without = with_ir;
    without.ir = nullptr;

    const std::string a = test::TempDir("aot-gen-ir"), b = test::TempDir("aot-gen-bin");
    uint32_t units_a = 0, units_b = 0;
    auto ga = Generate(with_ir, a, &units_a);
    ASSERT_TRUE(ga.ok()) << ga.status().ToString();
    auto gb = Generate(without, b, &units_b);
    ASSERT_TRUE(gb.ok()) << gb.status().ToString();
    EXPECT_GE(units_a, 10u);  // 300 functions in 2 KB units
    EXPECT_EQ(units_a, units_b);
    EXPECT_EQ(ga->data, gb->data);

    // Every file, byte for byte: the C (and so the unit cache keys) does not
    // depend on whether the IR was handed over or decoded again.
    const std::vector<std::string> fa = Files(a), fb = Files(b);
    EXPECT_EQ(fa, fb);
    for (const std::string& f : fa) EXPECT_EQ(Slurp(a + "/" + f), Slurp(b + "/" + f)) << f;

    // The handed-over IR gave up its function bodies while the C was written.
    for (const wabt::Func* f : with_ir.ir->funcs) EXPECT_TRUE(f->exprs.empty());
  }
}

class AotGenEngineTest : public ::testing::Test {
 protected:
  void SetUp() override { aot::SetUnitBudgetForTesting(16 << 10); }
  void TearDown() override { aot::SetUnitBudgetForTesting(0); }
};

TEST_F(AotGenEngineTest, ManyFunctionsInManyUnitsRunWithExactFuel) {
  const int n = 400;
  auto wasm = test::Wat(ManyFunctionsWat(n));
  auto engine = test::TestEngine(Metering::kFuel, test::TempDir("aot-gen-engine") + "/cache");
  ASSERT_TRUE(engine);
  auto aot = engine->Compile(wasm, {.tier = Tier::kAot});
  ASSERT_TRUE(aot.ok()) << aot.status().ToString();
  auto interp = engine->Compile(wasm, {.tier = Tier::kInterp});
  ASSERT_TRUE(interp.ok()) << interp.status().ToString();

  // run(x) = (x + sum 0..n-1) + 'g' + (7 + sum 0..n-1)
  const uint32_t sum = static_cast<uint32_t>(n) * (n - 1) / 2;
  uint64_t fuel_left[2] = {0, 0};
  int k = 0;
  for (const auto& m : {*aot, *interp}) {
    InstanceOptions o;
    o.limits.fuel = 10'000'000;
    auto inst = Instance::Create(m, Linker(), o);
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    auto r = (*inst)->Call("run", std::vector<Value>{Value::I32(3)});
    ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() && r->trap ? r->trap->message : "");
    ASSERT_EQ(r->results.size(), 1u);
    EXPECT_EQ(r->results[0].i32, 3 + sum + 'g' + 7 + sum);
    EXPECT_TRUE((*inst)->Call("drop", {}).ok());
    fuel_left[k++] = (*inst)->fuel();
  }
  EXPECT_LT(fuel_left[0], 10'000'000u);
  EXPECT_EQ(fuel_left[0], fuel_left[1]) << "fuel differs between the AOT and interpreter tiers";
}

}  // namespace
}  // namespace arcella::engine::aot_test
