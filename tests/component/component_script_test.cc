// The component .wast reader (src/wast/component_script.h) and the jco text
// converter (src/wast/component_text.h).
#include "wast/component_script.h"

#include <gtest/gtest.h>

#include <sstream>

#include "component/npm_tools_util.h"
#include "test_util.h"
#include "wast/component_text.h"
#include "wast/component_wast.h"

namespace arcella::wast {
namespace {

using component::TypeKind;
using component::Val;
using component::ValueType;

ComponentScript ParseScriptOk(std::string_view text) {
  auto s = ParseComponentScript(text, "t.wast");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : ComponentScript{};
}

TEST(ComponentScript, ReadsEveryCommandForm) {
  auto s = ParseScriptOk(R"w(;; comment
(component $A (core module $m))
(component definition $D (; block (; nested ;) ;) (type u8))
(component $B binary "\00asm" "\0d\00\01\00")
(component definition binary "\00asm")
(component instance $i $D)
(component instance $D)
(register "r" $i)
(invoke "go")
(assert_return (invoke $i "f" (u32.const 7)) (str.const "x"))
(assert_trap (invoke "t") "unreachable")
(assert_trap (component (core module)) "boom")
(assert_invalid (component (type u8)) "bad")
(assert_malformed (component quote "(type u8)" "(type u16)") "text")
)w");
  ASSERT_EQ(s.commands.size(), 13u);
  EXPECT_EQ(s.commands[0].kind, CommandKind::kComponent);
  EXPECT_EQ(s.commands[0].component.id, "$A");
  EXPECT_FALSE(s.commands[0].component.definition);
  EXPECT_EQ(s.commands[0].component.text, "\n(component $A (core module $m))");
  // `definition` is blanked out; positions stay the file's.
  EXPECT_EQ(s.commands[1].component.text,
            "\n\n(component            $D (; block (; nested ;) ;) (type u8))");
  EXPECT_TRUE(s.commands[1].component.definition);
  EXPECT_EQ(s.commands[2].component.form, ComponentForm::kBinary);
  EXPECT_EQ(s.commands[2].component.binary,
            (std::vector<uint8_t>{0, 'a', 's', 'm', 0x0d, 0, 1, 0}));
  EXPECT_TRUE(s.commands[3].component.definition);
  EXPECT_EQ(s.commands[3].component.binary.size(), 4u);
  EXPECT_EQ(s.commands[4].kind, CommandKind::kInstance);
  EXPECT_EQ(s.commands[4].instance_id, "$i");
  EXPECT_EQ(s.commands[4].definition_id, "$D");
  EXPECT_EQ(s.commands[5].instance_id, "");
  EXPECT_EQ(s.commands[6].register_name, "r");
  EXPECT_EQ(s.commands[7].invoke.name, "go");
  const ScriptCommand& ret = s.commands[8];
  EXPECT_EQ(ret.kind, CommandKind::kAssertReturn);
  EXPECT_EQ(ret.invoke.instance, "$i");
  ASSERT_EQ(ret.invoke.args.size(), 1u);
  EXPECT_EQ(ret.invoke.args[0].val.u, 7u);
  ASSERT_EQ(ret.expected.size(), 1u);
  EXPECT_EQ(ret.expected[0].val.str, "x");
  EXPECT_EQ(s.commands[9].message, "unreachable");
  EXPECT_FALSE(s.commands[9].has_component);
  EXPECT_TRUE(s.commands[10].has_component);
  EXPECT_EQ(s.commands[11].kind, CommandKind::kAssertInvalid);
  EXPECT_EQ(s.commands[11].message, "bad");
  EXPECT_EQ(s.commands[12].component.form, ComponentForm::kQuote);
  EXPECT_EQ(s.commands[12].component.text, "(component (type u8)(type u16)\n)");
  EXPECT_EQ(s.commands[12].pos.line, 14);
}

TEST(ComponentScript, ReadsValuesAndResolvesThemAgainstTypes) {
  auto s = ParseScriptOk(R"w((invoke "f"
  (record.const (field "b" u8.const 255) (field "a" (list.const (s16.const -32768))))
  (variant.const "some" (char.const "☃"))
  (enum.const "y") (flags.const "z" "x") (option.none) (option.some (bool.const true))
  (result.ok) (result.err (f64.const -1.5)) (tuple.const (u64.const 0xffff_ffff_ffff_ffff))
  (f32.const 2.5)))w");
  ASSERT_EQ(s.commands.size(), 1u);
  const auto& a = s.commands[0].invoke.args;
  ASSERT_EQ(a.size(), 10u);

  auto rec = ValueType::Record({{"a", ValueType::List(ValueType::S16())}, {"b", ValueType::U8()}});
  auto r = a[0].Resolve(*rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(ValEquals(*r, Val::Record({Val::List({Val::S16(-32768)}), Val::U8(255)})));

  auto var = ValueType::Variant({{"none", nullptr}, {"some", ValueType::Char()}});
  r = a[1].Resolve(*var);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(ValEquals(*r, Val::Variant(1, {Val::Char(0x2603)})));

  r = a[2].Resolve(*ValueType::Enum({"x", "y"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->index, 1u);
  r = a[3].Resolve(*ValueType::Flags({"x", "y", "z"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->u, 0b101u);
  r = a[4].Resolve(*ValueType::Option(ValueType::Bool()));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(ValEquals(*r, Val::None()));
  r = a[5].Resolve(*ValueType::Option(ValueType::Bool()));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(ValEquals(*r, Val::Some(Val::Bool(true))));
  r = a[6].Resolve(*ValueType::Result(nullptr, ValueType::F64()));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(ValEquals(*r, Val::ResultOk()));
  r = a[7].Resolve(*ValueType::Result(nullptr, ValueType::F64()));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(ValEquals(*r, Val::ResultErr({Val::F64(-1.5)})));
  r = a[8].Resolve(*ValueType::Tuple({ValueType::U64()}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->items[0].u, ~uint64_t{0});
  EXPECT_EQ(a[9].val.kind, TypeKind::kF32);
  EXPECT_EQ(a[9].val.f32, 2.5f);

  // Mismatches name the value's position and the problem.
  r = a[2].Resolve(*ValueType::Enum({"a"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "4:3: no enum case 'y'");
  r = a[0].Resolve(
      *ValueType::Record({{"a", ValueType::List(ValueType::S16())}, {"c", ValueType::U8()}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("field 'c' missing"), std::string::npos);
  r = a[1].Resolve(*ValueType::U32());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expected a u32 value, got variant"), std::string::npos);
}

TEST(ComponentScript, ErrorsNameLineAndColumn) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"(component", "t.wast:1:1: unclosed '('"},
      {"\n  )", "t.wast:2:3: unexpected ')'"},
      {"(frob)", "t.wast:1:1: unknown command 'frob'"},
      {"(invoke \"f\" (u8.const 256))", "t.wast:1:23: integer out of range for u8.const"},
      {"(invoke \"f\" (s8.const -129))", "t.wast:1:23: integer out of range for s8.const"},
      {"(invoke \"f\" (u32.const -1))", "t.wast:1:24: integer out of range for u32.const"},
      {"(invoke \"f\" (char.const \"ab\"))",
       "t.wast:1:25: char.const takes exactly one Unicode scalar value"},
      {"(invoke \"f\" (f32.const 1e39))", "t.wast:1:24: f32.const out of range"},
      {"(invoke \"f\" (f64.const 1e309))", "t.wast:1:24: bad float for f64.const"},
      {"(invoke \"f\" (zap.const 1))", "t.wast:1:13: unknown value 'zap.const'"},
      {"(component binary \"\\zz\")", "t.wast:1:20: bad string escape"},
      {"(component binary \"abc)", "t.wast:1:19: unterminated string"},
      {"(; never closed", "t.wast:1:1: unterminated block comment"},
      {"(assert_invalid (invoke \"f\"))", "t.wast:1:17: assert_invalid needs a (component ...)"},
      {"(component instance)", "t.wast:1:1: component instance takes [$instance] $definition"},
      {"atom", "t.wast:1:1: expected '(' at the top level"},
  };
  for (const Case& c : cases) {
    auto s = ParseComponentScript(c.text, "t.wast");
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.status().message(), c.error) << c.text;
  }
}

TEST(ComponentScript, DeepNestingIsRefusedNotRecursedWithoutBound) {
  std::string deep = "(component " + std::string(100000, '(');
  auto s = ParseComponentScript(deep, "deep.wast");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("nesting deeper than 1000"), std::string::npos)
      << s.status().message();
}

TEST(ComponentText, ConvertsInOneProcessAndCachesByContent) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  std::string cache = test::TempDir("arcella-component-text") + "/cache";  // created by the call
  ComponentTextTools tools = arcella::testing::NpmTextTools(cache);
  auto out = ConvertComponentTexts({"(component)", "\n\n(component\n  (frob))"}, tools);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 2u);
  ASSERT_TRUE((*out)[0].ok()) << (*out)[0].status().ToString();
  EXPECT_EQ(*(*out)[0], (std::vector<uint8_t>{0, 'a', 's', 'm', 0x0d, 0, 1, 0}));
  ASSERT_FALSE((*out)[1].ok());
  // The parser's position is the text's (1-based), i.e. the file's.
  EXPECT_EQ((*out)[1].status().message(), "4:4: expected valid component field");

  // A second run is served from the cache: no node process at all.
  tools.node = "/nonexistent/node";
  auto again = ConvertComponentTexts({"(component)", "\n\n(component\n  (frob))"}, tools);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)[0].ok());
  EXPECT_FALSE((*again)[1].ok());
  // Anything new needs node, which is named in the error.
  auto fresh = ConvertComponentTexts({"(component (type u8))"}, tools);
  ASSERT_FALSE(fresh.ok());
  EXPECT_NE(fresh.status().message().find("/nonexistent/node"), std::string::npos);
}

TEST(ComponentWast, CountsAndFailuresOfOneScript) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  ComponentWastOptions options{.tools = arcella::testing::NpmTextTools()};
  std::ostringstream log;
  auto c = RunComponentWastText("mini.wast", R"w(
(component)
(component binary "\00asm" "\0d\00\01\00")
(assert_malformed (component binary "\00asm" "\0d\00") "too short")
(assert_malformed (component quote "(frob)") "unknown field")
(assert_invalid (component binary "\00asm" "\0d\00\01\00") "wrongly expected invalid")
(component definition $D binary "\00asm" "\0d\00\01\00")
(component instance $x $D)
(assert_return (invoke $x "f") (u8.const 1))
(component instance $y $Nowhere)
(invoke $y "g")
)w",
                                options, log);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->valid_decoded, 3);
  EXPECT_EQ(c->malformed_refused, 2);
  EXPECT_EQ(c->refused_by_text, 1);
  EXPECT_EQ(c->needs_instantiation, 4);
  ASSERT_EQ(c->failed, 3);
  EXPECT_EQ(c->failures[0],
            "mini.wast:6:1: assert_invalid: decoded a component that must be refused "
            "(expected: \"wrongly expected invalid\")");
  // Script consistency: instances of unknown definitions, calls on unknown instances.
  EXPECT_EQ(c->failures[1],
            "mini.wast:10:1: component instance: no component $Nowhere defined before");
  EXPECT_EQ(c->failures[2], "mini.wast:11:1: invoke: no instance $y before");
  EXPECT_NE(log.str().find("mini.wast: 3 valid decoded"), std::string::npos) << log.str();
}

TEST(ComponentWast, RunsInstancesCallsAndAssertions) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  ComponentWastOptions options{.tools = arcella::testing::NpmTextTools()};
  options.engine = arcella::test::TestEngine();
  options.tier = engine::Tier::kInterp;
  std::ostringstream log;
  auto c = RunComponentWastText("run.wast", R"w(
(component definition $C
  (core module $M
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "boom") unreachable))
  (core instance $m (instantiate $M))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $m "add")))
  (func (export "boom") (canon lift (core func $m "boom"))))
(component instance $i $C)
(assert_return (invoke $i "add" (u32.const 2) (u32.const 40)) (u32.const 42))
(assert_return (invoke "add" (u32.const 1) (u32.const 1)) (u32.const 3))
(assert_trap (invoke "add" (u32.const 1) (u32.const 1)) "wrongly expected")
(invoke "add" (u32.const 1) (u32.const 1))
(assert_trap (invoke "boom") "unreachable")
(assert_trap (invoke "add" (u32.const 1) (u32.const 1)) "cannot enter component instance")
(component (import "x" (func)))
(invoke "f")
)w",
                                options, log);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->instantiated, 1);
  EXPECT_EQ(c->returns_passed, 1);
  EXPECT_EQ(c->traps_passed, 2);  // boom, then add on the instance boom poisoned
  EXPECT_EQ(c->invoked, 1);
  EXPECT_EQ(c->run_unsupported, 2);  // a component with an import, and the call on it
  ASSERT_EQ(c->failed, 2) << log.str();
  EXPECT_EQ(c->failures[0], "run.wast:12:1: assert_return: result differs from the expected value");
  EXPECT_EQ(c->failures[1],
            "run.wast:13:1: assert_trap: returned; expected a trap \"wrongly expected\"");
}

}  // namespace
}  // namespace arcella::wast
