// ComponentInstance with real components (build/fixtures/components): the
// freestanding host_import fixture against host functions, the text reactor
// (strings and lists, WASI imports through the reactor adapter), on both
// tiers; limits (fuel, deadline, interrupt) and import errors.
#include "component/instance.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "component/decoder.h"
#include "component/fixture_util.h"
#include "component/npm_tools_util.h"
#include "component/wasip2/wasi_p2.h"
#include "test_util.h"
#include "wast/component_text.h"

namespace arcella::component {
namespace {

// A component from text (jco's parser, cached in the build folder).
std::shared_ptr<const Component> FromText(const std::string& text) {
  auto bins = wast::ConvertComponentTexts({text}, arcella::testing::NpmTextTools());
  EXPECT_TRUE(bins.ok()) << bins.status().ToString();
  if (!bins.ok() || bins->size() != 1) return nullptr;
  EXPECT_TRUE((*bins)[0].ok()) << (*bins)[0].status().ToString();
  if (!(*bins)[0].ok()) return nullptr;
  auto c = DecodeComponent(*(*bins)[0]);
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
  auto c = arcella::testing::LoadComponentFixture("host_import");
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
  auto c = arcella::testing::LoadComponentFixture("host_import");
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
  auto c = arcella::testing::LoadComponentFixture("host_import");
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
  auto c = arcella::testing::LoadComponentFixture("host_import");
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
  // The trap poisoned the instance (the spec's may_enter): later calls are
  // refused without running the guest; a new instance works.
  out = (*inst)->Call("run", {Val::U32(0)});
  ASSERT_TRUE(out.ok());
  ASSERT_FALSE(out->ok());
  EXPECT_NE(out->trap->message.find("cannot enter component instance"), std::string::npos)
      << out->trap->ToString();
  EXPECT_EQ(host.adds, 1);
  auto fresh = ComponentInstance::Create(engine_, c, failing, Opts());
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  out = (*fresh)->Call("run", {Val::U32(0)});
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->ok()) << out->trap->ToString();
  EXPECT_EQ(out->results[0].u, 0u);
}

TEST_P(InstanceTest, UnresolvedAndMistypedImportsAreAllListed) {
  auto c = arcella::testing::LoadComponentFixture("host_import");
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
  auto cmd = arcella::testing::LoadComponentFixture("cli_command");
  ASSERT_TRUE(cmd);
  auto none = ComponentInstance::Create(engine_, cmd, Linker(), Opts());
  ASSERT_FALSE(none.ok());
  const std::string& w = none.status().message();
  for (const char* iface : {"wasi:cli/environment@0.2", "wasi:io/streams@0.2",
                            "wasi:filesystem/types@0.2", "wasi:cli/stdout@0.2"})
    EXPECT_NE(w.find(iface), std::string::npos) << iface << " in " << w;
}

TEST_P(InstanceTest, TextReactorPassesStringsAndLists) {
  auto c = arcella::testing::LoadComponentFixture("text_reactor");
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
  auto c = arcella::testing::LoadComponentFixture("host_import");
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
  auto c = arcella::testing::LoadComponentFixture("host_import");
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
  ASSERT_FALSE(quick->ok());  // poisoned by the deadline trap
  EXPECT_NE(quick->trap->message.find("cannot enter"), std::string::npos);

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
  // A new instance of the same component runs (no stale interrupt or deadline).
  auto inst3 = ComponentInstance::Create(engine_, c, slow, o);
  ASSERT_TRUE(inst3.ok());
  quick = (*inst3)->Call("run", {Val::U32(3)});
  ASSERT_TRUE(quick.ok());
  EXPECT_TRUE(quick->ok()) << quick->trap->ToString();
}

TEST_P(InstanceTest, TheCCommandRunsOnWasiWithResourcesAndFiles) {
  auto c = arcella::testing::LoadComponentFixture("cli_command");
  ASSERT_TRUE(c);
  std::string dir = test::TempDir("arcella-cinst-cmd");
  { std::ofstream(dir + "/input.txt") << "hello from the host\n"; }
  std::string out, err;
  wasi::WasiConfig cfg;
  cfg.args = {"cli_command", "/data", "two words"};
  cfg.env = {{"FIXTURE_GREETING", "hi there"}};
  cfg.preopens.push_back({.host_path = dir, .guest_path = "/data", .read_only = false});
  cfg.stdin_data = "some stdin\n";
  cfg.stdout_stream.sink = [&out](std::string_view s) { out += s; };
  cfg.stderr_stream.sink = [&err](std::string_view s) { err += s; };
  auto p2 = WasiP2::Create(std::move(cfg));
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  Linker linker;
  ASSERT_TRUE((*p2)->AddToLinker(linker).ok());
  auto inst = ComponentInstance::Create(engine_, c, linker, Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  std::string run;
  for (const std::string& f : (*inst)->ExportedFuncs())
    if (f.rfind("wasi:cli/run@", 0) == 0) run = f;
  ASSERT_FALSE(run.empty());
  auto r = (*inst)->Call(run, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->ok()) << r->trap->ToString() << "\nstderr: " << err;
  ASSERT_EQ(r->results.size(), 1u);
  EXPECT_EQ(r->results[0].index, 0u) << "run returned err; stderr: " << err;
  EXPECT_EQ(out, "args: 2\narg 1: /data\narg 2: two words\nenv FIXTURE_GREETING: hi there\n"
                 "clock monotonic: ok\nclock realtime: ok\nrandom: ok\n"
                 "stdin: 11 bytes: SOME STDIN\ninput.txt: hello from the host\n"
                 "output.txt: 20 bytes read from input.txt\ndir: input.txt output.txt\n")
      << "stderr: " << err;
  std::filesystem::remove_all(dir);
}

// A guest that makes a host resource, calls its method through a borrow and
// drops it: the host sees its own resource type and reps, and its
// destructor runs on the drop.
constexpr const char* kUsesHostResource = R"((component
  (import "my:res/api@1.0.0" (instance $api
    (export "thing" (type $t (sub resource)))
    (export "[constructor]thing" (func (param "v" u32) (result (own $t))))
    (export "[method]thing.get" (func (param "self" (borrow $t)) (result u32)))))
  (alias export $api "thing" (type $thing))
  (alias export $api "[constructor]thing" (func $ctor))
  (alias export $api "[method]thing.get" (func $get))
  (core func $ctor_l (canon lower (func $ctor)))
  (core func $get_l (canon lower (func $get)))
  (core func $drop (canon resource.drop $thing))
  (core module $M
    (import "h" "ctor" (func $ctor (param i32) (result i32)))
    (import "h" "get" (func $get (param i32) (result i32)))
    (import "h" "drop" (func $drop (param i32)))
    (func (export "run") (param i32) (result i32) (local $h i32) (local $r i32)
      (local.set $h (call $ctor (local.get 0)))
      (local.set $r (call $get (local.get $h)))
      (call $drop (local.get $h))
      (local.get $r)))
  (core instance $m (instantiate $M (with "h" (instance
    (export "ctor" (func $ctor_l)) (export "get" (func $get_l)) (export "drop" (func $drop))))))
  (func (export "run") (param "v" u32) (result u32) (canon lift (core func $m "run")))))";

TEST_P(InstanceTest, HostResourcesAreMadeBorrowedAndDropped) {
  auto c = FromText(kUsesHostResource);
  ASSERT_TRUE(c);
  auto rt = std::make_shared<ResourceType>(ResourceType{"thing"});
  std::vector<uint32_t> dropped;
  std::vector<uint32_t> borrowed;
  Linker l;
  const char* api = "my:res/api@1.0.2";  // a compatible newer version
  ASSERT_TRUE(l.DefineResource(api, "thing", rt, [&dropped](uint32_t rep) {
                 dropped.push_back(rep);
               }).ok());
  ASSERT_TRUE(l.DefineFunc(api, "[constructor]thing",
                           Fn({{"v", ValueType::U32()}}, ValueType::Own(rt)),
                           [rt](std::vector<Val> a) -> TrapOr<std::vector<Val>> {
                             return std::vector<Val>{Val::Own(rt, a[0].u * 10)};
                           })
                  .ok());
  ASSERT_TRUE(l.DefineFunc(api, "[method]thing.get",
                           Fn({{"self", ValueType::Borrow(rt)}}, ValueType::U32()),
                           [rt, &borrowed](std::vector<Val> a) -> TrapOr<std::vector<Val>> {
                             EXPECT_EQ(a[0].kind, TypeKind::kBorrow);
                             EXPECT_EQ(a[0].resource, rt);
                             borrowed.push_back(static_cast<uint32_t>(a[0].u));
                             return std::vector<Val>{Val::U32(static_cast<uint32_t>(a[0].u + 1))};
                           })
                  .ok());
  auto inst = ComponentInstance::Create(engine_, c, l, Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto out = (*inst)->Call("run", {Val::U32(4)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->ok()) << out->trap->ToString();
  EXPECT_EQ(out->results.at(0).u, 41u);
  EXPECT_EQ(borrowed, std::vector<uint32_t>{40});
  EXPECT_EQ(dropped, std::vector<uint32_t>{40});

  // A provider whose method takes another resource type is a mistyped import.
  auto other = std::make_shared<ResourceType>(ResourceType{"other"});
  Linker l2;
  ASSERT_TRUE(l2.DefineResource(api, "thing", rt).ok());
  ASSERT_TRUE(l2.DefineFunc(api, "[constructor]thing",
                            Fn({{"v", ValueType::U32()}}, ValueType::Own(other)),
                            l.FindInterface(api)->funcs.at("[constructor]thing").fn)
                  .ok());
  auto bad = ComponentInstance::Create(engine_, c, l2, Opts());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(
                "my:res/api@1.0.0#[constructor]thing (type func(v: u32) -> own<other> expected "
                "func(v: u32) -> own<thing>)"),
            std::string::npos)
      << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("my:res/api@1.0.0#[method]thing.get (no provider)"),
            std::string::npos)
      << bad.status().ToString();
}

// One component instance's export is another's import
// (Linker::DefineComponentInstance): host_import's `run` through a wrapper.
constexpr const char* kUsesRun = R"((component
  (import "my:calc/sum" (instance $calc (export "run" (func (param "n" u32) (result u32)))))
  (alias export $calc "run" (func $run))
  (core func $run_l (canon lower (func $run)))
  (core module $M
    (import "c" "run" (func $run (param i32) (result i32)))
    (func (export "twice") (param i32) (result i32)
      (i32.add (call $run (local.get 0)) (call $run (local.get 0)))))
  (core instance $m (instantiate $M (with "c" (instance (export "run" (func $run_l))))))
  (func (export "twice") (param "n" u32) (result u32) (canon lift (core func $m "twice")))))";

TEST_P(InstanceTest, AnotherComponentInstanceProvidesAnInterface) {
  auto provider_c = arcella::testing::LoadComponentFixture("host_import");
  ASSERT_TRUE(provider_c);
  HostImport host;
  auto provider = ComponentInstance::Create(engine_, provider_c, host.MakeLinker(), Opts());
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  Linker l;
  ASSERT_TRUE(l.DefineComponentInstance("my:calc/sum", *provider, "").ok());
  EXPECT_EQ(l.FindInterface("my:calc/sum")->funcs.count("run"), 1u);
  auto c = FromText(kUsesRun);
  ASSERT_TRUE(c);
  auto inst = ComponentInstance::Create(engine_, c, l, Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto out = (*inst)->Call("twice", {Val::U32(3)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->ok()) << out->trap->ToString();
  EXPECT_EQ(out->results.at(0).u, 12u);
  EXPECT_EQ(host.adds, 6);
  // Nothing exported under a name that is not there.
  EXPECT_FALSE(l.DefineComponentInstance("my:calc/other", *provider, "no:such/iface").ok());
}

constexpr const char* kStarts = R"((component
  (import "hello" (func $hello (param "n" u32)))
  (core func $h (canon lower (func $hello)))
  (core module $M
    (import "h" "h" (func $h (param i32)))
    (func (export "s") (call $h (i32.const 7))))
  (core instance $m (instantiate $M (with "h" (instance (export "h" (func $h))))))
  (func $s (canon lift (core func $m "s")))
  (start $s)))";

TEST_P(InstanceTest, AStartFunctionRunsAtInstantiation) {
  auto c = FromText(kStarts);
  ASSERT_TRUE(c);
  std::vector<uint64_t> seen;
  Linker l;
  ASSERT_TRUE(l.DefineFunc("", "hello", Fn({{"n", ValueType::U32()}}, nullptr),
                           [&seen](std::vector<Val> a) -> TrapOr<std::vector<Val>> {
                             seen.push_back(a[0].u);
                             return std::vector<Val>{};
                           })
                  .ok());
  auto inst = ComponentInstance::Create(engine_, c, l, Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(seen, std::vector<uint64_t>{7});
  // A start function that traps fails the instantiation, naming it.
  Linker failing;
  ASSERT_TRUE(failing
                  .DefineFunc("", "hello", Fn({{"n", ValueType::U32()}}, nullptr),
                              [](std::vector<Val>) -> TrapOr<std::vector<Val>> {
                                return engine::Trap{engine::TrapKind::kHostError, "", "nope", 0};
                              })
                  .ok());
  auto bad = ComponentInstance::Create(engine_, c, failing, Opts());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("start function"), std::string::npos)
      << bad.status().ToString();
}

// A guest resource handed to the host and back: the host holds the rep of
// an own, lends it as a borrow, and gives it back as an own that the guest
// drops (its destructor runs in the guest).
constexpr const char* kGuestResource = R"((component
  (core module $D
    (global $dropped (export "dropped") (mut i32) (i32.const 0))
    (func (export "dtor") (param i32) (global.set $dropped (local.get 0))))
  (core instance $d (instantiate $D))
  (alias core export $d "dtor" (core func $dtor))
  (type $r (resource (rep i32) (dtor (core func $dtor))))
  (core func $new (canon resource.new $r))
  (core func $drop (canon resource.drop $r))
  (core module $M
    (import "r" "new" (func $new (param i32) (result i32)))
    (import "r" "drop" (func $drop (param i32)))
    (import "d" "dropped" (global $dropped (mut i32)))
    (func (export "make") (param i32) (result i32) (call $new (i32.mul (local.get 0) (i32.const 2))))
    (func (export "get") (param i32) (result i32) (local.get 0))
    (func (export "consume") (param i32) (call $drop (local.get 0)))
    (func (export "dropped") (result i32) (global.get $dropped)))
  (core instance $m (instantiate $M
    (with "r" (instance (export "new" (func $new)) (export "drop" (func $drop))))
    (with "d" (instance $d))))
  (func $make (param "v" u32) (result (own $r)) (canon lift (core func $m "make")))
  (func $get (param "self" (borrow $r)) (result u32) (canon lift (core func $m "get")))
  (func $consume (param "t" (own $r)) (canon lift (core func $m "consume")))
  (func $dropped (result u32) (canon lift (core func $m "dropped")))
  (export $t "thing" (type $r))
  (export "[constructor]thing" (func $make) (func (param "v" u32) (result (own $t))))
  (export "[method]thing.get" (func $get) (func (param "self" (borrow $t)) (result u32)))
  (export "[static]thing.consume" (func $consume) (func (param "t" (own $t))))
  (export "dropped" (func $dropped))))";

TEST_P(InstanceTest, GuestResourcesPassThroughCalls) {
  auto c = FromText(kGuestResource);
  ASSERT_TRUE(c);
  auto inst = ComponentInstance::Create(engine_, c, Linker(), Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  ResourceRef rt = (*inst)->ResourceTypeOf("thing");
  ASSERT_TRUE(rt);
  auto made = (*inst)->Call("[constructor]thing", {Val::U32(5)});
  ASSERT_TRUE(made.ok() && made->ok());
  const Val own = made->results.at(0);
  EXPECT_EQ(own.kind, TypeKind::kOwn);
  EXPECT_EQ(own.resource, rt);
  auto got = (*inst)->Call("[method]thing.get", {Val::Borrow(rt, own.u)});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->ok()) << got->trap->ToString();
  EXPECT_EQ(got->results.at(0).u, 10u);
  // A handle of another resource type is refused before the call.
  auto other = std::make_shared<ResourceType>(ResourceType{"thing"});
  EXPECT_EQ((*inst)->Call("[method]thing.get", {Val::Borrow(other, own.u)}).status().code(),
            StatusCode::kInvalidArgument);
  auto consumed = (*inst)->Call("[static]thing.consume", {own});
  ASSERT_TRUE(consumed.ok() && consumed->ok());
  auto dropped = (*inst)->Call("dropped", {});
  ASSERT_TRUE(dropped.ok() && dropped->ok());
  EXPECT_EQ(dropped->results.at(0).u, 10u);
}

// The host drops an own it holds (a resource across a link whose importer
// dropped it): the guest's destructor runs with the rep; a resource the
// instance does not implement is refused.
TEST_P(InstanceTest, TheHostDropsAGuestResourceItHolds) {
  auto c = FromText(kGuestResource);
  ASSERT_TRUE(c);
  auto inst = ComponentInstance::Create(engine_, c, Linker(), Opts());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  ResourceRef rt = (*inst)->ResourceTypeOf("thing");
  ASSERT_TRUE(rt);
  auto made = (*inst)->Call("[constructor]thing", {Val::U32(21)});
  ASSERT_TRUE(made.ok() && made->ok());
  auto dropped = (*inst)->DropResource(rt, static_cast<uint32_t>(made->results.at(0).u));
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_TRUE(dropped->ok());
  auto seen = (*inst)->Call("dropped", {});
  ASSERT_TRUE(seen.ok() && seen->ok());
  EXPECT_EQ(seen->results.at(0).u, 42u);  // the rep (2 * 21) reached the destructor
  auto other = std::make_shared<ResourceType>(ResourceType{"thing"});
  EXPECT_EQ((*inst)->DropResource(other, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*inst)->DropResource(nullptr, 1).status().code(), StatusCode::kNotFound);
}

TEST_P(InstanceTest, MaxMemoryBytesCapsEachMemory) {
  auto c = arcella::testing::LoadComponentFixture("text_reactor");
  ASSERT_TRUE(c);
  const std::string shout = "arcella:fixtures/text@0.1.0#shout";
  std::string big(4 << 20, 'a');  // needs > 8 MiB of guest memory (argument and result)
  auto free_inst = ComponentInstance::Create(engine_, c, Linker(), Opts());
  ASSERT_TRUE(free_inst.ok());
  auto out = (*free_inst)->Call(shout, {Val::String(big)});
  ASSERT_TRUE(out.ok() && out->ok());
  EXPECT_EQ(out->results.at(0).str.size(), big.size());
  ComponentOptions o = Opts();
  o.limits.max_memory_bytes = 2 << 20;
  auto capped = ComponentInstance::Create(engine_, c, Linker(), o);
  ASSERT_TRUE(capped.ok()) << capped.status().ToString();
  out = (*capped)->Call(shout, {Val::String(big)});
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->ok()) << "a 4 MiB string fit in 2 MiB of memory";
  auto capped2 = ComponentInstance::Create(engine_, c, Linker(), o);  // the first is poisoned
  ASSERT_TRUE(capped2.ok()) << capped2.status().ToString();
  out = (*capped2)->Call(shout, {Val::String("small")});
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->ok()) << out->trap->ToString();
  EXPECT_EQ(out->results.at(0).str, "SMALL");
}

TEST_P(InstanceTest, NestedInstantiationThatMultipliesIsBounded) {
  // Each level instantiates the one below twice: 2^15 core instances.
  std::string text = "(component $root\n  (component $c0 (core module $m) (core instance "
                     "(instantiate $m)))\n";
  for (int i = 1; i <= 15; ++i)
    text += "  (component $c" + std::to_string(i) + " (alias outer $root $c" +
            std::to_string(i - 1) +
            " (component $x)) (instance (instantiate $x)) (instance (instantiate $x)))\n";
  text += "  (instance (instantiate $c15)))";
  auto c = FromText(text);
  ASSERT_TRUE(c);
  auto inst = ComponentInstance::Create(engine_, c, Linker(), Opts());
  ASSERT_FALSE(inst.ok());
  EXPECT_NE(inst.status().message().find("too many instances"), std::string::npos)
      << inst.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Tiers, InstanceTest,
                         ::testing::Values(engine::Tier::kInterp, engine::Tier::kAot),
                         [](const auto& info) {
                           return std::string(engine::TierName(info.param));
                         });

}  // namespace
}  // namespace arcella::component
