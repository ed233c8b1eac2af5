// FoldFuel (aot/c_peephole.h): the fuel metering's wasm2c statements become
// one C statement each, nothing else changes, and folded C computes the same
// results and fuel counts as the interpreter, also when fuel runs out or
// code traps part-way.
#include <gtest/gtest.h>

#include <dirent.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <wabt/ir.h>

#include "engine/aot/c_peephole.h"
#include "engine/aot/codegen.h"
#include "engine/engine.h"
#include "engine/instrument.h"
#include "engine/loader.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

using aot::FoldFuel;
using aot::FoldStats;

constexpr char kIntr[] = "w2c_g4";

// Pieces of a real function of CRuby's fuel build as wasm2c 1.0.32 wrote it
// (fuel local w2c_l6, fuel global w2c_g3, interrupt flag w2c_g4): the entry
// check, a charge, a loop check, a charged call at stack depth 2 and the
// reload after it at depth 1, a charged exit, a flush before a call at
// depth 1, an exit after a call.
constexpr char kBefore[] = R"(ARCELLA_HIDDEN u32 w2c_f753(Z_m_instance_t* instance, u32 w2c_p0) {
  u32 w2c_l3 = 0;
  u64 w2c_l6 = 0;
  FUNC_PROLOGUE;
  u32 w2c_i0, w2c_i1, w2c_i2, w2c_i3;
  u64 w2c_j0, w2c_j1, w2c_j2, w2c_j3;
  w2c_j0 = instance->w2c_g3;
  w2c_j1 = 4ull;
  w2c_j0 -= w2c_j1;
  w2c_l6 = w2c_j0;
  w2c_j1 = 0ull;
  w2c_i0 = (u64)((s64)w2c_j0 < (s64)w2c_j1);
  w2c_i1 = (*(volatile u32*)&instance->w2c_g4);
  w2c_i0 |= w2c_i1;
  if (w2c_i0) {
    w2c_j0 = w2c_l6;
    instance->w2c_g3 = w2c_j0;
    (*Z_hZ_f0)(instance->Z_h_instance);
    w2c_j0 = instance->w2c_g3;
    w2c_l6 = w2c_j0;
  }
  w2c_i0 = instance->w2c_g1;
  if (w2c_i0) {
    w2c_j0 = w2c_l6;
    w2c_j1 = 20ull;
    w2c_j0 -= w2c_j1;
    w2c_l6 = w2c_j0;
    w2c_L6: 
      w2c_j0 = w2c_l6;
      w2c_j1 = 6ull;
      w2c_j0 -= w2c_j1;
      w2c_l6 = w2c_j0;
      w2c_j1 = 0ull;
      w2c_i0 = (u64)((s64)w2c_j0 < (s64)w2c_j1);
      w2c_i1 = (*(volatile u32*)&instance->w2c_g4);
      w2c_i0 |= w2c_i1;
      if (w2c_i0) {
        w2c_j0 = w2c_l6;
        instance->w2c_g3 = w2c_j0;
        (*Z_hZ_f0)(instance->Z_h_instance);
        w2c_j0 = instance->w2c_g3;
        w2c_l6 = w2c_j0;
      }
      w2c_i0 = 16790959u;
      w2c_i1 = 3u;
      w2c_j2 = w2c_l6;
      w2c_j3 = 3ull;
      w2c_j2 -= w2c_j3;
      instance->w2c_g3 = w2c_j2;
      w2c_i0 = w2c_f7654(instance, w2c_i0, w2c_i1);
      w2c_j1 = instance->w2c_g3;
      w2c_j2 = 6ull;
      w2c_j1 -= w2c_j2;
      w2c_l6 = w2c_j1;
      w2c_l3 = w2c_i0;
      w2c_i0 = w2c_l3;
      if (w2c_i0) {goto w2c_L6;}
  }
  w2c_i0 = w2c_p0;
  w2c_j1 = w2c_l6;
  instance->w2c_g3 = w2c_j1;
  w2c_i0 = w2c_f9(instance, w2c_i0);
  w2c_j1 = instance->w2c_g3;
  w2c_l6 = w2c_j1;
  w2c_i0 = w2c_f9(instance, w2c_i0);
  w2c_j1 = instance->w2c_g3;
  w2c_j2 = 2ull;
  w2c_j1 -= w2c_j2;
  instance->w2c_g3 = w2c_j1;
  goto w2c_Bfunc;
  w2c_Bfunc:;
  FUNC_EPILOGUE;
  return w2c_i0;
}
)";

constexpr char kAfter[] = R"(ARCELLA_HIDDEN u32 w2c_f753(Z_m_instance_t* instance, u32 w2c_p0) {
  u32 w2c_l3 = 0;
  u64 w2c_l6 = 0;
  FUNC_PROLOGUE;
  u32 w2c_i0, w2c_i1, w2c_i2, w2c_i3;
  u64 w2c_j0, w2c_j1, w2c_j2, w2c_j3;
  w2c_l6 = instance->w2c_g3 - 4ull;
  if ((u32)((s64)w2c_l6 < 0) | (*(volatile u32*)&instance->w2c_g4)) {
    instance->w2c_g3 = w2c_l6;
    (*Z_hZ_f0)(instance->Z_h_instance);
    w2c_l6 = instance->w2c_g3;
  }
  w2c_i0 = instance->w2c_g1;
  if (w2c_i0) {
    w2c_l6 -= 20ull;
    w2c_L6: 
      w2c_l6 -= 6ull;
      if ((u32)((s64)w2c_l6 < 0) | (*(volatile u32*)&instance->w2c_g4)) {
        instance->w2c_g3 = w2c_l6;
        (*Z_hZ_f0)(instance->Z_h_instance);
        w2c_l6 = instance->w2c_g3;
      }
      w2c_i0 = 16790959u;
      w2c_i1 = 3u;
      instance->w2c_g3 = w2c_l6 - 3ull;
      w2c_i0 = w2c_f7654(instance, w2c_i0, w2c_i1);
      w2c_l6 = instance->w2c_g3 - 6ull;
      w2c_l3 = w2c_i0;
      w2c_i0 = w2c_l3;
      if (w2c_i0) {goto w2c_L6;}
  }
  w2c_i0 = w2c_p0;
  instance->w2c_g3 = w2c_l6;
  w2c_i0 = w2c_f9(instance, w2c_i0);
  w2c_l6 = instance->w2c_g3;
  w2c_i0 = w2c_f9(instance, w2c_i0);
  instance->w2c_g3 -= 2ull;
  goto w2c_Bfunc;
  w2c_Bfunc:;
  FUNC_EPILOGUE;
  return w2c_i0;
}
)";

size_t Lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

TEST(FoldFuelTest, FoldsEveryMeteringShapeOfRealWasm2cOutput) {
  FoldStats st;
  const std::string out = FoldFuel(kBefore, kIntr, &st);
  EXPECT_EQ(out, kAfter);
  EXPECT_EQ(st.folds, 12u);
  EXPECT_EQ(st.lines_removed, Lines(kBefore) - Lines(kAfter));
  // Folded C is a fixed point.
  EXPECT_EQ(FoldFuel(out, kIntr), out);
}

TEST(FoldFuelTest, LeavesEverythingButTheMeteringAlone) {
  // Without the interrupt field, or with another one, nothing is folded.
  EXPECT_EQ(FoldFuel(kBefore, ""), kBefore);
  EXPECT_EQ(FoldFuel(kBefore, "w2c_g5"), kBefore);

  // A function whose entry is not the fuel check (no fuel metering): the
  // same four statements on a local stay as they are.
  const std::string plain = "ARCELLA_HIDDEN u64 w2c_f1(Z_m_instance_t* instance, u64 w2c_p0) {\n"
                            "  u64 w2c_j0, w2c_j1;\n"
                            "  w2c_j0 = w2c_p0;\n"
                            "  w2c_j1 = 4ull;\n"
                            "  w2c_j0 -= w2c_j1;\n"
                            "  w2c_p0 = w2c_j0;\n"
                            "  w2c_j0 = w2c_p0;\n"
                            "  FUNC_EPILOGUE;\n"
                            "  return w2c_j0;\n"
                            "}\n";
  EXPECT_EQ(FoldFuel(plain, kIntr), plain);

  // In a metered function, the program's own `local.get; i64.const;
  // i64.sub; local.tee` on its locals and globals stays: only the fuel local
  // (teed by the entry check) and the fuel global are folded.
  std::string user = kBefore;
  const std::string own = "  w2c_j0 = w2c_l7;\n"
                          "  w2c_j1 = 5ull;\n"
                          "  w2c_j0 -= w2c_j1;\n"
                          "  w2c_l7 = w2c_j0;\n"
                          "  w2c_j1 = 0ull;\n"
                          "  w2c_i0 = (u64)((s64)w2c_j0 < (s64)w2c_j1);\n"
                          "  w2c_j0 = instance->w2c_g2;\n"
                          "  w2c_j1 = 5ull;\n"
                          "  w2c_j0 -= w2c_j1;\n"
                          "  instance->w2c_g2 = w2c_j0;\n";
  const std::string anchor = "  w2c_i0 = instance->w2c_g1;\n";
  user.insert(user.find(anchor), own);
  std::string expect = kAfter;
  expect.insert(expect.find(anchor), own);
  EXPECT_EQ(FoldFuel(user, kIntr), expect);

  // A tee of the fuel local not followed by the whole check is left alone
  // (the temporary stays live), and so are lines split by indentation.
  std::string odd = kBefore;
  const std::string charge = "    w2c_j0 = w2c_l6;\n"
                             "    w2c_j1 = 20ull;\n"
                             "    w2c_j0 -= w2c_j1;\n"
                             "    w2c_l6 = w2c_j0;\n";
  const std::string teed = charge + "    w2c_j1 = 0ull;\n"
                                    "    w2c_i0 = (u64)((s64)w2c_j0 < (s64)w2c_j1);\n"
                                    "    w2c_i0 = !(w2c_i0);\n";
  ASSERT_NE(odd.find(charge), std::string::npos);
  odd.replace(odd.find(charge), charge.size(), teed);
  const std::string folded_odd = FoldFuel(odd, kIntr);
  EXPECT_NE(folded_odd.find(teed), std::string::npos);
  std::string shifted = kBefore;
  shifted.replace(shifted.find(charge), charge.size(),
                  "    w2c_j0 = w2c_l6;\n"
                  "    w2c_j1 = 20ull;\n"
                  "      w2c_j0 -= w2c_j1;\n"
                  "    w2c_l6 = w2c_j0;\n");
  EXPECT_NE(FoldFuel(shifted, kIntr).find("      w2c_j0 -= w2c_j1;\n"), std::string::npos);
}

// ------------------------------------------------------------ real modules

// Control flow of every kind the metering charges: loops, calls in the
// middle of expressions (reloads at stack depth > 0), call_indirect,
// br_table, if/else, traps, returns, and the program's own i64 counters
// written through local.tee and compared with 0 like the fuel check does.
constexpr char kProgram[] = R"((module
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $sq $dec)
  (type $ii (func (param i64) (result i64)))
  (global $acc (mut i64) (i64.const 100))
  (func $sq (param $x i64) (result i64) (i64.mul (local.get $x) (local.get $x)))
  (func $dec (param $x i64) (result i64)
    (local.tee $x (i64.sub (local.get $x) (i64.const 5)))
    (if (result i64) (i64.lt_s (i64.const 0))
      (then (i64.const 0)) (else (local.get $x))))
  (func $fib (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (local.get $n))
      (else (i64.add (call $fib (i64.sub (local.get $n) (i64.const 1)))
                     (call $fib (i64.sub (local.get $n) (i64.const 2)))))))
  (func (export "mix") (param $n i32) (result i64) (local $i i32) (local $s i64)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i64.add (local.get $s)
          (i64.add (call $fib (i64.extend_i32_u (i32.rem_u (local.get $i) (i32.const 9))))
                   (call_indirect (type $ii) (i64.extend_i32_u (local.get $i))
                                  (i32.and (local.get $i) (i32.const 1))))))
        (block $a (block $b (block $c
          (br_table $a $b $c (i32.rem_u (local.get $i) (i32.const 3))))
          (global.set $acc (i64.sub (global.get $acc) (i64.const 3))))
          (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (local.get $s))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i64.add (local.get $s) (i64.add (global.get $acc) (i64.load (i32.const 8)))))
  (func (export "boom") (param $n i32) (result i32)
    (loop $l
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (drop (call $fib (i64.const 5)))
      (br_if $l (local.get $n)))
    (i32.load (i32.const 70000)))
  (func (export "early") (param $n i32) (result i32)
    (if (local.get $n) (then (return (i32.const 7))))
    (drop (call $sq (i64.const 3)))
    (i32.const 9)))
)";

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The C units of `wasm` instrumented with fuel, generated like the AOT tier
// does (through the splitter, which folds).
std::vector<std::string> Units(const std::vector<uint8_t>& wasm) {
  auto d = Decode(wasm);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  if (!d.ok()) return {};
  EXPECT_TRUE(Instrument(d->ir.get(), Metering::kFuel).ok());
  auto bytes = Encode(*d->ir);
  EXPECT_TRUE(bytes.ok());
  if (!bytes.ok()) return {};
  Describe(*d->ir, &*d);
  BackendInput in;
  in.wasm = std::move(*bytes);
  in.imports = d->imports;
  in.exports = d->exports;
  in.ir = std::move(d->ir);
  aot::SplitHooks hooks;
  hooks.dir = test::TempDir("c-peephole");
  hooks.unit_budget = 64 << 10;
  std::vector<std::string> paths;
  hooks.on_header = [](const std::string&) { return Status::Ok(); };
  hooks.on_unit = [&paths](const aot::CUnit& u) {
    paths.push_back(u.path);
    return Status::Ok();
  };
  auto g = aot::GenerateSplitC(in, "key", hooks);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  std::vector<std::string> out;
  for (const std::string& p : paths) out.push_back(Slurp(p));
  return out;
}

// Each function definition of a unit's text.
std::vector<std::string> Functions(const std::string& unit) {
  std::vector<std::string> out;
  std::istringstream is(unit);
  std::string line, cur;
  bool in = false;
  while (std::getline(is, line)) {
    if (!in && line.rfind("ARCELLA_HIDDEN ", 0) == 0) in = true;
    if (in) cur += line + "\n";
    if (in && line == "}") {
      out.push_back(cur);
      cur.clear();
      in = false;
    }
  }
  return out;
}

// Checks the units of one metered module: every function starts with the
// folded entry check, no fuel statement is left unfolded, and folding again
// changes nothing. Returns the number of functions.
size_t CheckUnits(const std::vector<std::string>& units) {
  // The interrupt flag: the only field read through a volatile pointer.
  static const std::regex kVol(R"(\(\*\(volatile u32\*\)&instance->(w2c_g\d+)\))");
  static const std::regex kEntry(
      R"(\n  (w2c_l\d+) = instance->(w2c_g\d+)( - \d+ull)?;\n  if \(\(u32\)\(\(s64\)\1 < 0\) \| )");
  size_t functions = 0;
  for (const std::string& u : units) {
    std::smatch vm;
    if (!std::regex_search(u, vm, kVol)) {
      ADD_FAILURE() << "a unit without the fuel check";
      continue;
    }
    const std::string intr = vm[1];
    for (const std::string& f : Functions(u)) {
      ++functions;
      std::smatch em;
      if (!std::regex_search(f, em, kEntry)) {
        ADD_FAILURE() << "no folded entry check in\n" << f;
        continue;
      }
      const std::string local = em[1], global = em[2];
      // No statement moves the fuel through a stack temporary any more.
      const std::regex left("w2c_j\\d+ = (" + local + "|instance->" + global + ");|\n *(" + local +
                            "|instance->" + global + ") = w2c_j\\d+;");
      EXPECT_FALSE(std::regex_search(f, left)) << f;
      EXPECT_EQ(FoldFuel(f, intr), f);
    }
  }
  return functions;
}

TEST(FoldFuelTest, GeneratedCOfRealModulesIsFoldedCompletely) {
  EXPECT_GE(CheckUnits(Units(test::Wat(kProgram))), 6u);
  // A real C program (clang's wasm32-wasi output of a fixture guest).
  const std::string guest = Slurp(test::FixturePath("cmd_hello.wasm"));
  ASSERT_FALSE(guest.empty());
  EXPECT_GE(CheckUnits(Units(std::vector<uint8_t>(guest.begin(), guest.end()))), 10u);
}

struct Outcome {
  bool ok = false, trapped = false;
  TrapKind kind = TrapKind::kUnreachable;
  std::string result;
  uint64_t consumed = 0;
};

Outcome RunCall(const std::shared_ptr<const Module>& m, const char* fn, int32_t arg,
                uint64_t fuel) {
  Outcome o;
  InstanceOptions io;
  io.limits.fuel = fuel;
  auto inst = Instance::Create(m, Linker(), io);
  EXPECT_TRUE(inst.ok()) << inst.status().ToString();
  if (!inst.ok()) return o;
  const std::vector<Value> args{Value::I32(arg)};
  auto r = (*inst)->Call(fn, args);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return o;
  o.ok = true;
  o.trapped = r->trap.has_value();
  if (r->trap) o.kind = r->trap->kind;
  for (const Value& v : r->results) o.result += v.ToString() + " ";
  o.consumed = (*inst)->fuel_consumed();
  return o;
}

TEST(FoldFuelTest, FoldedCCountsFuelExactlyLikeTheInterpreter) {
  // A cache of its own: the C of this build is compiled, never reused.
  auto engine = test::TestEngine(Metering::kFuel, test::TempDir("c-peephole-run") + "/cache");
  ASSERT_TRUE(engine);
  const auto wasm = test::Wat(kProgram);
  CompileOptions ca, ci;
  ca.tier = Tier::kAot;
  ci.tier = Tier::kInterp;
  auto aot = engine->Compile(wasm, ca);
  auto interp = engine->Compile(wasm, ci);
  ASSERT_TRUE(aot.ok()) << aot.status().ToString();
  ASSERT_TRUE(interp.ok()) << interp.status().ToString();
  ASSERT_EQ((*aot)->tier(), Tier::kAot);

  struct Call {
    const char* fn;
    int32_t arg;
  } calls[] = {{"mix", 0},  {"mix", 1},   {"mix", 7},  {"mix", 40},
               {"boom", 3}, {"early", 0}, {"early", 1}};
  for (const Call& c : calls) {
    // Unlimited, then limits that run out at every point of the first
    // hundreds of units and then more coarsely.
    Outcome full = RunCall(*aot, c.fn, c.arg, 1ull << 40);
    ASSERT_TRUE(full.ok);
    std::vector<uint64_t> limits;
    for (uint64_t f = 0; f <= 300 && f <= full.consumed + 2; ++f) limits.push_back(f);
    for (uint64_t f = 301; f < full.consumed + 2; f += 1 + full.consumed / 97) limits.push_back(f);
    limits.push_back(1ull << 40);
    for (uint64_t fuel : limits) {
      Outcome a = RunCall(*aot, c.fn, c.arg, fuel);
      Outcome i = RunCall(*interp, c.fn, c.arg, fuel);
      ASSERT_TRUE(a.ok && i.ok);
      EXPECT_EQ(a.trapped, i.trapped) << c.fn << "(" << c.arg << ") fuel " << fuel;
      EXPECT_EQ(a.kind, i.kind) << c.fn << "(" << c.arg << ") fuel " << fuel;
      EXPECT_EQ(a.result, i.result) << c.fn << "(" << c.arg << ") fuel " << fuel;
      EXPECT_EQ(a.consumed, i.consumed) << c.fn << "(" << c.arg << ") fuel " << fuel;
    }
  }
  // The program really computes, traps where it should and runs out of fuel.
  Outcome mix = RunCall(*aot, "mix", 40, 1ull << 40);
  EXPECT_FALSE(mix.trapped);
  EXPECT_GT(mix.consumed, 1000u);
  Outcome boom = RunCall(*aot, "boom", 3, 1ull << 40);
  EXPECT_TRUE(boom.trapped);
  EXPECT_EQ(boom.kind, TrapKind::kMemoryOutOfBounds);
  Outcome starved = RunCall(*aot, "mix", 40, 500);
  EXPECT_TRUE(starved.trapped);
  EXPECT_EQ(starved.kind, TrapKind::kOutOfFuel);
}

}  // namespace
}  // namespace arcella::engine
