// engine::Linker::DefineExport (one export of another instance under a new
// (module, name): functions, memories, tables, globals), calls across
// instances, and the interrupt/deadline controls an embedder of several
// instances needs (ClearInterrupt, ExpireDeadline, fuel from a callback only).
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "tier_test.h"

namespace arcella::engine {
namespace {

class LinkerExportTest : public TierTest {};

constexpr const char* kLib = R"((module
  (memory (export "mem") 1)
  (table (export "tab") 2 funcref)
  (global (export "g") (mut i32) (i32.const 5))
  (func $double (export "double") (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 2)))
  (func $nine (result i32) (i32.const 9))
  (elem (i32.const 1) $nine)
  (func (export "spin") (loop $l (br $l)))))";

// Imports everything under other names, from one module "env".
constexpr const char* kUser = R"((module
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (import "env" "memory" (memory 1))
  (import "env" "table" (table 2 funcref))
  (import "env" "counter" (global $c (mut i32)))
  (import "env" "spin" (func $spin))
  (type $r (func (result i32)))
  (func (export "run") (result i32)
    (i32.store (i32.const 16) (i32.const 77))
    (global.set $c (i32.add (global.get $c) (i32.const 1)))
    (i32.add (call $twice (i32.const 20))
             (call_indirect (type $r) (i32.const 1))))
  (func (export "spin") (call $spin))
  (func (export "work") (local i32)
    (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 0) (i32.const 1000)))))))";

Linker UserLinker(const std::shared_ptr<Instance>& lib) {
  Linker l;
  l.DefineExport("env", "twice", lib, "double");
  l.DefineExport("env", "memory", lib, "mem");
  l.DefineExport("env", "table", lib, "tab");
  l.DefineExport("env", "counter", lib, "g");
  l.DefineExport("env", "spin", lib, "spin");
  return l;
}

TEST_P(LinkerExportTest, ImportsSingleExportsOfAnotherInstanceUnderNewNames) {
  auto lib = Make(Compile(kLib));
  ASSERT_TRUE(lib);
  auto user = Make(Compile(kUser), {}, UserLinker(lib));
  ASSERT_TRUE(user);
  auto out = user->Call("run", {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->ok()) << out->trap->ToString();
  EXPECT_EQ(out->results[0].i32, 49u);
  EXPECT_EQ(lib->memory()[16], 77);  // the memory is shared
  EXPECT_EQ(lib->GetGlobal("g")->i32, 6u);
}

TEST_P(LinkerExportTest, MissingAndMistypedExportsAreListed) {
  auto lib = Make(Compile(kLib));
  ASSERT_TRUE(lib);
  Linker l = UserLinker(lib);
  l.DefineExport("env", "twice", lib, "nope");
  l.DefineExport("env", "memory", lib, "double");
  auto user = Instance::Create(Compile(kUser), l, {});
  ASSERT_FALSE(user.ok());
  EXPECT_NE(user.status().message().find("env.twice"), std::string::npos)
      << user.status().ToString();
  EXPECT_NE(user.status().message().find("env.memory"), std::string::npos)
      << user.status().ToString();
}

TEST_P(LinkerExportTest, InterruptOfAnIdleInstanceCanBeCleared) {
  auto m = Compile(kUser, Metering::kFuel);
  auto lib = Make(Compile(kLib, Metering::kFuel));
  ASSERT_TRUE(lib);
  auto user = Make(m, {}, UserLinker(lib));
  ASSERT_TRUE(user);
  user->Interrupt();
  EXPECT_TRUE(user->InterruptPending());
  user->ClearInterrupt();
  EXPECT_FALSE(user->InterruptPending());
  auto out = user->Call("work", {});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->ok());
  // An interrupt pending on the callee stops the call through the import.
  lib->Interrupt();
  out = user->Call("spin", {});
  ASSERT_TRUE(out.ok());
  ASSERT_FALSE(out->ok());
  EXPECT_EQ(out->trap->kind, TrapKind::kInterrupted);
}

TEST_P(LinkerExportTest, ExpireDeadlineStopsTheNextCallWithADeadlineTrap) {
  auto lib = Make(Compile(kLib, Metering::kFuel));
  ASSERT_TRUE(lib);
  lib->ExpireDeadline();
  auto out = lib->Call("spin", {});
  ASSERT_TRUE(out.ok());
  ASSERT_FALSE(out->ok());
  EXPECT_EQ(out->trap->kind, TrapKind::kDeadline);
  lib->ExpireDeadline();
  lib->ClearInterrupt();
  out = lib->Call("double", {{Value::I32(4)}});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->ok());
}

TEST_P(LinkerExportTest, ZeroInitialFuelAsksTheCallback) {
  int asked = 0;
  InstanceOptions o;
  o.limits.fuel = 0;
  o.on_out_of_fuel = [&asked](Instance&) -> uint64_t { return ++asked < 50 ? 100 : 0; };
  auto user_lib = Make(Compile(kLib, Metering::kFuel));
  ASSERT_TRUE(user_lib);
  auto user = Make(Compile(kUser, Metering::kFuel), o, UserLinker(user_lib));
  ASSERT_TRUE(user);
  auto out = user->Call("work", {});
  ASSERT_TRUE(out.ok());
  ASSERT_FALSE(out->ok());  // 1000 iterations need more than 49 * 100
  EXPECT_EQ(out->trap->kind, TrapKind::kOutOfFuel);
  EXPECT_EQ(asked, 50);
}

INSTANTIATE_TEST_SUITE_P(Tiers, LinkerExportTest, ::testing::Values(Tier::kAot, Tier::kInterp),
                         [](const auto& info) { return std::string(TierName(info.param)); });

}  // namespace
}  // namespace arcella::engine
