// Portable code: a compiled Module exported as a sealed memory file (plus
// its metadata record) and adopted by another Engine without a cache folder,
// in this process and in a forked child, on both tiers. The adopted module
// runs exactly as the original; bad hand-overs are refused with errors that
// say what is wrong.
#include "engine/portable_code.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "engine/engine.h"
#include "engine/module_meta.h"
#include "test_util.h"

namespace arcella::engine {
namespace portable_code_test {

constexpr const char* kWat = R"((module
  (import "env" "log" (func $log (param i32)))
  (memory (export "mem") 1 8)
  (global $g (export "g") (mut i32) (i32.const 7))
  (data (i32.const 16) "\2a\00\00\00hello")
  (func $helper_that_traps (param i32) (result i32)
    local.get 0 call $log
    unreachable)
  (func $boom (export "boom") (result i32) i32.const 5 call $helper_that_traps)
  (func $load (export "load") (result i32)
    i32.const 16 i32.load global.get $g i32.add)
  (func $count (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    local.get $i)
  (func $grow (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func $spin (export "spin") (loop $l br $l)))
)";

// Another module: its AOT object answers to another cache key.
constexpr const char* kOtherWat = R"((module
  (func (export "seven") (result i32) i32.const 7))
)";

constexpr int kAllSeals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;

std::shared_ptr<Engine> MakeEngine(const std::string& cache_dir,
                                   Metering metering = Metering::kFuel) {
  auto e = Engine::Create({.cache_dir = cache_dir, .metering = metering});
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

// An engine with an AOT tier on a cache folder shared by this file's tests.
std::shared_ptr<Engine> AotEngine() {
  static const std::string dir = test::TempDir("portable") + "/cache";
  return MakeEngine(dir);
}

std::string Outcome(const Result<CallOutcome>& r) {
  if (!r.ok()) return r.status().ToString();
  return r->ok() ? (r->results.empty() ? "ok" : r->results[0].ToString())
                 : "trap " + r->trap->ToString();
}

// Everything a user can see of a module and of running it, as text: exports,
// names, results, host calls, traps with function names, fuel counts, running
// out of fuel, Interrupt(), a deadline and the memory cap.
std::string Observe(const std::shared_ptr<const Module>& m) {
  std::string s = std::string(TierName(m->tier())) + " " + m->hash() + "\n";
  for (const auto& i : m->imports()) s += "import " + i.module + "." + i.name + "\n";
  for (const auto& e : m->exports())
    s += "export " + e.name + " " + ExternKindName(e.desc.kind) + "\n";
  for (uint32_t i = 0; i < 7; ++i) s += "name " + m->FunctionName(i) + "\n";
  std::vector<int32_t> logged;
  Linker linker;
  linker.DefineFunc("env", "log", {{ValType::kI32}, {}},
                    [&](Caller&, std::span<const Value> args, std::span<Value>) {
                      logged.push_back(static_cast<int32_t>(args[0].i32));
                      return std::optional<Trap>();
                    });
  InstanceOptions options;
  options.limits.fuel = 1'000'000;
  options.limits.max_memory_bytes = 2 * 65536;
  auto inst = Instance::Create(m, linker, options);
  if (!inst.ok()) return s + "instantiate: " + inst.status().ToString();
  Instance& in = **inst;
  s += "boom -> " + Outcome(in.Call("boom", {})) + "\n";
  s += "load -> " + Outcome(in.Call("load", {})) + "\n";
  s += "count -> " + Outcome(in.Call("count", std::vector<Value>{Value::I32(1000)}));
  s += " fuel used " + std::to_string(in.fuel_consumed()) + " left " + std::to_string(in.fuel()) +
       "\n";
  for (int i = 0; i < 2; ++i)
    s += "grow 1 -> " + Outcome(in.Call("grow", std::vector<Value>{Value::I32(1)})) + "\n";
  s += "memory " + std::to_string(in.memory().size()) + "\n";
  for (int32_t v : logged) s += "logged " + std::to_string(v) + "\n";
  in.Interrupt();
  s += "interrupted count -> " + Outcome(in.Call("count", std::vector<Value>{Value::I32(10)})) +
       "\n";
  s += "count again -> " + Outcome(in.Call("count", std::vector<Value>{Value::I32(10)})) + "\n";
  // Out of fuel: where it stops is the exact count of the code it runs.
  InstanceOptions small;
  small.limits.fuel = 777;
  auto starved = Instance::Create(m, linker, small);
  if (!starved.ok()) return s + "instantiate: " + starved.status().ToString();
  s += "starved -> " + Outcome((*starved)->Call("count", std::vector<Value>{Value::I32(1000)}));
  s += " with " + std::to_string((*starved)->fuel()) + " left\n";
  InstanceOptions timed;
  timed.limits.deadline = std::chrono::milliseconds(20);
  auto spinner = Instance::Create(m, linker, timed);
  if (!spinner.ok()) return s + "instantiate: " + spinner.status().ToString();
  s += "spin -> " + Outcome((*spinner)->Call("spin", {})) + "\n";
  return s;
}

int Seals(int fd) { return fcntl(fd, F_GET_SEALS); }

// The code of `wasm` compiled on `tier` by `engine`, exported.
PortableCode Export(const std::shared_ptr<Engine>& engine, const std::vector<uint8_t>& wasm,
                    Tier tier, std::shared_ptr<const Module>* module = nullptr) {
  auto m = engine->Compile(wasm, {.tier = tier});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (!m.ok()) return {};
  if (module != nullptr) *module = *m;
  auto code = ExportCode(**m, wasm);
  EXPECT_TRUE(code.ok()) << code.status().ToString();
  return code.ok() ? std::move(code).value() : PortableCode{};
}

// Runs `body` in a forked child that has moved to "/"; returns what it
// wrote to the pipe, and its exit status through `status`.
std::string InChild(const std::function<std::string()>& body, int* status) {
  int p[2];
  EXPECT_EQ(pipe(p), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    int rc = 3;
    if (chdir("/") == 0) {
      const std::string out = body();
      size_t done = 0;
      while (done < out.size()) {
        ssize_t n = write(p[1], out.data() + done, out.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      rc = done == out.size() ? 0 : 4;
    }
    close(p[1]);
    _exit(rc);
  }
  close(p[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  close(p[0]);
  EXPECT_EQ(waitpid(pid, status, 0), pid);
  return got;
}

class PortableCodeTest : public ::testing::TestWithParam<Tier> {
 protected:
  void SetUp() override {
    if (GetParam() == Tier::kAot && !AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  }
};

TEST_P(PortableCodeTest, AdoptedByAnEngineWithoutCacheRunsTheSame) {
  const auto wasm = test::Wat(kWat);
  auto source = AotEngine();
  ASSERT_TRUE(source);
  std::shared_ptr<const Module> original;
  PortableCode code = Export(source, wasm, GetParam(), &original);
  ASSERT_TRUE(code.fd);
  EXPECT_EQ(code.tier, GetParam());
  EXPECT_EQ(code.hash, Sha256Hex(std::span<const uint8_t>(wasm)));
  EXPECT_EQ(Seals(code.fd.get()) & kAllSeals, kAllSeals);
  EXPECT_EQ(code.meta.empty(), GetParam() == Tier::kInterp);

  auto worker = MakeEngine("");
  ASSERT_TRUE(worker);
  EXPECT_FALSE(worker->AotAvailable());
  const uint64_t decoded = ModuleDecodeCount();
  auto adopted = AdoptCode(worker, std::move(code));
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  // The AOT code is loaded, not compiled: nothing decoded the wasm.
  EXPECT_EQ(ModuleDecodeCount() - decoded, GetParam() == Tier::kAot ? 0u : 1u);
  EXPECT_EQ((*adopted)->tier(), GetParam());
  EXPECT_EQ((*adopted)->engine(), worker);
  EXPECT_NE(adopted->get(), original.get());
  const std::string view = Observe(original);
  EXPECT_NE(view.find("boom -> trap unreachable in helper_that_traps"), std::string::npos) << view;
  EXPECT_NE(view.find("load -> i32:49"), std::string::npos) << view;
  EXPECT_NE(view.find("count -> i32:1000 fuel used 7010 left 992990"), std::string::npos) << view;
  EXPECT_NE(view.find("logged 5"), std::string::npos) << view;
  EXPECT_NE(view.find("grow 1 -> i32:1\ngrow 1 -> i32:-1"), std::string::npos) << view;
  EXPECT_NE(view.find("interrupted count -> trap interrupted"), std::string::npos) << view;
  EXPECT_NE(view.find("count again -> i32:10"), std::string::npos) << view;
  EXPECT_NE(view.find("starved -> trap out of fuel"), std::string::npos) << view;
  EXPECT_NE(view.find("spin -> trap deadline"), std::string::npos) << view;
  EXPECT_EQ(Observe(*adopted), view);

  // Its instances charge the adopting engine's memory budget.
  worker->SetMemoryBudget(65536);
  {
    Linker linker;
    linker.DefineFunc("env", "log", {{ValType::kI32}, {}},
                      [](Caller&, std::span<const Value>, std::span<Value>) {
                        return std::optional<Trap>();
                      });
    auto inst = Instance::Create(*adopted, linker, {});
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    EXPECT_EQ(worker->memory_in_use(), 65536u);
    EXPECT_EQ(Outcome((*inst)->Call("grow", std::vector<Value>{Value::I32(1)})), "i32:-1");
  }
  EXPECT_EQ(worker->memory_in_use(), 0u);

  // The same code handed over again: the registry's Module.
  auto again = AdoptCode(worker, Export(source, wasm, GetParam()));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->get(), adopted->get());
  EXPECT_EQ(worker->registry_size(), 1u);
}

TEST_P(PortableCodeTest, AdoptedInAForkedChildWithoutTheCacheFolder) {
  const auto wasm = test::Wat(kWat);
  // A cache folder of this test's own, removed before the code is exported
  // (ExportCode copies the loaded object) and before the child adopts it.
  const std::string root = test::TempDir("portable-fork");
  std::string view;
  PortableCode code;
  {
    auto source = MakeEngine(root + "/cache");
    ASSERT_TRUE(source);
    auto original = source->Compile(wasm, {.tier = GetParam()});
    ASSERT_TRUE(original.ok()) << original.status().ToString();
    std::filesystem::remove_all(root);
    ASSERT_FALSE(std::filesystem::exists(root));
    auto exported = ExportCode(**original, wasm);
    ASSERT_TRUE(exported.ok()) << exported.status().ToString();
    code = std::move(exported).value();
    view = Observe(*original);
  }
  int status = 0;
  const std::string got = InChild(
      [&] {
        auto worker = Engine::Create({.cache_dir = ""});
        if (!worker.ok()) return "engine: " + worker.status().ToString();
        auto m = AdoptCode(*worker, std::move(code));
        if (!m.ok()) return "adopt: " + m.status().ToString();
        return Observe(*m);
      },
      &status);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(got, view);
  EXPECT_FALSE(std::filesystem::exists(root)) << "the child recreated the cache folder";
}

TEST_P(PortableCodeTest, ConcurrentAdoptionsShareOneModule) {
  const auto wasm = test::Wat(kWat);
  auto source = AotEngine();
  ASSERT_TRUE(source);
  auto worker = MakeEngine("");
  ASSERT_TRUE(worker);
  std::vector<PortableCode> codes;
  for (int i = 0; i < 4; ++i) codes.push_back(Export(source, wasm, GetParam()));
  std::vector<std::shared_ptr<const Module>> got(codes.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < codes.size(); ++i)
    threads.emplace_back([&, i] {
      auto m = AdoptCode(worker, std::move(codes[i]));
      EXPECT_TRUE(m.ok()) << m.status().ToString();
      if (m.ok()) got[i] = *m;
    });
  for (auto& t : threads) t.join();
  for (const auto& m : got) EXPECT_EQ(m.get(), got[0].get());
  EXPECT_EQ(worker->registry_size(), 1u);
}

TEST_P(PortableCodeTest, MeteringOtherThanTheEnginesIsRefused) {
  auto source = AotEngine();
  ASSERT_TRUE(source);
  auto worker = MakeEngine("", Metering::kNone);
  ASSERT_TRUE(worker);
  auto m = AdoptCode(worker, Export(source, test::Wat(kWat), GetParam()));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("metering fuel but the engine meters none"),
            std::string::npos)
      << m.status().ToString();
}

TEST_P(PortableCodeTest, DescriptorsThatAreNotSealedMemoryFilesAreRefused) {
  const auto wasm = test::Wat(kWat);
  auto source = AotEngine();
  ASSERT_TRUE(source);
  auto worker = MakeEngine("");
  ASSERT_TRUE(worker);
  const PortableCode good = Export(source, wasm, GetParam());
  auto with_fd = [&](int fd) {
    PortableCode c;
    c.tier = good.tier;
    c.metering = good.metering;
    c.hash = good.hash;
    c.meta = good.meta;
    c.fd = UniqueFd(fd);
    return AdoptCode(worker, std::move(c));
  };
  auto refused = [](const Result<std::shared_ptr<const Module>>& r, const std::string& what) {
    EXPECT_FALSE(r.ok());
    if (r.ok()) return;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().ToString();
  };
  // A regular file with the same bytes.
  const std::string path = test::TempDir("portable-file") + "/code";
  {
    std::vector<uint8_t> bytes(static_cast<size_t>(lseek(good.fd.get(), 0, SEEK_END)));
    ASSERT_EQ(pread(good.fd.get(), bytes.data(), bytes.size(), 0),
              static_cast<ssize_t>(bytes.size()));
    FILE* f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fwrite(bytes.data(), 1, bytes.size(), f);
    fclose(f);
  }
  // (On tmpfs a regular file reports the seal seal only; elsewhere no seals.)
  {
    auto r = with_fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_FALSE(r.ok());
    const std::string msg = r.status().message();
    EXPECT_TRUE(msg.find("not a sealable memory file") != std::string::npos ||
                msg.find("missing seals: write, grow, shrink") != std::string::npos)
        << msg;
  }
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  close(p[1]);
  refused(with_fd(p[0]), "is not a memory file");
  refused(with_fd(-1), "no descriptor");
  // A memory file with the right bytes but no seals, or only some.
  for (int seals : {0, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW}) {
    int fd = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> bytes(static_cast<size_t>(lseek(good.fd.get(), 0, SEEK_END)));
    ASSERT_EQ(pread(good.fd.get(), bytes.data(), bytes.size(), 0),
              static_cast<ssize_t>(bytes.size()));
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    if (seals != 0) {
      ASSERT_EQ(fcntl(fd, F_ADD_SEALS, seals), 0);
    }
    refused(with_fd(fd),
            seals == 0 ? "missing seals: write, grow, shrink, seal" : "missing seals: seal");
  }
  EXPECT_EQ(worker->registry_size(), 0u);
}

// A sealed memory file holding `bytes`.
UniqueFd SealedFile(const std::vector<uint8_t>& bytes) {
  int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, kAllSeals), 0);
  return UniqueFd(fd);
}

INSTANTIATE_TEST_SUITE_P(Tiers, PortableCodeTest, ::testing::Values(Tier::kAot, Tier::kInterp),
                         [](const auto& info) { return std::string(TierName(info.param)); });

std::string AdoptError(const std::shared_ptr<Engine>& engine, PortableCode code) {
  auto m = AdoptCode(engine, std::move(code));
  if (m.ok()) return "adopted";
  return std::string(m.status().code() == StatusCode::kInvalidArgument ? "" : "(not invalid) ") +
         m.status().message();
}

TEST(PortableAotTest, BadMetadataOrObjectIsRefused) {
  if (!AotAvailable("cc")) GTEST_SKIP() << "no C compiler";
  auto source = AotEngine();
  ASSERT_TRUE(source);
  auto worker = MakeEngine("");
  ASSERT_TRUE(worker);
  const auto wasm = test::Wat(kWat);
  auto with_meta = [&](std::vector<uint8_t> meta) {
    PortableCode c = Export(source, wasm, Tier::kAot);
    c.meta = std::move(meta);
    return AdoptError(worker, std::move(c));
  };
  const std::vector<uint8_t> meta = Export(source, wasm, Tier::kAot).meta;
  ASSERT_GT(meta.size(), 16u);
  std::vector<uint8_t> truncated(meta.begin(), meta.begin() + static_cast<long>(meta.size() / 2));
  std::vector<uint8_t> garbled = meta;
  garbled[0] ^= 0x5a;
  for (const auto& bad : {std::vector<uint8_t>{}, truncated, garbled})
    EXPECT_NE(with_meta(bad).find("AdoptCode: the metadata record (" + std::to_string(bad.size()) +
                                  " bytes) is not a valid module metadata record"),
              std::string::npos)
        << with_meta(bad);

  // The metadata of one module with the object of another.
  PortableCode other = Export(source, test::Wat(kOtherWat), Tier::kAot);
  ASSERT_TRUE(other.fd);
  PortableCode mixed = Export(source, wasm, Tier::kAot);
  mixed.fd = std::move(other.fd);
  EXPECT_NE(AdoptError(worker, std::move(mixed)).find("is not the object for its cache key"),
            std::string::npos);

  // A sealed memory file that holds no module entry.
  PortableCode garbage = Export(source, wasm, Tier::kAot);
  garbage.fd = SealedFile(std::vector<uint8_t>(4096, 0x41));
  EXPECT_NE(AdoptError(worker, std::move(garbage)).find("is not a module entry"),
            std::string::npos);
  PortableCode tiny = Export(source, wasm, Tier::kAot);
  tiny.fd = SealedFile({1, 2, 3});
  EXPECT_NE(AdoptError(worker, std::move(tiny)).find("too small to be a module entry"),
            std::string::npos);
  EXPECT_EQ(worker->registry_size(), 0u);
}

TEST(PortableInterpTest, WrongBytesAreRefused) {
  auto engine = MakeEngine("");
  ASSERT_TRUE(engine);
  const auto wasm = test::Wat(kWat);
  const auto other = test::Wat(kOtherWat);
  auto m = engine->Compile(wasm, {.tier = Tier::kInterp});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Exporting needs the module's own bytes.
  auto no_bytes = ExportCode(**m);
  ASSERT_FALSE(no_bytes.ok());
  EXPECT_EQ(no_bytes.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_bytes.status().message().find("none were given"), std::string::npos);
  auto wrong = ExportCode(**m, other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("the wasm bytes given hash to " +
                                          Sha256Hex(std::span<const uint8_t>(other))),
            std::string::npos)
      << wrong.status().ToString();

  auto worker = MakeEngine("");
  ASSERT_TRUE(worker);
  // The memory file holds other bytes than the hash names.
  PortableCode swapped = Export(engine, wasm, Tier::kInterp);
  swapped.fd = SealedFile(other);
  EXPECT_EQ(AdoptError(worker, std::move(swapped)),
            "AdoptCode: the wasm bytes hash to " + Sha256Hex(std::span<const uint8_t>(other)) +
                ", not to " + Sha256Hex(std::span<const uint8_t>(wasm)));
  PortableCode bad_hash = Export(engine, wasm, Tier::kInterp);
  bad_hash.hash = "not-a-hash";
  EXPECT_NE(AdoptError(worker, std::move(bad_hash)).find("is not a sha256 hex digest"),
            std::string::npos);
  PortableCode bad_tier = Export(engine, wasm, Tier::kInterp);
  bad_tier.tier = Tier::kAuto;
  EXPECT_EQ(AdoptError(worker, std::move(bad_tier)),
            "AdoptCode: the code's tier is auto, not aot or interp");
  PortableCode with_meta = Export(engine, wasm, Tier::kInterp);
  with_meta.meta = {1, 2, 3};
  EXPECT_NE(AdoptError(worker, std::move(with_meta)).find("carries no metadata record"),
            std::string::npos);
  EXPECT_EQ(worker->registry_size(), 0u);
  // The engine's module, adopted back, is its own registry's.
  auto back = AdoptCode(engine, Export(engine, wasm, Tier::kInterp));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->get(), m->get());
}

}  // namespace portable_code_test
}  // namespace arcella::engine
