// ComponentInstance with real components (build/fixtures/components): the
// freestanding host_import fixture against host functions, the text reactor
// (strings and lists, WASI imports through the reactor adapter), on both
// tiers; limits (fuel, deadline, interrupt) and import errors.
#include "component/instance.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "component/decoder.h"
#include "component/npm_tools_util.h"
#include "test_util.h"

namespace arcella::component {
namespace {

std::shared_ptr<const Component> LoadFixture(const std::string& name) {
  std::vector<uint8_t> bytes = test::ReadFile(std::string(ARCELLA_COMPONENT_FIXTURES) + "/" + name +
                                              ".component.wasm");
  if (bytes.empty()) return nullptr;
  auto c = DecodeComponent(bytes);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c.value() : nullptr;
}

FuncType Fn(std::vector<Field> params, TypeRef result) {
  return FuncType{std::move(params), result};
}

constexpr const char* kHost = "arcella:fixtures/host@0.1.0";

// The host side of host_import: records log lines, adds (and counts adds).
struct HostImport {
  std::vector<std::string> log;
  int adds = 0;
  Linker MakeLinker(const std::string& iface = kHost) {
    Linker l;
    EXPECT_TRUE(l.DefineFunc(iface, "log", Fn({{"msg", ValueType::String()}}, nullptr),
                             [this](std::vector<Val> a) -> TrapOr<std::vector<Val>> {
                               log.push_back(a[0].str);
                               return std::vector<Val>{};
                             })
                    .ok());
    EXPECT_TRUE(
        l.DefineFunc(iface, "add",
                     Fn({{"a", ValueType::U32()}, {"b", ValueType::U32()}}, ValueType::U32()),
                     [this](std::vector<Val> a) -> TrapOr<std::vector<Val>> {
                       ++adds;
                       return std::vector<Val>{Val::U32(static_cast<uint32_t>(a[0].u + a[1].u))};
                     })
            .ok());
    return l;
  }
};

class InstanceTest : public ::testing::TestWithParam<engine::Tier> {
 protected:
  void SetUp() override {
    ARCELLA_REQUIRE_NPM_TOOLS();
    engine_ = test::TestEngine();
    if (GetParam() == engine::Tier::kAot && !engine_->AotAvailable()) GTEST_SKIP() << "no AOT tier";
  }
  ComponentOptions Opts() const {
    ComponentOptions o;
    o.tier = GetParam();
    return o;
  }
  std::shared_ptr<engine::Engine> engine_;
};

TEST_P(InstanceTest, HostImportCallsTheHostAndReturns) {
  auto c = LoadFixture("host_import");
  ASSERT_TRUE(c);
  HostImport host;
  auto inst = ComponentInstance::Create(engine_, c, host.MakeLinker(), Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ((*inst)->ExportedFuncs(), std::vector<std::string>{"run"});
  const FuncType* t = (*inst)->FuncTypeOf("run");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ToString(), "func(n: u32) -> u32");
  auto out = (*inst)->Call("run", {Val::U32(4)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->ok()) << out->trap->ToString();
  ASSERT_EQ(out->results.size(), 1u);
  EXPECT_EQ(out->results[0].u, 10u);
  EXPECT_EQ(host.adds, 4);
  EXPECT_EQ(host.log,
            (std::vector<std::string>{"step 1: 1", "step 2: 3", "step 3: 6", "step 4: 10"}));
  // Called again: same answers.
  out = (*inst)->Call("run", {Val::U32(2)});
  ASSERT_TRUE(out.ok() && out->ok());
  EXPECT_EQ(out->results[0].u, 3u);
}

TEST_P(InstanceTest, HostImportMatchesACompatibleNewerVersion) {
  auto c = LoadFixture("host_import");
  ASSERT_TRUE(c);
  HostImport host;
  auto inst = ComponentInstance::Create(engine_, c, host.MakeLinker("arcella:fixtures/host@0.1.7"),
                                        Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto out = (*inst)->Call("run", {Val::U32(1)});
  ASSERT_TRUE(out.ok() && out->ok());
  // 0.2.0 is another track: not a provider.
  auto refused = ComponentInstance::Create(engine_, c,
                                           host.MakeLinker("arcella:fixtures/host@0.2.0"), Opts());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("arcella:fixtures/host@0.1.0 (no provider)"),
            std::string::npos)
      << refused.status().ToString();
}

TEST_P(InstanceTest, WrongArgumentsAreAStatusNamingThem) {
  auto c = LoadFixture("host_import");
  ASSERT_TRUE(c);
  HostImport host;
  auto inst = ComponentInstance::Create(engine_, c, host.MakeLinker(), Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto bad = (*inst)->Call("run", {Val::String("x")});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("argument n"), std::string::npos)
      << bad.status().ToString();
  EXPECT_FALSE((*inst)->Call("run", {}).ok());
  EXPECT_EQ((*inst)->Call("nope", {}).status().code(), StatusCode::kNotFound);
}

TEST_P(InstanceTest, HostTrapStopsTheCallAndTheInstanceStaysUsable) {
  auto c = LoadFixture("host_import");
  ASSERT_TRUE(c);
  HostImport host;
  Linker l = host.MakeLinker();
  Linker failing;
  ASSERT_TRUE(failing
                  .DefineFunc(kHost, "log", Fn({{"msg", ValueType::String()}}, nullptr),
                              [](std::vector<Val>) -> TrapOr<std::vector<Val>> {
                                return engine::Trap{engine::TrapKind::kHostError, "", "no log", 0};
                              })
                  .ok());
  ASSERT_TRUE(failing
                  .DefineFunc(kHost, "add", l.FindInterface(kHost)->funcs.at("add").type,
                              l.FindInterface(kHost)->funcs.at("add").fn)
                  .ok());
  auto inst = ComponentInstance::Create(engine_, c, failing, Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto out = (*inst)->Call("run", {Val::U32(3)});
  ASSERT_TRUE(out.ok());
  ASSERT_FALSE(out->ok());
  EXPECT_EQ(out->trap->kind, engine::TrapKind::kHostError);
  EXPECT_EQ(host.adds, 1);
  out = (*inst)->Call("run", {Val::U32(0)});
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->ok());
  EXPECT_EQ(out->results[0].u, 0u);
}

TEST_P(InstanceTest, UnresolvedAndMistypedImportsAreAllListed) {
  auto c = LoadFixture("host_import");
  ASSERT_TRUE(c);
  Linker l;
  ASSERT_TRUE(
      l.DefineFunc(kHost, "log", Fn({{"msg", ValueType::U32()}}, nullptr),
                   [](std::vector<Val>) -> TrapOr<std::vector<Val>> { return std::vector<Val>{}; })
          .ok());
  auto inst = ComponentInstance::Create(engine_, c, l, Opts());
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.status().code(), StatusCode::kFailedPrecondition);
  const std::string& m = inst.status().message();
  EXPECT_NE(m.find("arcella:fixtures/host@0.1.0#log (type func(msg: u32) expected "
                   "func(msg: string))"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("arcella:fixtures/host@0.1.0#add (no provider)"), std::string::npos) << m;

  // The C command imports WASI 0.2: every interface is listed.
  auto cmd = LoadFixture("cli_command");
  ASSERT_TRUE(cmd);
  auto none = ComponentInstance::Create(engine_, cmd, Linker(), Opts());
  ASSERT_FALSE(none.ok());
  const std::string& w = none.status().message();
  for (const char* iface : {"wasi:cli/environment@0.2", "wasi:io/streams@0.2",
                            "wasi:filesystem/types@0.2", "wasi:cli/stdout@0.2"})
    EXPECT_NE(w.find(iface), std::string::npos) << iface << " in " << w;
}

TEST_P(InstanceTest, TextReactorPassesStringsAndLists) {
  auto c = LoadFixture("text_reactor");
  ASSERT_TRUE(c);
  auto inst = ComponentInstance::Create(engine_, c, Linker(), Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  const std::string t = "arcella:fixtures/text@0.1.0#";
  EXPECT_EQ((*inst)->ExportedFuncs(),
            (std::vector<std::string>{t + "shout", t + "words", t + "sum", t + "join"}));
  auto out = (*inst)->Call(t + "shout", {Val::String("Hello, wörld!")});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->ok()) << out->trap->ToString();
  EXPECT_EQ(out->results.at(0).str, "HELLO, WöRLD!");
  out = (*inst)->Call(t + "words", {Val::String("  the quick  brown fox ")});
  ASSERT_TRUE(out.ok() && out->ok());
  std::vector<std::string> words;
  for (const Val& v : out->results.at(0).items) words.push_back(v.str);
  EXPECT_EQ(words, (std::vector<std::string>{"the", "quick", "brown", "fox"}));
  out = (*inst)->Call(t + "sum", {Val::List({Val::S64(40), Val::S64(-8), Val::S64(10)})});
  ASSERT_TRUE(out.ok() && out->ok());
  EXPECT_EQ(out->results.at(0).s, 42);
  out = (*inst)->Call(t + "join",
                      {Val::List({Val::String("a"), Val::String("b"), Val::String("c")}),
                       Val::String(", ")});
  ASSERT_TRUE(out.ok() && out->ok());
  EXPECT_EQ(out->results.at(0).str, "a, b, c");
  // Many calls: post-return frees what each call allocated.
  std::string big(10000, 'x');
  for (int i = 0; i < 200; ++i) {
    out = (*inst)->Call(t + "shout", {Val::String(big)});
    ASSERT_TRUE(out.ok() && out->ok()) << i;
  }
  EXPECT_EQ(out->results.at(0).str, std::string(10000, 'X'));
  // A list element of the wrong type is refused before the call.
  auto bad = (*inst)->Call(t + "sum", {Val::List({Val::S64(1), Val::U8(2)})});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(InstanceTest, FuelIsOnePoolAndRunsOut) {
  auto c = LoadFixture("host_import");
  ASSERT_TRUE(c);
  HostImport host;
  // Unlimited: measure what one run costs.
  auto free_inst = ComponentInstance::Create(engine_, c, host.MakeLinker(), Opts());
  ASSERT_TRUE(free_inst.ok()) << free_inst.status().ToString();
  uint64_t before = (*free_inst)->fuel_consumed();
  ASSERT_TRUE((*free_inst)->Call("run", {Val::U32(50)}).value().ok());
  uint64_t cost = (*free_inst)->fuel_consumed() - before;
  ASSERT_GT(cost, 100u);

  ComponentOptions o = Opts();
  o.limits.fuel = before + cost + cost / 2;  // one run fits, two do not
  auto inst = ComponentInstance::Create(engine_, c, host.MakeLinker(), o);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto first = (*inst)->Call("run", {Val::U32(50)});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->ok()) << first->trap->ToString();
  auto second = (*inst)->Call("run", {Val::U32(50)});
  ASSERT_TRUE(second.ok());
  ASSERT_FALSE(second->ok());
  EXPECT_EQ(second->trap->kind, engine::TrapKind::kOutOfFuel);
  // Consumed up to the limit (the trapping block's cost is counted too).
  EXPECT_GE((*inst)->fuel_consumed(), *o.limits.fuel);
  EXPECT_LT((*inst)->fuel_consumed(), *o.limits.fuel + 100);

  // A refill callback keeps it going.
  int refills = 0;
  o.on_out_of_fuel = [&refills]() -> uint64_t { return ++refills < 100 ? 1000 : 0; };
  auto refilled = ComponentInstance::Create(engine_, c, host.MakeLinker(), o);
  ASSERT_TRUE(refilled.ok());
  ASSERT_TRUE((*refilled)->Call("run", {Val::U32(50)}).value().ok());
  auto again = (*refilled)->Call("run", {Val::U32(50)});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->ok());
  EXPECT_GT(refills, 0);
}

TEST_P(InstanceTest, DeadlineAndInterruptStopACallAndLaterCallsWork) {
  auto c = LoadFixture("host_import");
  ASSERT_TRUE(c);
  HostImport host;
  Linker l = host.MakeLinker();
  // A slow host add: the guest loops around it.
  Linker slow;
  ASSERT_TRUE(slow.DefineFunc(kHost, "log", l.FindInterface(kHost)->funcs.at("log").type,
                              [](std::vector<Val>) -> TrapOr<std::vector<Val>> {
                                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                                return std::vector<Val>{};
                              })
                  .ok());
  ASSERT_TRUE(slow.DefineFunc(kHost, "add", l.FindInterface(kHost)->funcs.at("add").type,
                              l.FindInterface(kHost)->funcs.at("add").fn)
                  .ok());
  ComponentOptions o = Opts();
  o.limits.deadline = std::chrono::milliseconds(50);
  auto inst = ComponentInstance::Create(engine_, c, slow, o);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto t0 = std::chrono::steady_clock::now();
  auto out = (*inst)->Call("run", {Val::U32(100000)});
  ASSERT_TRUE(out.ok());
  ASSERT_FALSE(out->ok());
  EXPECT_EQ(out->trap->kind, engine::TrapKind::kDeadline);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  auto quick = (*inst)->Call("run", {Val::U32(3)});
  ASSERT_TRUE(quick.ok());
  EXPECT_TRUE(quick->ok()) << quick->trap->ToString();

  auto inst2 = ComponentInstance::Create(engine_, c, slow, Opts());
  ASSERT_TRUE(inst2.ok());
  std::shared_ptr<ComponentInstance> target = *inst2;
  std::thread stopper([target] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    target->Interrupt();
  });
  out = target->Call("run", {Val::U32(100000)});
  stopper.join();
  ASSERT_TRUE(out.ok());
  ASSERT_FALSE(out->ok());
  EXPECT_EQ(out->trap->kind, engine::TrapKind::kInterrupted);
  quick = target->Call("run", {Val::U32(3)});
  ASSERT_TRUE(quick.ok());
  EXPECT_TRUE(quick->ok());
}

INSTANTIATE_TEST_SUITE_P(Tiers, InstanceTest,
                         ::testing::Values(engine::Tier::kInterp, engine::Tier::kAot),
                         [](const auto& info) {
                           return std::string(engine::TierName(info.param));
                         });

}  // namespace
}  // namespace arcella::component
