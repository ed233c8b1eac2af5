// The canonical ABI over a real engine instance (both tiers): a core
// module's exports lifted with realloc and post-return, strings and lists
// through its linear memory (which grows during realloc), and a core import
// lowered to a host function that allocates in the guest while it runs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "component/abi_engine.h"
#include "component/canonical_abi.h"
#include "engine/engine.h"
#include "test_util.h"

namespace arcella::component::abi_engine_test {

using engine::ValType;
using engine::Value;

constexpr const char* kGuestWat = R"((module
  (import "host" "greet" (func $greet (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (global $post (export "post_count") (mut i32) (i32.const 0))
  (data (i32.const 100) "world")
  (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32)
        (param $new i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $next (i32.add (local.get $p) (local.get $new)))
    (block $done
      (loop $grow
        (br_if $done (i32.le_u (global.get $next) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (br $grow)))
    (memory.copy (local.get $p) (local.get $old) (local.get $old_size))
    (local.get $p))
  (func (export "echo") (param i32 i32) (result i32)
    (i32.store (i32.const 16) (local.get 0))
    (i32.store (i32.const 20) (local.get 1))
    (i32.const 16))
  (func (export "echo_post") (param i32)
    (global.set $post (i32.add (global.get $post) (i32.const 1))))
  (func (export "sum") (param $p i32) (param $n i32) (result i64)
    (local $acc i64)
    (block $end (loop $l
      (br_if $end (i32.eqz (local.get $n)))
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.load (local.get $p)))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $acc))
  (func (export "run") (result i32)
    (call $greet (i32.const 100) (i32.const 5) (i32.const 32))
    (i32.const 32)))
)";

// A guest instance whose import "host" "greet" is the component function
// *greet (set by the test before calling).
struct EngineGuest {
  ComponentInstanceState state;
  std::shared_ptr<engine::Instance> inst;
  std::unique_ptr<InstanceMemory> memory;
  CanonOptions opts;
  FuncInst greet;
  FuncType greet_type{{{"name", ValueType::String()}}, ValueType::String()};

  explicit EngineGuest(engine::Tier tier) {
    auto wasm = test::Wat(kGuestWat);
    engine::CompileOptions co;
    co.tier = tier;
    auto mod = test::TestEngine(engine::Metering::kFuel)->Compile(wasm, co);
    EXPECT_TRUE(mod.ok()) << mod.status().ToString();
    if (!mod.ok()) return;
    engine::Linker linker;
    linker.DefineFunc("host", "greet", FlattenFuncType(greet_type, FlattenContext::kLower),
                      [this](engine::Caller& caller, std::span<const Value> args,
                             std::span<Value>) -> std::optional<engine::Trap> {
                        // The options of this `canon lower`: the caller's memory and realloc.
                        InstanceMemory mem(&caller.instance());
                        auto realloc = ReallocFromExport(&caller.instance(), "realloc");
                        if (!realloc.ok()) return AbiTrap(realloc.status().message());
                        CanonOptions lower_opts{.encoding = StringEncoding::kUtf8,
                                                .memory = &mem,
                                                .realloc = *realloc,
                                                .post_return = {}};
                        auto out = CanonLower(greet, greet_type, lower_opts, &state, args);
                        if (!out.ok()) return out.trap();
                        return std::nullopt;
                      });
    auto created = engine::Instance::Create(*mod, linker, {});
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return;
    inst = *created;
    memory = std::make_unique<InstanceMemory>(inst.get());
    auto realloc = ReallocFromExport(inst.get(), "realloc");
    EXPECT_TRUE(realloc.ok());
    opts = CanonOptions{.encoding = StringEncoding::kUtf8,
                        .memory = memory.get(),
                        .realloc = realloc.ok() ? *realloc : ReallocFn(),
                        .post_return = {}};
  }

  FuncInst Lift(const std::string& name, FuncType ft, CanonOptions* o) {
    auto core = CoreFnFromExport(inst.get(), name);
    EXPECT_TRUE(core.ok()) << core.status().ToString();
    return CanonLift(*core, std::move(ft), o, &state);
  }
};

class AbiEngine : public ::testing::TestWithParam<engine::Tier> {};

TEST_P(AbiEngine, LiftedExportsWithReallocAndPostReturn) {
  EngineGuest g(GetParam());
  ASSERT_TRUE(g.inst);
  CanonOptions echo_opts = g.opts;
  auto post = PostReturnFromExport(g.inst.get(), "echo_post", {ValType::kI32});
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  echo_opts.post_return = *post;
  FuncInst echo = g.Lift("echo", FuncType{{{"s", ValueType::String()}}, ValueType::String()},
                         &echo_opts);
  auto out = InvokeFunc(echo, {Val::String("h\xc3\xa9llo")});
  ASSERT_TRUE(out.ok()) << out.trap().ToString();
  EXPECT_EQ(out.value()[0].str, "h\xc3\xa9llo");
  EXPECT_EQ(g.inst->GetGlobal("post_count")->i32, 1u);

  // 200 KB: the guest's realloc grows its memory; the ABI writes the new one.
  std::string big(200 * 1024, 'x');
  big[123456] = 'y';
  size_t before = g.inst->memory().size();
  out = InvokeFunc(echo, {Val::String(big)});
  ASSERT_TRUE(out.ok()) << out.trap().ToString();
  EXPECT_EQ(out.value()[0].str, big);
  EXPECT_GT(g.inst->memory().size(), before);
  EXPECT_EQ(g.inst->GetGlobal("post_count")->i32, 2u);

  FuncInst sum = g.Lift("sum",
                        FuncType{{{"xs", ValueType::List(ValueType::U32())}}, ValueType::U64()},
                        &g.opts);
  std::vector<Val> xs;
  uint64_t want = 0;
  for (uint32_t i = 0; i < 1000; ++i) {
    xs.push_back(Val::U32(i * 4'000'000u));
    want += i * 4'000'000ull;
  }
  out = InvokeFunc(sum, {Val::List(xs)});
  ASSERT_TRUE(out.ok()) << out.trap().ToString();
  EXPECT_EQ(out.value()[0].u, want);

  // Wrongly typed exports are refused when the adapter is made.
  EXPECT_FALSE(ReallocFromExport(g.inst.get(), "echo").ok());
  EXPECT_FALSE(PostReturnFromExport(g.inst.get(), "echo_post", {}).ok());
  EXPECT_FALSE(CoreFnFromExport(g.inst.get(), "nope").ok());
}

TEST_P(AbiEngine, GuestCallsAHostImportThatAllocatesInIt) {
  EngineGuest g(GetParam());
  ASSERT_TRUE(g.inst);
  std::vector<std::string> names;
  g.greet = HostFuncInst([&](std::vector<Val> args) -> TrapOr<std::vector<Val>> {
    names.push_back(args[0].str);
    return std::vector<Val>{Val::String("hello, " + args[0].str)};
  });
  FuncInst run = g.Lift("run", FuncType{{}, ValueType::String()}, &g.opts);
  auto out = InvokeFunc(run, {});
  ASSERT_TRUE(out.ok()) << out.trap().ToString();
  EXPECT_EQ(names, std::vector<std::string>{"world"});
  EXPECT_EQ(out.value()[0].str, "hello, world");

  // The host calling back into the running instance (the spec's entering set
  // from the host is the instance itself): reentrance traps. (The instance
  // calling its own export through its own import is "donut wrapping" and
  // allowed by the spec; see abi_handles_test.cc for component-to-component.)
  FuncInst echo = g.Lift("echo", FuncType{{{"s", ValueType::String()}}, ValueType::String()},
                         &g.opts);
  g.greet = HostFuncInst([&](std::vector<Val> args) -> TrapOr<std::vector<Val>> {
    return InvokeFunc(echo, std::move(args));
  });
  out = InvokeFunc(run, {});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.trap().ToString().find("reentrance"), std::string::npos) << out.trap().ToString();
  // Donut wrapping: the instance's import bound to its own lifted export.
  g.greet = echo;
  out = InvokeFunc(run, {});
  ASSERT_TRUE(out.ok()) << out.trap().ToString();
  EXPECT_EQ(out.value()[0].str, "world");
  EXPECT_TRUE(g.state.may_enter);
}

INSTANTIATE_TEST_SUITE_P(Tiers, AbiEngine,
                         ::testing::Values(engine::Tier::kAot, engine::Tier::kInterp),
                         [](const ::testing::TestParamInfo<engine::Tier>& i) {
                           return std::string(engine::TierName(i.param));
                         });

}  // namespace arcella::component::abi_engine_test
