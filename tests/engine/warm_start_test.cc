// Warm start: a module found in the AOT cache is made from its metadata
// record without decoding the wasm again (module_meta.h), and behaves exactly
// like the freshly compiled one. Bad records are discarded and the module is
// compiled normally.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "engine/aot/compiler.h"
#include "engine/engine.h"
#include "engine/module_meta.h"
#include "test_util.h"

namespace arcella::engine {
namespace {

constexpr const char* kWat = R"((module
  (import "env" "log" (func $log (param i32)))
  (memory (export "mem") 1 4)
  (table (export "tab") 2 funcref)
  (global $g (export "g") (mut i32) (i32.const 7))
  (global $started (export "started") (mut i32) (i32.const 0))
  (data (i32.const 16) "\2a\00\00\00hello")
  (elem (i32.const 0) $helper $load)
  (func $helper (param i32) (result i32)
    local.get 0 call $log
    unreachable)
  (func $boom (export "boom") (result i32) i32.const 5 call $helper)
  (func $load (export "load") (result i32)
    i32.const 16 i32.load global.get $g i32.add)
  (func $count (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    local.get $i)
  (func $init i32.const 1 global.set $started)
  (start $init))
)";

// Appends a name section naming function 1 ($helper; 0 is the import) so
// that trap messages carry a name only the name section knows.
std::vector<uint8_t> WithNameSection(std::vector<uint8_t> wasm) {
  const std::string name = "helper_that_traps";
  std::vector<uint8_t> sub = {1, 1};  // one entry: function index 1
  sub.push_back(static_cast<uint8_t>(name.size()));
  sub.insert(sub.end(), name.begin(), name.end());
  std::vector<uint8_t> content = {4, 'n', 'a', 'm', 'e', 1, static_cast<uint8_t>(sub.size())};
  content.insert(content.end(), sub.begin(), sub.end());
  wasm.push_back(0);
  wasm.push_back(static_cast<uint8_t>(content.size()));
  wasm.insert(wasm.end(), content.begin(), content.end());
  return wasm;
}

std::vector<std::string> Files(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > suffix.size() &&
          n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
        out.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  return out;
}

std::shared_ptr<Engine> MakeEngine(const std::string& dir, Metering metering = Metering::kFuel) {
  auto e = Engine::Create({.cache_dir = dir, .metering = metering});
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

std::string Describe(const ExternDesc& d) {
  return std::string(ExternKindName(d.kind)) + " " + d.func.ToString() + " " +
         std::to_string(d.limits.min) + "/" + std::to_string(d.limits.has_max) + "/" +
         std::to_string(d.limits.max) + " " + ValTypeName(d.value_type) + (d.mut ? " mut" : "");
}

// Everything a user can see of a module and of running it, as text.
std::string Observe(const std::shared_ptr<const Module>& m) {
  std::string s = std::string(TierName(m->tier())) + "\n";
  for (const auto& i : m->imports())
    s += "import " + i.module + "." + i.name + " " + Describe(i.desc) + "\n";
  for (const auto& e : m->exports()) s += "export " + e.name + " " + Describe(e.desc) + "\n";
  for (uint32_t i = 0; i < 7; ++i) s += "name " + m->FunctionName(i) + "\n";
  std::vector<int32_t> logged;
  Linker linker;
  linker.DefineFunc("env", "log", {{ValType::kI32}, {}},
                    [&](Caller&, std::span<const Value> args, std::span<Value>) {
                      logged.push_back(static_cast<int32_t>(args[0].i32));
                      return std::optional<Trap>();
                    });
  InstanceOptions options;
  if (m->metering() == Metering::kFuel) options.limits.fuel = 1'000'000;
  auto inst = Instance::Create(m, linker, options);
  if (!inst.ok()) return s + "instantiate: " + inst.status().ToString();
  for (const char* f : {"boom", "load"}) {
    auto out = (*inst)->Call(f, {});
    if (!out.ok()) return s + f + ": " + out.status().ToString();
    s += std::string(f) + " -> " +
         (out->ok() ? out->results[0].ToString() : "trap " + out->trap->ToString()) + "\n";
  }
  auto out = (*inst)->Call("count", std::vector<Value>{Value::I32(1000)});
  if (!out.ok() || !out->ok()) return s + "count failed";
  s += "count -> " + out->results[0].ToString() + " fuel used " +
       std::to_string((*inst)->fuel_consumed()) + "\n";
  for (const char* name : {"g", "started"}) {
    auto g = (*inst)->GetGlobal(name);
    s += std::string(name) + " = " + (g.ok() ? g->ToString() : g.status().ToString()) + "\n";
  }
  auto mem = (*inst)->memory();
  s += "mem " + std::to_string(mem.size()) + " " +
       (mem.size() > 25 ? std::string(reinterpret_cast<const char*>(mem.data() + 20), 5) : "") +
       "\n";
  for (int32_t v : logged) s += "logged " + std::to_string(v) + "\n";
  if (m->metering() == Metering::kFuel) {
    // Running out of fuel: where it stops is the exact count of the
    // instrumented code the instance runs.
    InstanceOptions small;
    small.limits.fuel = 777;
    auto starved = Instance::Create(m, linker, small);
    if (!starved.ok()) return s + "instantiate: " + starved.status().ToString();
    auto r = (*starved)->Call("count", std::vector<Value>{Value::I32(1000)});
    s += "starved: " +
         (!r.ok()   ? r.status().ToString()
          : r->ok() ? "finished"
                    : "trap " + r->trap->ToString()) +
         " after " + std::to_string((*starved)->fuel_consumed()) + "\n";
  }
  return s;
}

TEST(WarmStartTest, NewEngineOnTheSameCacheDoesNotDecodeAndRunsTheSame) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string dir = test::TempDir("warm") + "/cache";
  const auto wasm = WithNameSection(test::Wat(kWat));
  std::string cold_view;
  {
    auto engine = MakeEngine(dir);
    ASSERT_TRUE(engine);
    const uint64_t before = ModuleDecodeCount();
    auto m = engine->Compile(wasm, {.tier = Tier::kAot});
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(ModuleDecodeCount(), before + 1);
    cold_view = Observe(*m);
  }
  // (gcc may inline the helper into boom: either name is right.)
  EXPECT_NE(cold_view.find("boom -> trap unreachable in "), std::string::npos) << cold_view;
  EXPECT_NE(cold_view.find("load -> i32:49"), std::string::npos) << cold_view;
  EXPECT_NE(cold_view.find("logged 5"), std::string::npos) << cold_view;
  EXPECT_NE(cold_view.find("started = i32:1"), std::string::npos) << cold_view;
  EXPECT_NE(cold_view.find("starved: trap out of fuel"), std::string::npos) << cold_view;
  ASSERT_EQ(Files(dir, ".meta").size(), 1u);
  auto engine = MakeEngine(dir);
  ASSERT_TRUE(engine);
  const uint64_t before = ModuleDecodeCount();
  auto m = engine->Compile(wasm);  // kAuto finds the AOT record too
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(ModuleDecodeCount(), before) << "a warm compile decoded the module";
  EXPECT_EQ((*m)->tier(), Tier::kAot);
  EXPECT_EQ((*m)->FunctionName(1), "helper_that_traps");
  EXPECT_EQ((*m)->FunctionName(2), "boom");
  EXPECT_EQ(Observe(*m), cold_view);
}

// Compiles `wasm` in a fresh Engine on `dir`; returns what a user sees and
// sets `decoded` to whether the compile decoded the module.
std::string CompileFresh(const std::string& dir, const std::vector<uint8_t>& wasm, bool* decoded,
                         Metering metering = Metering::kFuel, Tier tier = Tier::kAot) {
  auto engine = MakeEngine(dir, metering);
  if (!engine) return "no engine";
  const uint64_t before = ModuleDecodeCount();
  auto m = engine->Compile(wasm, {.tier = tier});
  *decoded = ModuleDecodeCount() != before;
  if (!m.ok()) return m.status().ToString();
  return Observe(*m);
}

void FlipByte(const std::string& path, long at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(at);
  char c = 0;
  f.get(c);
  f.seekp(at);
  f.put(static_cast<char>(c ^ 0x5a));
}

TEST(WarmStartTest, CorruptRecordIsDiscardedAndTheModuleCompiledNormally) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string dir = test::TempDir("warm") + "/cache";
  const auto wasm = WithNameSection(test::Wat(kWat));
  bool decoded = false;
  const std::string cold = CompileFresh(dir, wasm, &decoded);
  EXPECT_TRUE(decoded);
  auto metas = Files(dir, ".meta");
  ASSERT_EQ(metas.size(), 1u);
  FlipByte(metas[0], 20);
  EXPECT_EQ(CompileFresh(dir, wasm, &decoded), cold);
  EXPECT_TRUE(decoded) << "a corrupt record was used";
  // The record was rewritten: the next Engine starts warm again.
  EXPECT_EQ(CompileFresh(dir, wasm, &decoded), cold);
  EXPECT_FALSE(decoded);
  // A truncated record too.
  metas = Files(dir, ".meta");
  ASSERT_EQ(metas.size(), 1u);
  ASSERT_EQ(truncate(metas[0].c_str(), 30), 0);
  EXPECT_EQ(CompileFresh(dir, wasm, &decoded), cold);
  EXPECT_TRUE(decoded);
}

TEST(WarmStartTest, ForeignRecordIsNotUsed) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string dir = test::TempDir("warm") + "/cache";
  const auto a = WithNameSection(test::Wat(kWat));
  const auto b = test::Wat(R"((module (func (export "load") (result i32) i32.const 99)))");
  bool decoded = false;
  const std::string a_view = CompileFresh(dir, a, &decoded);
  const auto a_meta = Files(dir, ".meta");
  ASSERT_EQ(a_meta.size(), 1u);
  const std::string b_view = CompileFresh(dir, b, &decoded);
  ASSERT_EQ(Files(dir, ".meta").size(), 2u);
  std::string b_meta;
  for (const auto& f : Files(dir, ".meta"))
    if (f != a_meta[0]) b_meta = f;
  // b's record (authenticated for b's key) under a's name.
  {
    std::ifstream src(b_meta, std::ios::binary);
    std::ofstream dst(a_meta[0], std::ios::binary | std::ios::trunc);
    dst << src.rdbuf();
  }
  EXPECT_EQ(CompileFresh(dir, a, &decoded), a_view);
  EXPECT_TRUE(decoded);
  EXPECT_EQ(CompileFresh(dir, b, &decoded), b_view);
  EXPECT_FALSE(decoded);
}

TEST(WarmStartTest, RecordWhoseCodeIsGoneCompilesAgain) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string dir = test::TempDir("warm") + "/cache";
  const auto wasm = WithNameSection(test::Wat(kWat));
  bool decoded = false;
  const std::string cold = CompileFresh(dir, wasm, &decoded);
  auto so = Files(dir, ".so");
  ASSERT_EQ(so.size(), 1u);
  // A corrupt code entry: rejected by its MAC in the memfd, rebuilt.
  FlipByte(so[0], 4000);
  EXPECT_EQ(CompileFresh(dir, wasm, &decoded), cold);
  EXPECT_TRUE(decoded);
  ASSERT_EQ(unlink(Files(dir, ".so")[0].c_str()), 0);
  EXPECT_EQ(CompileFresh(dir, wasm, &decoded), cold);
  EXPECT_TRUE(decoded);
  EXPECT_EQ(CompileFresh(dir, wasm, &decoded), cold);
  EXPECT_FALSE(decoded);
}

TEST(WarmStartTest, RecordsAreKeyedByMeteringAndOnlyForTheAotTier) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string dir = test::TempDir("warm") + "/cache";
  const auto wasm = test::Wat(R"((module (func (export "load") (result i32) i32.const 7)
    (func (export "boom") (result i32) unreachable)
    (func (export "count") (param i32) (result i32) local.get 0)))");
  bool decoded = false;
  CompileFresh(dir, wasm, &decoded, Metering::kFuel);
  EXPECT_TRUE(decoded);
  CompileFresh(dir, wasm, &decoded, Metering::kNone);
  EXPECT_TRUE(decoded) << "a record of another metering was used";
  CompileFresh(dir, wasm, &decoded, Metering::kNone);
  EXPECT_FALSE(decoded);
  // The interpreter tier always decodes (it has no cache).
  const std::string interp = CompileFresh(dir, wasm, &decoded, Metering::kFuel, Tier::kInterp);
  EXPECT_TRUE(decoded);
  EXPECT_EQ(interp.substr(0, 7), "interp\n");
  // A module kAuto puts on the interpreter (SIMD) gets no record.
  const size_t records = Files(dir, ".meta").size();
  auto engine = MakeEngine(dir);
  ASSERT_TRUE(engine);
  auto simd = engine->Compile(test::Wat(
      R"((module (func (export "v") (result i32) v128.const i32x4 1 2 3 4 i32x4.extract_lane 2)))"));
  ASSERT_TRUE(simd.ok()) << simd.status().ToString();
  EXPECT_EQ((*simd)->tier(), Tier::kInterp);
  EXPECT_EQ(Files(dir, ".meta").size(), records);
}

// A module importing a memory, a table and a global from another instance:
// both start warm and see the same shared state as when they were compiled.
TEST(WarmStartTest, ImportsOfEveryKindLinkTheSameWarm) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string dir = test::TempDir("warm") + "/cache";
  const auto lib = WithNameSection(test::Wat(kWat));
  const auto user = test::Wat(R"((module
    (import "lib" "mem" (memory 1))
    (import "lib" "tab" (table 2 funcref))
    (import "lib" "g" (global $g (mut i32)))
    (type $t (func (result i32)))
    (func (export "peek") (result i32) i32.const 16 i32.load global.get $g i32.add)
    (func (export "poke") i32.const 16 i32.const 100 i32.store i32.const 1 global.set $g)
    (func (export "via_table") (result i32) i32.const 1 call_indirect (type $t))))");
  auto run = [&](bool* decoded) -> std::string {
    auto engine = MakeEngine(dir);
    if (!engine) return "no engine";
    const uint64_t before = ModuleDecodeCount();
    auto lm = engine->Compile(lib, {.tier = Tier::kAot});
    auto um = engine->Compile(user, {.tier = Tier::kAot});
    *decoded = ModuleDecodeCount() != before;
    if (!lm.ok() || !um.ok()) return "compile failed";
    Linker base;
    base.DefineFunc("env", "log", {{ValType::kI32}, {}},
                    [](Caller&, std::span<const Value>, std::span<Value>) {
                      return std::optional<Trap>();
                    });
    auto li = Instance::Create(*lm, base, {});
    if (!li.ok()) return "lib: " + li.status().ToString();
    Linker linker;
    linker.DefineInstance("lib", *li);
    auto ui = Instance::Create(*um, linker, {});
    if (!ui.ok()) return "user: " + ui.status().ToString();
    std::string s;
    for (const char* f : {"peek", "via_table", "poke", "peek", "via_table"}) {
      auto out = (*ui)->Call(f, {});
      if (!out.ok() || !out->ok()) return s + f + " failed";
      s += std::string(f) + (out->results.empty() ? "" : " " + out->results[0].ToString()) + "\n";
    }
    auto load = (*li)->Call("load", {});  // the library sees the user's writes
    if (!load.ok() || !load->ok()) return s + "load failed";
    return s + "lib load " + load->results[0].ToString() + "\n";
  };
  bool decoded = false;
  const std::string cold = run(&decoded);
  EXPECT_TRUE(decoded);
  EXPECT_EQ(cold, "peek i32:49\nvia_table i32:49\npoke\npeek i32:101\nvia_table i32:101\n"
                  "lib load i32:101\n");
  EXPECT_EQ(run(&decoded), cold);
  EXPECT_FALSE(decoded) << "a warm compile decoded a module";
}

// Many threads, each with its own Engine on one cache folder, start the same
// module warm at once: no decode, and every one runs like the cold compile.
TEST(WarmStartTest, ConcurrentWarmLoadsFromManyThreads) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  const std::string dir = test::TempDir("warm") + "/cache";
  const auto wasm = WithNameSection(test::Wat(kWat));
  bool decoded = false;
  const std::string cold = CompileFresh(dir, wasm, &decoded);
  ASSERT_TRUE(decoded);
  const uint64_t before = ModuleDecodeCount();
  constexpr int kThreads = 8;
  std::vector<std::string> views(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto engine = MakeEngine(dir);
      if (!engine) return;
      auto m = engine->Compile(wasm, {.tier = Tier::kAot});
      views[t] = m.ok() ? Observe(*m) : m.status().ToString();
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ModuleDecodeCount(), before);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(views[t], cold) << "thread " << t;
}

// The record's name covers this build of the engine: a record another build
// wrote is never read (it is left alone), and this build writes its own.
TEST(WarmStartTest, RecordOfAnotherBuildIsIgnored) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  ASSERT_FALSE(aot::EngineBuildId().empty()) << "the test binary has no GNU build id";
  const std::string dir = test::TempDir("warm") + "/cache";
  const auto wasm = WithNameSection(test::Wat(kWat));
  bool decoded = false;
  const std::string cold = CompileFresh(dir, wasm, &decoded);
  CompileOptions options;
  options.cache_dir = dir;
  const std::string hash = Sha256Hex(std::span<const uint8_t>(wasm));
  const std::string ours = aot::MetaKey(hash, Metering::kFuel, options);
  const std::string theirs = aot::MetaKeyForBuild(hash, Metering::kFuel, options,
                                                  std::string(40, '0'));
  ASSERT_NE(ours, theirs);
  ASSERT_EQ(Files(dir, ".meta"), std::vector<std::string>{dir + "/" + ours + ".meta"});
  // Pretend the record came from another build.
  ASSERT_EQ(rename((dir + "/" + ours + ".meta").c_str(), (dir + "/" + theirs + ".meta").c_str()),
            0);
  EXPECT_EQ(CompileFresh(dir, wasm, &decoded), cold);
  EXPECT_TRUE(decoded) << "a record of another build was used";
  struct stat st;
  EXPECT_EQ(stat((dir + "/" + theirs + ".meta").c_str(), &st), 0);
  EXPECT_EQ(stat((dir + "/" + ours + ".meta").c_str(), &st), 0);
  EXPECT_EQ(CompileFresh(dir, wasm, &decoded), cold);
  EXPECT_FALSE(decoded);
}

// The record format: what is encoded decodes the same, and every truncation
// or changed byte is rejected or decodes to something well-formed (never a
// crash or an out-of-bounds read; ASan/UBSan builds check the latter).
TEST(WarmStartTest, RecordDecodingRejectsTruncationAndSurvivesCorruption) {
  ModuleMeta meta;
  meta.metering = Metering::kFuel;
  meta.imports = {{"env", "log", {}}};
  meta.imports[0].desc.kind = ExternKind::kFunc;
  meta.imports[0].desc.func = {{ValType::kI32}, {}};
  ExportDesc mem;
  mem.name = "mem";
  mem.desc.kind = ExternKind::kMemory;
  mem.desc.limits = {1, true, 4};
  meta.exports = {mem};
  meta.func_names = {"log", "helper", "boom"};
  meta.layout.imports = meta.imports;
  meta.layout.exports = meta.exports;
  meta.layout.exports.push_back(mem);
  meta.layout.exports.back().name = "fuel";
  meta.layout.func_shift = 1;
  meta.aot_key = std::string(64, 'a');
  const std::vector<uint8_t> bytes = EncodeModuleMeta(meta);
  ModuleMeta back;
  ASSERT_TRUE(DecodeModuleMeta(bytes, &back));
  EXPECT_EQ(EncodeModuleMeta(back), bytes);
  EXPECT_EQ(back.func_names, meta.func_names);
  EXPECT_EQ(back.aot_key, meta.aot_key);
  for (size_t n = 0; n < bytes.size(); ++n) {
    ModuleMeta out;
    EXPECT_FALSE(DecodeModuleMeta(std::span<const uint8_t>(bytes.data(), n), &out)) << n;
  }
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(DecodeModuleMeta(longer, &back));
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      auto bad = bytes;
      bad[i] ^= x;
      ModuleMeta out;
      if (DecodeModuleMeta(bad, &out)) {
        EXPECT_EQ(out.aot_key.size(), 64u);
        EXPECT_LE(out.imports.size(), out.layout.imports.size());
      }
    }
  }
}

}  // namespace
}  // namespace arcella::engine
