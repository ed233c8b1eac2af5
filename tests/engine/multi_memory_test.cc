// Modules with several memories (the multi-memory proposal) on both tiers:
// data segments, loads/stores, memory.size/grow/fill/copy/init on memory 1,
// the per-memory cap, exports by name, imports of two memories (of one
// instance, of two instances sharing an interpreter store), fuel.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/tier_test.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

class MultiMemoryTest : public TierTest {};

constexpr const char* kTwoMemories = R"((module
  (memory $m0 (export "mem0") 1)
  (memory $m1 (export "mem1") 1)
  (data (memory $m0) (i32.const 16) "xy")
  (data (memory $m1) (i32.const 16) "hello")
  (data $later "LATE")
  (func (export "load0") (param i32) (result i32) (i32.load8_u $m0 (local.get 0)))
  (func (export "load1") (param i32) (result i32) (i32.load8_u $m1 (local.get 0)))
  (func (export "store1") (param i32 i32) (i32.store $m1 (local.get 0) (local.get 1)))
  (func (export "size0") (result i32) (memory.size $m0))
  (func (export "size1") (result i32) (memory.size $m1))
  (func (export "grow0") (param i32) (result i32) (memory.grow $m0 (local.get 0)))
  (func (export "grow1") (param i32) (result i32) (memory.grow $m1 (local.get 0)))
  (func (export "fill1") (param i32 i32 i32)
    (memory.fill $m1 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy1to0") (param i32 i32 i32)
    (memory.copy $m0 $m1 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init1") (param i32)
    (memory.init $m1 $later (local.get 0) (i32.const 0) (i32.const 4))))
)";

uint32_t CallI32(Instance& inst, const char* name, std::vector<Value> args = {}) {
  auto r = inst.Call(name, args);
  EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
  if (!r.ok()) return 0xdeadbeef;
  EXPECT_TRUE(r->ok()) << name << ": " << r->trap->ToString();
  if (!r->ok() || r->results.empty()) return 0xdeadbeef;
  return r->results[0].i32;
}

void CallVoid(Instance& inst, const char* name, std::vector<Value> args) {
  auto r = inst.Call(name, args);
  ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
  EXPECT_TRUE(r->ok()) << name << ": " << r->trap->ToString();
}

TEST_P(MultiMemoryTest, DataLoadStoreGrowOnMemoryOne) {
  auto m = Compile(kTwoMemories, Metering::kFuel);
  ASSERT_TRUE(m);
  InstanceOptions o;
  o.limits.fuel = 1'000'000;
  auto inst = Make(m, o);
  ASSERT_TRUE(inst);

  // Each data segment went into its own memory.
  EXPECT_EQ(CallI32(*inst, "load1", {Value::I32(16)}), uint32_t{'h'});
  EXPECT_EQ(CallI32(*inst, "load0", {Value::I32(16)}), uint32_t{'x'});
  EXPECT_EQ(CallI32(*inst, "load0", {Value::I32(18)}), 0u);
  EXPECT_EQ(CallI32(*inst, "load1", {Value::I32(18)}), uint32_t{'l'});

  // Memory 0 is memory(); memory 1 is readable by its export name.
  ASSERT_EQ(inst->memory().size(), 65536u);
  EXPECT_EQ(std::memcmp(inst->memory().data() + 16, "xy", 2), 0);
  auto mem1 = inst->ExportedMemory("mem1");
  ASSERT_TRUE(mem1.ok()) << mem1.status().ToString();
  ASSERT_EQ(mem1->size(), 65536u);
  EXPECT_EQ(std::memcmp(mem1->data() + 16, "hello", 5), 0);

  // A store into memory 1 shows there and nowhere in memory 0.
  CallVoid(*inst, "store1", {Value::I32(100), Value::I32(0x04030201)});
  EXPECT_EQ(CallI32(*inst, "load1", {Value::I32(101)}), 2u);
  EXPECT_EQ(CallI32(*inst, "load0", {Value::I32(101)}), 0u);
  EXPECT_EQ((*inst->ExportedMemory("mem1"))[103], 4u);

  // Bulk memory on memory 1: fill, init from a passive segment, copy to memory 0.
  CallVoid(*inst, "fill1", {Value::I32(200), Value::I32(0x7a), Value::I32(3)});
  CallVoid(*inst, "init1", {Value::I32(300)});
  CallVoid(*inst, "copy1to0", {Value::I32(400), Value::I32(300), Value::I32(4)});
  EXPECT_EQ(CallI32(*inst, "load1", {Value::I32(202)}), 0x7au);
  EXPECT_EQ(CallI32(*inst, "load1", {Value::I32(203)}), 0u);
  EXPECT_EQ(std::memcmp(mem1->data() + 300, "LATE", 4), 0);
  EXPECT_EQ(std::memcmp(inst->memory().data() + 400, "LATE", 4), 0);

  // Growing memory 1 leaves memory 0 as it was.
  EXPECT_EQ(CallI32(*inst, "grow1", {Value::I32(2)}), 1u);
  EXPECT_EQ(CallI32(*inst, "size1"), 3u);
  EXPECT_EQ(CallI32(*inst, "size0"), 1u);
  EXPECT_EQ(inst->memory().size(), 65536u);
  EXPECT_EQ(inst->ExportedMemory("mem1")->size(), 3u * 65536);
  // Out of bounds of memory 1 traps even though the address is in range of nothing else.
  auto r = inst->Call("load1", std::vector<Value>{Value::I32(3 * 65536)});
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->trap->kind, TrapKind::kMemoryOutOfBounds) << r->trap->ToString();
  EXPECT_GT(inst->fuel_consumed(), 0u);
}

TEST_P(MultiMemoryTest, CapAppliesToEachMemory) {
  auto m = Compile(kTwoMemories);
  ASSERT_TRUE(m);
  InstanceOptions o;
  o.limits.max_memory_bytes = 4 * 65536;  // 4 pages for each memory
  auto inst = Make(m, o);
  ASSERT_TRUE(inst);
  EXPECT_EQ(CallI32(*inst, "grow1", {Value::I32(3)}), 1u);
  EXPECT_EQ(CallI32(*inst, "grow1", {Value::I32(1)}), 0xffffffffu);  // memory 1 at its cap
  EXPECT_EQ(CallI32(*inst, "size1"), 4u);
  // Memory 0 has a cap of its own, not what memory 1 left over.
  EXPECT_EQ(CallI32(*inst, "grow0", {Value::I32(3)}), 1u);
  EXPECT_EQ(CallI32(*inst, "grow0", {Value::I32(1)}), 0xffffffffu);
  EXPECT_EQ(inst->memory().size(), 4u * 65536);
  EXPECT_EQ(inst->ExportedMemory("mem1")->size(), 4u * 65536);

  // A second memory whose initial size is above the cap fails instantiation.
  auto big = Compile(R"((module (memory 1) (memory 5)))");
  ASSERT_TRUE(big);
  auto failed = Instance::Create(big, Linker(), o);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("memory 1 needs 327680 bytes initially"),
            std::string::npos)
      << failed.status().message();
}

TEST_P(MultiMemoryTest, ImportsBothMemoriesOfAnInstance) {
  auto exporter = Make(Compile(kTwoMemories));
  ASSERT_TRUE(exporter);
  auto m = Compile(R"((module
    (memory $a (import "lib" "mem0") 1)
    (memory $b (import "lib" "mem1") 1)
    (func (export "sum") (param i32) (result i32)
      (i32.add (i32.load8_u $a (local.get 0)) (i32.load8_u $b (local.get 0))))
    (func (export "put1") (param i32 i32) (i32.store8 $b (local.get 0) (local.get 1)))))");
  ASSERT_TRUE(m);
  Linker linker;
  linker.DefineInstance("lib", exporter);
  auto importer = Make(m, {}, linker);
  ASSERT_TRUE(importer);
  EXPECT_EQ(CallI32(*importer, "sum", {Value::I32(16)}), uint32_t{'x' + 'h'});
  CallVoid(*importer, "put1", {Value::I32(500), Value::I32(9)});
  EXPECT_EQ(CallI32(*exporter, "load1", {Value::I32(500)}), 9u);
  EXPECT_EQ(CallI32(*exporter, "load0", {Value::I32(500)}), 0u);
}

// One module imports a memory from each of two instances. On the
// interpreter the two must share a store: the second is made with store_with.
TEST_P(MultiMemoryTest, ImportsMemoriesOfTwoInstances) {
  auto provider = Compile(R"((module (memory (export "mem") 1)
    (func (export "peek") (result i32) (i32.load8_u (i32.const 0)))))");
  ASSERT_TRUE(provider);
  auto p1 = Make(provider);
  ASSERT_TRUE(p1);
  InstanceOptions with_p1;
  with_p1.store_with = p1.get();
  auto p2 = Make(provider, with_p1);
  ASSERT_TRUE(p2);
  auto m = Compile(R"((module
    (memory $a (import "p1" "mem") 1)
    (memory $b (import "p2" "mem") 1)
    (func (export "poke") (param i32 i32)
      (i32.store8 $a (i32.const 0) (local.get 0))
      (i32.store8 $b (i32.const 0) (local.get 1)))))");
  ASSERT_TRUE(m);
  Linker linker;
  linker.DefineInstance("p1", p1);
  linker.DefineInstance("p2", p2);
  auto importer = Make(m, {}, linker);
  ASSERT_TRUE(importer);
  CallVoid(*importer, "poke", {Value::I32(5), Value::I32(7)});
  EXPECT_EQ(CallI32(*p1, "peek"), 5u);
  EXPECT_EQ(CallI32(*p2, "peek"), 7u);

  if (GetParam() != Tier::kInterp) return;
  // Without store_with, the interpreter names the import it cannot link.
  auto p3 = Make(provider);
  ASSERT_TRUE(p3);
  Linker apart;
  apart.DefineInstance("p1", p1);
  apart.DefineInstance("p2", p3);
  auto refused = Instance::Create(m, apart, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("(p2.mem)"), std::string::npos)
      << refused.status().message();
}

INSTANTIATE_TEST_SUITE_P(Tiers, MultiMemoryTest, ::testing::Values(Tier::kAot, Tier::kInterp),
                         [](const auto& info) { return std::string(TierName(info.param)); });

}  // namespace
}  // namespace arcella::engine
