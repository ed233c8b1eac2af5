// AOT runtime: threads, traps under load, resource limits, leaks, nesting.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "aot_test_util.h"
#include "engine/rt/arcella_rt.h"

namespace arcella::engine::aot_test {
namespace {

class RuntimeTest : public ::testing::Test {
 protected:
  std::string cache_ = test::TempDir("aot-rt-cache");
};

const char* kTrapWat = R"((module
  (memory 1)
  (func (export "oob") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 7) (local.get 0)))
  (func (export "unreach") unreachable)
  (func $r (export "rec") (result i32) (i32.add (call $r) (i32.const 1)))
  (func (export "ok") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
))";

TEST_F(RuntimeTest, EightThreadsThousandsOfTraps) {
  BackendInput in = InputFor(test::Wat(kTrapWat));
  auto mod = CompileAot(in, OptionsIn(cache_));
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  std::atomic<int> wrong{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      InstanceLimits lim;
      lim.max_stack_depth = 200 + 50 * t;
      std::optional<BackendTrap> st;
      auto inst = (*mod)->Instantiate({}, lim, nullptr, &st);
      if (!inst.ok()) {
        wrong += 1000;
        return;
      }
      std::vector<Value> r(1);
      for (int i = 0; i < 3000; ++i) {
        int which = (i + t) % 5;
        std::optional<BackendTrap> trap;
        TrapKind want = TrapKind::kNone;
        switch (which) {
          case 0:
            trap = (*inst)->Call(0, std::vector<Value>{Value::I32(65536 + i)}, r);
            want = TrapKind::kMemoryOutOfBounds;
            break;
          case 1:
            trap = (*inst)->Call(1, std::vector<Value>{Value::I32(0)}, r);
            want = TrapKind::kIntegerDivideByZero;
            break;
          case 2:
            trap = (*inst)->Call(2, {}, {});
            want = TrapKind::kUnreachable;
            break;
          case 3:
            trap = (*inst)->Call(3, {}, r);
            want = TrapKind::kStackExhausted;
            break;
          case 4:
            trap = (*inst)->Call(4, std::vector<Value>{Value::I32(i)}, r);
            if (trap || r[0].i32 != static_cast<uint32_t>(i + 1)) ++wrong;
            continue;
        }
        if (!trap || trap->trap.kind != want) ++wrong;
        ++done;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(done.load(), 8 * 3000 * 4 / 5);
}

TEST_F(RuntimeTest, MemoryAndTableCapsHonoured) {
  std::string wat = R"((module
    (memory (export "mem") 1)
    (table 1 externref)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "tgrow") (param i32) (result i32) (table.grow 0 (ref.null extern) (local.get 0)))
    (func (export "store") (param i32) (i32.store8 (local.get 0) (i32.const 1)))
  ))";
  BackendInput in = InputFor(test::Wat(wat));
  auto mod = CompileAot(in, OptionsIn(cache_));
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  InstanceLimits lim;
  lim.max_memory_bytes = 4 * 65536;
  lim.max_table_elements = 10;
  auto inst = Inst(**mod, {}, lim);
  uint32_t grow = ExportIndex(in, "grow"), tgrow = ExportIndex(in, "tgrow"),
           store = ExportIndex(in, "store");
  std::vector<Value> r(1);
  ASSERT_FALSE(inst->Call(grow, std::vector<Value>{Value::I32(2)}, r));
  EXPECT_EQ(r[0].i32, 1u);
  ASSERT_FALSE(inst->Call(grow, std::vector<Value>{Value::I32(2)}, r));
  EXPECT_EQ(r[0].i32, 0xffffffffu);  // 5 pages > cap
  ASSERT_FALSE(inst->Call(grow, std::vector<Value>{Value::I32(1)}, r));
  EXPECT_EQ(r[0].i32, 3u);
  EXPECT_EQ(inst->DefaultMemory().size(), 4u * 65536);
  EXPECT_FALSE(inst->Call(store, std::vector<Value>{Value::I32(4 * 65536 - 1)}, {}));
  auto t = inst->Call(store, std::vector<Value>{Value::I32(4 * 65536)}, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kMemoryOutOfBounds);
  ASSERT_FALSE(inst->Call(tgrow, std::vector<Value>{Value::I32(9)}, r));
  EXPECT_EQ(r[0].i32, 1u);
  ASSERT_FALSE(inst->Call(tgrow, std::vector<Value>{Value::I32(1)}, r));
  EXPECT_EQ(r[0].i32, 0xffffffffu);
  // A memory bomb without a cap stops at the 4 GiB architectural limit.
  auto free_inst = Inst(**mod);
  ASSERT_FALSE(free_inst->Call(grow, std::vector<Value>{Value::I32(65536)}, r));
  EXPECT_EQ(r[0].i32, 0xffffffffu);
  // Initial memory above the cap: instantiation fails cleanly.
  InstanceLimits tiny;
  tiny.max_memory_bytes = 1000;
  std::optional<BackendTrap> st;
  EXPECT_FALSE((*mod)->Instantiate({}, tiny, nullptr, &st).ok());
}

TEST_F(RuntimeTest, TwentyThousandInstancesKeepAddressSpaceFlat) {
  std::string wat = R"((module
    (memory 1)
    (table 4 funcref)
    (data (i32.const 16) "hello")
    (func (export "get") (result i32) (i32.load8_u (i32.const 16)))
  ))";
  auto mod = CompileWat(wat, cache_);
  ASSERT_TRUE(mod);
  size_t live0 = arcella_rt_live_memories();
  auto cycle = [&](int n) {
    std::vector<Value> r(1);
    for (int i = 0; i < n; ++i) {
      auto inst = Inst(*mod);
      ASSERT_TRUE(inst);
      ASSERT_FALSE(inst->Call(0, {}, r));
      ASSERT_EQ(r[0].i32, static_cast<uint32_t>('h'));
    }
  };
  cycle(1000);  // warm up allocators
  uint64_t vm0 = StatusKb("VmSize"), rss0 = StatusKb("VmRSS");
  cycle(20000);
  uint64_t vm1 = StatusKb("VmSize"), rss1 = StatusKb("VmRSS");
  EXPECT_EQ(arcella_rt_live_memories(), live0);
  EXPECT_LT(vm1, vm0 + 16 * 1024) << "VmSize grew from " << vm0 << " to " << vm1 << " KiB";
  EXPECT_LT(rss1, rss0 + 8 * 1024) << "VmRSS grew from " << rss0 << " to " << rss1 << " KiB";
}

TEST_F(RuntimeTest, NestedHostCallsAndTrapsInside) {
  std::string wat = R"((module
    (import "env" "cb" (func $cb (param i32) (result i32)))
    (func (export "outer") (param i32) (result i32) (i32.add (call $cb (local.get 0)) (i32.const 100)))
    (func (export "inner") (param i32) (result i32) (i32.div_u (i32.const 10) (local.get 0)))
  ))";
  BackendInput in = InputFor(test::Wat(wat));
  auto mod = CompileAot(in, OptionsIn(cache_));
  ASSERT_TRUE(mod.ok());
  InstanceBackend* self = nullptr;
  std::optional<BackendTrap> inner_trap;
  HostFunc cb = [&](Caller&, std::span<const Value> a, std::span<Value> r) -> std::optional<Trap> {
    std::vector<Value> out(1);
    inner_trap = self->Call(1, a, out);  // re-enters wasm on this thread
    r[0] = Value::I32(inner_trap ? 7 : out[0].i32);
    return std::nullopt;
  };
  std::vector<BoundImport> b(1);
  b[0].fn = &cb;
  auto inst = Inst(**mod, b);
  self = inst.get();
  std::vector<Value> r(1);
  ASSERT_FALSE(inst->Call(0, std::vector<Value>{Value::I32(2)}, r));
  EXPECT_EQ(r[0].i32, 105u);
  EXPECT_FALSE(inner_trap);
  ASSERT_FALSE(inst->Call(0, std::vector<Value>{Value::I32(0)}, r));  // inner traps, outer goes on
  EXPECT_EQ(r[0].i32, 107u);
  ASSERT_TRUE(inner_trap);
  EXPECT_EQ(inner_trap->trap.kind, TrapKind::kIntegerDivideByZero);
}

TEST_F(RuntimeTest, FaultsOutsideWasmAreNotClaimed) {
  auto mod = CompileWat(kTrapWat, cache_);
  ASSERT_TRUE(mod);
  auto inst = Inst(*mod);
  std::vector<Value> r(1);
  ASSERT_TRUE(inst->Call(0, std::vector<Value>{Value::I32(1u << 31)}, r));  // handler installed
  EXPECT_DEATH(
      {
        volatile int* p = nullptr;
        *p = 1;
      },
      "");
}

}  // namespace
}  // namespace arcella::engine::aot_test
