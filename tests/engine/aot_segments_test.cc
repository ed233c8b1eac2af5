// Data segments on the AOT tier: active segments are loaded by the engine
// (not named in wasm2c's IR, see aot/active_data.h), passive ones stay, and
// memory.init / data.drop keep their meaning for both kinds, on the AOT tier
// exactly as on the interpreter.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include <wabt/ir.h>

#include "aot_test_util.h"
#include "engine/aot/codegen.h"
#include "engine/engine.h"
#include "engine/instrument.h"

namespace arcella::engine::aot_test {
namespace {

constexpr int kSegments = 3000;

// The byte active segment `i` writes at each of its 4 bytes.
uint8_t SegByte(int i, int k) { return static_cast<uint8_t>((i * 7 + k * 13 + 1) & 0xff); }

// kSegments small active segments at 8*i, then segments overlapping earlier
// ones (the later one wins), a passive segment and an active one that code
// names with memory.init and data.drop.
std::string SegmentsWat() {
  std::ostringstream w;
  w << "(module\n  (memory (export \"mem\") 1)\n";
  auto bytes = [](int i) {
    std::ostringstream s;
    for (int k = 0; k < 4; ++k) {
      char b[8];
      snprintf(b, sizeof b, "\\%02x", SegByte(i, k));
      s << b;
    }
    return s.str();
  };
  for (int i = 0; i < kSegments; ++i)
    w << "  (data (i32.const " << 8 * i << ") \"" << bytes(i) << "\")\n";
  for (int i = 0; i < 10; ++i)  // over the middle of segments 100..109
    w << "  (data (i32.const " << 8 * (100 + i) + 2 << ") \"" << bytes(kSegments + i) << "\")\n";
  w << "  (data (i32.const 40000) \"\")\n";
  w << "  (data $pas \"PASSIVE-BYTES\")\n";
  w << "  (data $act (i32.const 50000) \"active\")\n";
  w << "  (func (export \"init_pas\") (param i32 i32)\n"
       "    (memory.init $pas (local.get 0) (i32.const 0) (local.get 1)))\n";
  w << "  (func (export \"init_act\") (param i32 i32)\n"
       "    (memory.init $act (local.get 0) (i32.const 0) (local.get 1)))\n";
  w << "  (func (export \"drop_pas\") (data.drop $pas))\n";
  w << "  (func (export \"drop_act\") (data.drop $act)))\n";
  return w.str();
}

bool Traps(Instance& inst, const char* name, std::vector<Value> args) {
  auto r = inst.Call(name, args);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() && !r->ok();
}

TEST(AotSegmentsTest, ManyActiveSegmentsAndMemoryInitMatchTheInterpreter) {
  const auto wasm = test::Wat(SegmentsWat());
  auto engine = test::TestEngine(Metering::kFuel, test::TempDir("aot-segs") + "/cache");
  ASSERT_TRUE(engine);
  std::vector<std::vector<uint8_t>> final_memory;
  for (Tier tier : {Tier::kAot, Tier::kInterp}) {
    SCOPED_TRACE(tier == Tier::kAot ? "aot" : "interp");
    auto m = engine->Compile(wasm, {.tier = tier});
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    auto created = Instance::Create(*m, Linker(), InstanceOptions{});
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Instance& inst = **created;
    std::span<uint8_t> mem = inst.memory();
    ASSERT_EQ(mem.size(), 65536u);

    // Every active segment at its place, overlaps in segment order.
    for (int i = 0; i < kSegments; ++i) {
      for (int k = 0; k < 4; ++k) {
        const bool over = i >= 100 && i < 110 && k >= 2;
        const uint8_t want = over ? SegByte(kSegments + (i - 100), k - 2) : SegByte(i, k);
        ASSERT_EQ(mem[8 * i + k], want) << "segment " << i << " byte " << k;
      }
      ASSERT_EQ(mem[8 * i + 4], i >= 100 && i < 110 ? SegByte(kSegments + (i - 100), 2) : 0);
      ASSERT_EQ(mem[8 * i + 5], i >= 100 && i < 110 ? SegByte(kSegments + (i - 100), 3) : 0);
    }
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&mem[50000]), 6), "active");

    // The passive segment copies until dropped.
    EXPECT_FALSE(Traps(inst, "init_pas", {Value::I32(60000), Value::I32(13)}));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&inst.memory()[60000]), 13),
              "PASSIVE-BYTES");
    EXPECT_TRUE(Traps(inst, "init_pas", {Value::I32(60000), Value::I32(14)}));  // past its end
    // The active segment was dropped by instantiation: only length 0 copies.
    EXPECT_FALSE(Traps(inst, "init_act", {Value::I32(61000), Value::I32(0)}));
    EXPECT_TRUE(Traps(inst, "init_act", {Value::I32(61000), Value::I32(1)}));
    EXPECT_FALSE(Traps(inst, "drop_act", {}));
    EXPECT_FALSE(Traps(inst, "drop_pas", {}));
    EXPECT_TRUE(Traps(inst, "init_pas", {Value::I32(62000), Value::I32(1)}));
    EXPECT_FALSE(Traps(inst, "init_pas", {Value::I32(62000), Value::I32(0)}));
    std::span<uint8_t> after = inst.memory();
    final_memory.emplace_back(after.begin(), after.end());
  }
  ASSERT_EQ(final_memory.size(), 2u);
  EXPECT_TRUE(final_memory[0] == final_memory[1]) << "memory differs between the tiers";
}

// The facade's path for WAT text (see FacadeInput in aot_test_util.h).
BackendInput FacadeInput(const std::string& wat, Metering metering = Metering::kFuel) {
  return aot_test::FacadeInput(test::Wat(wat), metering);
}

Result<aot::GeneratedModule> Generate(const BackendInput& in, const std::string& prefix) {
  aot::SplitHooks hooks;
  hooks.dir = test::TempDir(prefix);
  return aot::GenerateSplitC(in, "key", hooks);
}

TEST(AotSegmentsTest, WasmToCSeesOnlyTheSegmentsCodeNames) {
  BackendInput in = FacadeInput(SegmentsWat());
  ASSERT_TRUE(in.ir);
  ASSERT_EQ(in.ir->data_segments.size(), kSegments + 13u);
  auto g = Generate(in, "aot-segs-gen");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  // Every segment is in the blob, in index order.
  EXPECT_EQ(g->data_segments, kSegments + 13u);
  // wasm2c was handed the passive segment and the active one code names
  // (emptied: already dropped when code runs), no other.
  ASSERT_EQ(in.ir->data_segments.size(), 2u);
  EXPECT_EQ(in.ir->data_segments[0]->name, "$d" + std::to_string(kSegments + 11));
  EXPECT_EQ(in.ir->data_segments[1]->name, "$d" + std::to_string(kSegments + 12));
  EXPECT_TRUE(in.ir->data_segments[1]->data.empty());

  // The loads of the active segments are in init_memories, in order; the
  // segment bytes are not C.
  const std::string main = Slurp(g->main_path);
  size_t at = main.find("static void init_memories(");
  ASSERT_NE(at, std::string::npos);
  auto load = [](int i, int offset, int size) {
    return "  LOAD_DATA(instance->w2c_M0, " + std::to_string(offset) + "u, " +
           (size ? "data_segment_data_w2c_d" + std::to_string(i) : std::string("NULL")) + ", " +
           std::to_string(size) + ");\n";
  };
  std::vector<std::string> loads;
  for (int i = 0; i < kSegments; ++i) loads.push_back(load(i, 8 * i, 4));
  for (int i = 0; i < 10; ++i) loads.push_back(load(kSegments + i, 8 * (100 + i) + 2, 4));
  loads.push_back(load(kSegments + 10, 40000, 0));
  loads.push_back(load(kSegments + 12, 50000, 6));  // not the passive kSegments + 11
  for (const std::string& l : loads) {
    const size_t p = main.find(l, at);
    ASSERT_NE(p, std::string::npos) << l;
    at = p + l.size();
  }
  EXPECT_EQ(main.find("LOAD_DATA(", at), std::string::npos);
  EXPECT_EQ(main.find("static const u8 data_segment_data"), std::string::npos);
}

// An imported memory and an offset from an imported global: the engine's
// lines are the ones wasm2c 1.0.32 itself writes for this module (imports
// renamed "h"."f<i>" as the code generator does; no metering, which would
// add an import before them).
TEST(AotSegmentsTest, ImportedMemoryAndGlobalOffsetLoadAsWasm2cWrites) {
  BackendInput in = FacadeInput(R"((module
    (import "a" "mem" (memory 1))
    (import "a" "base" (global i32))
    (data (global.get 0) "abc")
    (data (i32.const 16) "defg")
    (func (export "f") (param i32)))
  )",
                                Metering::kNone);
  ASSERT_TRUE(in.ir);
  auto g = Generate(in, "aot-segs-import");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(in.ir->data_segments.empty());
  const std::string main = Slurp(g->main_path);
  EXPECT_NE(main.find("static void init_memories(Z_m_instance_t* instance) {\n"
                      "  LOAD_DATA((*instance->Z_hZ_f0), (*instance->Z_hZ_f1), "
                      "data_segment_data_w2c_d0, 3);\n"
                      "  LOAD_DATA((*instance->Z_hZ_f0), 16u, data_segment_data_w2c_d1, 4);\n}\n"),
            std::string::npos)
      << main.substr(main.find("static void init_memories"), 400);
}

}  // namespace
}  // namespace arcella::engine::aot_test
