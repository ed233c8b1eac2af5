// Copy-on-write initial memory images (rt/image.c, rt/memory.c, aot/mem_image):
// contents, private writes, grow, pooling and reuse, traps, leaks, threads.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "aot_test_util.h"
#include "engine/rt/arcella_rt.h"

namespace arcella::engine::aot_test {
namespace {

// The /proc/self/maps line of the mapping containing `p` ("" if none).
std::string MappingOf(const void* p) {
  std::ifstream f("/proc/self/maps");
  std::string line;
  auto a = reinterpret_cast<uintptr_t>(p);
  while (std::getline(f, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash;
    std::istringstream ls(line);
    ls >> std::hex >> lo >> dash >> hi;
    if (a >= lo && a < hi) return line;
  }
  return "";
}

bool ImageBacked(InstanceBackend& inst) {
  return MappingOf(inst.DefaultMemory().data()).find("memfd:arcella-image") != std::string::npos;
}

size_t OpenFds() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (d != nullptr && readdir(d) != nullptr) ++n;
  if (d != nullptr) closedir(d);
  return n;
}

// Two pages; data in page 0 and across the page boundary; exports to read,
// write and grow.
const char* kCowWat = R"((module
  (memory (export "mem") 2 8)
  (data (i32.const 16) "hello")
  (data (i32.const 65534) "\aa\bb\cc\dd")
  (data (i32.const 16) "J")
  (data "passive, not in the image")
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "init") (param i32) (memory.init 3 (local.get 0) (i32.const 0) (i32.const 7)))
))";

class CowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    in_ = InputFor(test::Wat(kCowWat));
    auto m = CompileAot(in_, OptionsIn(cache_));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mod_ = *m;
  }
  uint32_t Load(InstanceBackend& i, uint32_t addr) {
    std::vector<Value> r(1);
    EXPECT_FALSE(i.Call(ExportIndex(in_, "load"), std::vector<Value>{Value::I32(addr)}, r));
    return r[0].i32;
  }
  void Store(InstanceBackend& i, uint32_t addr, uint32_t v) {
    EXPECT_FALSE(
        i.Call(ExportIndex(in_, "store"), std::vector<Value>{Value::I32(addr), Value::I32(v)}, {}));
  }
  // The module's initial contents, checked through the guest and the host view.
  void ExpectPristine(InstanceBackend& i) {
    auto mem = i.DefaultMemory();
    ASSERT_EQ(mem.size(), 2u * 65536);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(mem.data()) + 16, 5), "Jello");
    EXPECT_EQ(Load(i, 16), uint32_t{'J'});
    EXPECT_EQ(Load(i, 65534), 0xaau);
    EXPECT_EQ(Load(i, 65537), 0xddu);
    EXPECT_EQ(Load(i, 0), 0u);
    EXPECT_EQ(Load(i, 1000), 0u);
    EXPECT_EQ(Load(i, 2 * 65536 - 1), 0u);
    size_t nonzero = 0;
    for (uint8_t b : mem) nonzero += b != 0;
    EXPECT_EQ(nonzero, 9u);
  }

  std::string cache_ = test::TempDir("aot-cow-cache");
  BackendInput in_;
  std::shared_ptr<ModuleBackend> mod_;
};

TEST_F(CowTest, DataVisibleThroughAnImageMapping) {
  auto a = Inst(*mod_);
  ASSERT_TRUE(a);
  EXPECT_TRUE(ImageBacked(*a)) << MappingOf(a->DefaultMemory().data());
  ExpectPristine(*a);
}

TEST_F(CowTest, WritesArePrivatePerInstance) {
  auto a = Inst(*mod_), b = Inst(*mod_);
  ASSERT_TRUE(a && b);
  Store(*a, 16, 'A');
  Store(*b, 16, 'B');
  Store(*a, 5000, 1);   // a zero part of the image
  Store(*b, 65535, 7);  // the last byte of the image's first page
  EXPECT_EQ(Load(*a, 16), uint32_t{'A'});
  EXPECT_EQ(Load(*b, 16), uint32_t{'B'});
  EXPECT_EQ(Load(*a, 5000), 1u);
  EXPECT_EQ(Load(*b, 5000), 0u);
  EXPECT_EQ(Load(*a, 65535), 0xbbu);
  EXPECT_EQ(Load(*b, 65535), 7u);
  auto c = Inst(*mod_);
  ASSERT_TRUE(c);
  ExpectPristine(*c);
  // Freed memories go back to the pool; the next instance reuses one and must
  // see the image again, not the last instance's writes.
  a.reset();
  b.reset();
  for (int i = 0; i < 3; ++i) {
    auto d = Inst(*mod_);
    ASSERT_TRUE(d);
    ExpectPristine(*d);
    Store(*d, 17, 'x');
    Store(*d, 70000, 'y');
  }
  // memory.init of the passive segment still works over the image.
  ASSERT_FALSE(c->Call(ExportIndex(in_, "init"), std::vector<Value>{Value::I32(100)}, {}));
  EXPECT_EQ(Load(*c, 100), uint32_t{'p'});
}

TEST_F(CowTest, GrowPastTheImage) {
  std::vector<Value> r(1);
  uint32_t grow = ExportIndex(in_, "grow");
  {
    auto a = Inst(*mod_);
    ASSERT_TRUE(a);
    ASSERT_FALSE(a->Call(grow, std::vector<Value>{Value::I32(3)}, r));
    EXPECT_EQ(r[0].i32, 2u);
    EXPECT_EQ(a->DefaultMemory().size(), 5u * 65536);
    EXPECT_EQ(Load(*a, 3 * 65536), 0u);
    Store(*a, 3 * 65536, 9);
    Store(*a, 5 * 65536 - 1, 8);
    Store(*a, 16, 'Z');
    EXPECT_EQ(Load(*a, 3 * 65536), 9u);
    EXPECT_EQ(Load(*a, 5 * 65536 - 1), 8u);
    EXPECT_EQ(Load(*a, 65534), 0xaau);
    ASSERT_FALSE(a->Call(grow, std::vector<Value>{Value::I32(4)}, r));
    EXPECT_EQ(r[0].i32, 0xffffffffu);  // max 8
  }
  // The grown reservation is reused at the initial size: beyond it traps.
  auto b = Inst(*mod_);
  ASSERT_TRUE(b);
  ExpectPristine(*b);
  auto t = b->Call(ExportIndex(in_, "load"), std::vector<Value>{Value::I32(3 * 65536)}, r);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trap.kind, TrapKind::kMemoryOutOfBounds);
  ASSERT_FALSE(b->Call(grow, std::vector<Value>{Value::I32(1)}, r));
  EXPECT_EQ(Load(*b, 2 * 65536), 0u);
}

TEST_F(CowTest, ReusedByOtherModulesAsZeroMemory) {
  // Image-backed reservations are pooled; with the pool full of them, other
  // modules evict them: one without data must see zeros only, one with
  // another image its own data.
  auto plain = CompileWat(R"((module (memory 3)
    (func (export "sum") (result i32) (local i32 i32)
      (loop (local.set 1 (i32.add (local.get 1) (i32.load8_u (local.get 0))))
            (local.set 0 (i32.add (local.get 0) (i32.const 1)))
            (br_if 0 (i32.lt_u (local.get 0) (i32.const 196608))))
      (local.get 1))))",
                          cache_);
  auto other = CompileWat(R"((module (memory 1) (data (i32.const 16) "other")
    (func (export "get") (result i32) (i32.load8_u (i32.const 17)))))",
                          cache_);
  ASSERT_TRUE(plain && other);
  std::vector<Value> r(1);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<InstanceBackend>> mine;
    const size_t cap = arcella_rt_pool_capacity();
    for (size_t i = 0; i < cap + 6; ++i) {  // more than the pool holds
      mine.push_back(Inst(*mod_));
      Store(*mine.back(), 16, 'Q');
      Store(*mine.back(), 30000, 'Q');
    }
    mine.clear();
    EXPECT_EQ(arcella_rt_pooled_memories(), cap);
    for (int i = 0; i < 4; ++i) {
      auto p = Inst(*plain);
      ASSERT_TRUE(p);
      EXPECT_FALSE(ImageBacked(*p));
      ASSERT_FALSE(p->Call(0, {}, r));
      EXPECT_EQ(r[0].i32, 0u);
      auto o = Inst(*other);
      ASSERT_TRUE(o);
      EXPECT_TRUE(ImageBacked(*o));
      ASSERT_FALSE(o->Call(0, {}, r));
      EXPECT_EQ(r[0].i32, uint32_t{'t'});
      EXPECT_EQ(o->DefaultMemory()[30000], 0);
    }
  }
}

TEST_F(CowTest, LargeMemoryImageCoversOnlyTheData) {
  // 20 MiB initial: the image ends after the data (page 1); the rest of the
  // initial memory and grown pages are anonymous zero pages.
  const char* wat = R"((module (memory 320)
    (data (i32.const 65530) "edge!!")
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))))";
  BackendInput in = InputFor(test::Wat(wat));
  auto m = CompileAot(in, OptionsIn(cache_));
  ASSERT_TRUE(m.ok());
  std::vector<Value> r(1);
  for (int round = 0; round < 3; ++round) {
    auto i = Inst(**m);
    ASSERT_TRUE(i);
    auto mem = i->DefaultMemory();
    ASSERT_EQ(mem.size(), 320u * 65536);
    EXPECT_TRUE(ImageBacked(*i));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(mem.data()) + 65530, 6), "edge!!");
    EXPECT_EQ(mem[2 * 65536], 0);
    EXPECT_EQ(MappingOf(mem.data() + 10 * 65536).find("memfd"), std::string::npos);
    EXPECT_EQ(mem[319 * 65536 + 5], 0);
    ASSERT_FALSE(i->Call(ExportIndex(in, "store"),
                         std::vector<Value>{Value::I32(10 * 65536), Value::I32(3)}, {}));
    ASSERT_FALSE(i->Call(ExportIndex(in, "store"),
                         std::vector<Value>{Value::I32(65531), Value::I32(3)}, {}));
    ASSERT_FALSE(i->Call(ExportIndex(in, "grow"), std::vector<Value>{Value::I32(2)}, r));
    EXPECT_EQ(r[0].i32, 320u);
    ASSERT_FALSE(i->Call(ExportIndex(in, "load"), std::vector<Value>{Value::I32(321 * 65536)}, r));
    EXPECT_EQ(r[0].i32, 0u);
    auto t = i->Call(ExportIndex(in, "load"), std::vector<Value>{Value::I32(322 * 65536)}, r);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->trap.kind, TrapKind::kMemoryOutOfBounds);
  }
}

TEST_F(CowTest, OutOfBoundsActiveSegmentStillTraps) {
  for (const char* wat : {
           R"((module (memory 1) (data (i32.const 65535) "ab")))",
           R"((module (memory 1) (data (i32.const 0) "ok") (data (i32.const 65536) "x")))",
           R"((module (memory 0) (data (i32.const 1) "")))",
       }) {
    auto m = CompileWat(wat, cache_);
    ASSERT_TRUE(m);
    for (int i = 0; i < 2; ++i) {
      std::optional<BackendTrap> st;
      auto r = m->Instantiate({}, {}, nullptr, &st);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_TRUE(st.has_value()) << wat;
      EXPECT_EQ(st->trap.kind, TrapKind::kMemoryOutOfBounds) << wat;
    }
  }
  // In bounds at exactly the end: no trap (an empty segment at the end, too).
  auto m = CompileWat(
      R"((module (memory 1) (data (i32.const 65534) "ab") (data (i32.const 65536) "")))", cache_);
  ASSERT_TRUE(m);
  auto i = Inst(*m);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->DefaultMemory()[65535], 'b');
}

TEST_F(CowTest, MemoryCapStillRefusesTheInitialSize) {
  InstanceLimits tiny;
  tiny.max_memory_bytes = 65536;  // the module needs 2 pages
  std::optional<BackendTrap> st;
  EXPECT_FALSE(mod_->Instantiate({}, tiny, nullptr, &st).ok());
  auto a = Inst(*mod_);  // and the next one is fine
  ASSERT_TRUE(a);
  ExpectPristine(*a);
}

TEST_F(CowTest, ThreadsBuildTheImageOnce) {
  auto m = CompileAot(in_, OptionsIn(test::TempDir("aot-cow-threads")));  // a fresh object
  ASSERT_TRUE(m.ok());
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 6; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::optional<BackendTrap> st;
        auto r = (*m)->Instantiate({}, {}, nullptr, &st);
        if (!r.ok() || st) {
          ++bad;
          continue;
        }
        auto mem = (*r)->DefaultMemory();
        if (mem.size() != 2 * 65536 || mem[16] != 'J' || mem[65537] != 0xdd || mem[5000] != 0)
          ++bad;
        mem[16] = static_cast<uint8_t>(t);  // host writes are private too
        mem[5000] = 1;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(CowTest, ManyCyclesKeepAddressSpaceRssAndFdsFlat) {
  size_t live0 = arcella_rt_live_memories();
  auto cycle = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto inst = Inst(*mod_);
      ASSERT_TRUE(inst);
      ASSERT_EQ(Load(*inst, 16), uint32_t{'J'});
      Store(*inst, 16 + i % 4000, 1);      // copy one image page
      Store(*inst, 65536 + i % 60000, 2);  // and one of the second page
    }
  };
  cycle(1000);
  uint64_t vm0 = StatusKb("VmSize"), rss0 = StatusKb("VmRSS");
  cycle(20000);
  uint64_t vm1 = StatusKb("VmSize"), rss1 = StatusKb("VmRSS");
  EXPECT_EQ(arcella_rt_live_memories(), live0);
  EXPECT_LT(vm1, vm0 + 16 * 1024) << "VmSize grew from " << vm0 << " to " << vm1 << " KiB";
  EXPECT_LT(rss1, rss0 + 8 * 1024) << "VmRSS grew from " << rss0 << " to " << rss1 << " KiB";

  // Unloading modules closes their images' memfds.
  size_t fds0 = OpenFds();
  for (int k = 0; k < 20; ++k) {
    std::string wat = "(module (memory 1) (data (i32.const " + std::to_string(k) + ") \"k\"))";
    auto m = CompileWat(wat, cache_);
    ASSERT_TRUE(m);
    auto i = Inst(*m);
    ASSERT_TRUE(i);
    EXPECT_TRUE(ImageBacked(*i));
    EXPECT_EQ(i->DefaultMemory()[k], 'k');
  }
  EXPECT_EQ(OpenFds(), fds0);
}

}  // namespace
}  // namespace arcella::engine::aot_test
