// The component binary decoder and validator (component/decoder.h) on
// hand-assembled binaries: every section and type constructor, errors with
// offsets, async refusal, depth and size limits, truncation and corruption.
#include "component/decoder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "component/ast.h"
#include "component/decoder_test_util.h"

namespace arcella::component {
namespace {

using testing::CompBuilder;
using testing::CompBytes;
using testing::CompCoreModule;
using testing::CompOf;
using testing::CompPreamble;
using testing::CompSection;

// A component exercising most sections: types of every constructor, an
// interface import with a resource and a method, a core module instantiated
// and its exports aliased, canon lift and resource.drop, a nested component
// instantiated, exports and a custom section.
CompBytes DecoderRichComponent() {
  CompBuilder types;
  types.U32(13);
  types.Byte(0x72).U32(2).Name("x").Byte(0x79).Name("label").Byte(0x73);                // 0 record
  types.Byte(0x71).U32(2).Name("none").Bytes({0, 0}).Name("some").Bytes({1, 0x79, 0});  // 1
  types.Bytes({0x70, 0x00});                                                            // 2 list<0>
  types.Bytes({0x67, 0x7d, 0x04});                                   // 3 list<u8, 4>
  types.Bytes({0x6f, 0x02, 0x7d, 0x01});                             // 4 tuple
  types.Byte(0x6e).U32(2).Name("a").Name("b");                       // 5 flags
  types.Byte(0x6d).U32(2).Name("red").Name("green");                 // 6 enum
  types.Bytes({0x6b, 0x73});                                         // 7 option
  types.Bytes({0x6a, 0x01, 0x79, 0x01, 0x73});                       // 8 result
  types.Bytes({0x6a, 0x00, 0x00});                                   // 9 result
  types.Byte(0x40).U32(1).Name("p").Byte(0x00).Bytes({0x00, 0x08});  // 10 func
  // 11: (instance (export "r" (type (sub resource)))
  //               (type (borrow 0)) (type (func (param "self" 1)))
  //               (export "[method]r.go" (func (type 2))))
  types.Byte(0x42).U32(4);
  types.Byte(0x04).Byte(0x00).Name("r").Bytes({0x03, 0x01});
  types.Bytes({0x01, 0x68, 0x00});
  types.Byte(0x01).Byte(0x40).U32(1).Name("self").Byte(0x01).Bytes({0x01, 0x00});
  types.Byte(0x04).Byte(0x00).Name("[method]r.go").Bytes({0x01, 0x02});
  // 12: (component (type (func)) (import "x" (func (type 0))))
  types.Byte(0x41).U32(2).Bytes({0x01, 0x40, 0x00, 0x01, 0x00});
  types.Byte(0x03).Byte(0x00).Name("x").Bytes({0x01, 0x00});

  CompBuilder imports;
  imports.U32(2);
  imports.Byte(0x00).Name("wasi:io/streams@0.2.0").Bytes({0x05, 0x0b});  // instance 0
  imports.Byte(0x00).Name("pt").Bytes({0x03, 0x00, 0x00});               // type 13

  CompBuilder inst;  // core instance 0 = instantiate module 0
  inst.Bytes({0x01, 0x00, 0x00, 0x00});

  CompBuilder aliases;
  aliases.U32(4);
  aliases.Bytes({0x00, 0x00, 0x01, 0x00}).Name("f");        // core func 0
  aliases.Bytes({0x00, 0x00, 0x01, 0x00}).Name("realloc");  // core func 1
  aliases.Bytes({0x00, 0x02, 0x01, 0x00}).Name("mem");      // core memory 0
  aliases.Bytes({0x03, 0x00, 0x00}).Name("r");              // type 14 (resource)

  CompBuilder functype;  // type 15: func(x: u32) -> u32
  functype.U32(1).Byte(0x40).U32(1).Name("x").Byte(0x79).Bytes({0x00, 0x79});

  CompBuilder canon;
  canon.U32(2);
  canon.Bytes({0x00, 0x00, 0x00, 0x00, 0x0f});  // lift core func 0, type 15 -> func 0
  canon.Bytes({0x03, 0x0e});                    // resource.drop type 14 -> core func 2

  CompBuilder nested_inst;  // instance 1 = instantiate component 0
  nested_inst.Bytes({0x01, 0x00, 0x00, 0x00});

  CompBuilder exports;
  exports.U32(2);
  exports.Byte(0x00).Name("run").Bytes({0x01, 0x00, 0x00});
  exports.Byte(0x00).Name("point").Bytes({0x03, 0x0d, 0x00});

  CompBuilder custom;
  custom.Name("component-name").Bytes({0xff, 0xfe});

  return CompOf({CompSection(7, types.b), CompSection(10, imports.b),
                 CompSection(1, CompCoreModule()), CompSection(2, inst.b),
                 CompSection(6, aliases.b), CompSection(7, functype.b), CompSection(8, canon.b),
                 CompSection(4, CompPreamble()), CompSection(5, nested_inst.b),
                 CompSection(11, exports.b), CompSection(0, custom.b)});
}

std::string DecoderErrorOf(const CompBytes& b) {
  auto r = DecodeComponent(b);
  return r.ok() ? "OK" : r.status().message();
}

TEST(ComponentDecoder, RecognisesThePreamble) {
  EXPECT_TRUE(IsComponentBinary(CompPreamble()));
  CompBytes core = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  EXPECT_FALSE(IsComponentBinary(core));
  EXPECT_FALSE(IsComponentBinary({}));
  auto empty = DecodeComponent(CompPreamble());
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE((*empty)->defs.empty());
  EXPECT_EQ(DecoderErrorOf(core), "offset 0x6: this is a core module, not a component (layer 0)");
  CompBytes v = CompPreamble();
  v[4] = 0x0c;
  EXPECT_EQ(DecoderErrorOf(v), "offset 0x4: unknown component version (expected 0x0d 0x00)");
  EXPECT_EQ(DecoderErrorOf({0x00, 0x61}),
            "offset 0x2: magic header not detected: bad magic number");
}

TEST(ComponentDecoder, DecodesEverySectionInBinaryOrder) {
  auto r = DecodeComponent(DecoderRichComponent());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Component& c = **r;
  std::vector<DefKind> kinds;
  for (const Def& d : c.defs) kinds.push_back(d.kind);
  ASSERT_GE(kinds.size(), 4u);
  EXPECT_EQ(kinds.front(), DefKind::kType);
  EXPECT_EQ(kinds.back(), DefKind::kExport);
  EXPECT_EQ(c.types.size(), 14u);
  EXPECT_EQ(c.imports.size(), 2u);
  EXPECT_EQ(c.aliases.size(), 4u);
  EXPECT_EQ(c.canons.size(), 2u);
  EXPECT_EQ(c.components.size(), 1u);
  EXPECT_EQ(c.instances.size(), 1u);
  EXPECT_EQ(c.exports.size(), 2u);

  // Value types resolve to the shared structural model.
  EXPECT_EQ(TypeToString(*c.types[0]->value), "record { x: u32, label: string }");
  EXPECT_EQ(TypeToString(*c.types[2]->value), "list<record { x: u32, label: string }>");
  EXPECT_EQ(TypeToString(*c.types[3]->value), "list<u8, 4>");
  EXPECT_EQ(c.types[5]->value->kind, TypeKind::kFlags);
  EXPECT_EQ(c.types[6]->value->labels, (std::vector<std::string>{"red", "green"}));
  EXPECT_EQ(TypeToString(*c.types[8]->value), "result<u32, string>");
  ASSERT_EQ(c.types[10]->kind, TypeDef::Kind::kFunc);
  EXPECT_EQ(c.types[10]->func->params[0].name, "p");
  EXPECT_EQ(c.types[12]->kind, TypeDef::Kind::kComponent);
  EXPECT_EQ(c.types[12]->component->imports[0].name.text, "x");

  // Names keep their structure.
  const Import& io = c.imports[0];
  EXPECT_EQ(io.name.kind, ExternName::Kind::kInterface);
  EXPECT_EQ(io.name.ns, "wasi");
  EXPECT_EQ(io.name.package, "io");
  EXPECT_EQ(io.name.interface, "streams");
  EXPECT_EQ(io.name.version, "0.2.0");
  const InstanceType& streams = *io.type.instance;
  ASSERT_EQ(streams.exports.size(), 2u);
  EXPECT_TRUE(streams.exports[0].type.sub_resource);
  EXPECT_EQ(streams.exports[1].name.kind, ExternName::Kind::kMethod);
  EXPECT_EQ(streams.exports[1].name.resource, "r");
  EXPECT_EQ(streams.exports[1].name.label, "go");

  // Index spaces record where each entry came from.
  const auto& types = c.space(Sort::kType);
  ASSERT_EQ(types.size(), 17u);  // + the exported "point"
  EXPECT_EQ(types[13].origin, DefKind::kImport);
  EXPECT_EQ(types[14].origin, DefKind::kAlias);
  EXPECT_EQ(types[15].origin, DefKind::kType);
  EXPECT_EQ(types[16].origin, DefKind::kExport);
  const ResourceRef& r_res = types[14].type.type->resource;
  EXPECT_EQ(r_res.get(), streams.exports[0].type.type->resource.get());
  EXPECT_EQ(r_res->name, "r");

  ASSERT_EQ(c.space(Sort::kCoreFunc).size(), 3u);
  EXPECT_EQ(c.space(Sort::kCoreFunc)[0].origin, DefKind::kAlias);
  EXPECT_EQ(c.space(Sort::kCoreFunc)[2].origin, DefKind::kCanon);
  EXPECT_EQ(c.space(Sort::kCoreFunc)[2].def, 1u);
  EXPECT_EQ(c.space(Sort::kCoreMemory).size(), 1u);
  EXPECT_EQ(c.canons[0].kind, Canon::Kind::kLift);
  EXPECT_EQ(c.canons[0].core_type.ToString(), "(i32) -> (i32)");
  EXPECT_EQ(c.canons[1].kind, Canon::Kind::kResourceDrop);
  EXPECT_EQ(c.canons[1].resource.get(), r_res.get());

  // Core modules are spans into the owned copy of the input.
  ASSERT_EQ(c.core_modules.size(), 1u);
  EXPECT_EQ(c.core_modules[0].bytes.size(), CompCoreModule().size());
  EXPECT_EQ(c.core_modules[0].bytes.data(), c.bytes->data() + c.core_modules[0].offset);
  EXPECT_EQ(c.core_modules[0].type->exports.size(), 4u);

  EXPECT_EQ(c.exports[0].name.label, "run");
  EXPECT_EQ(c.exports[0].type.func->ToString(), "func(x: u32) -> u32");
  EXPECT_EQ(c.type.exports.size(), 2u);
  ASSERT_EQ(c.customs.size(), 1u);
  EXPECT_EQ(c.customs[0].name, "component-name");
  EXPECT_EQ(c.customs[0].payload.size(), 2u);
}

TEST(ComponentDecoder, DecodesCoreTypesAndInlineInstances) {
  CompBuilder core_types;  // (type (func (param i32))) and a module type
  core_types.U32(2).Bytes({0x60, 0x01, 0x7f, 0x00});
  core_types.Bytes({0x50, 0x03, 0x01, 0x60, 0x00, 0x00});  // (type (func))
  core_types.Byte(0x00).Name("m").Name("f").Bytes(
      {0x00, 0x00});                                          // (import "m" "f" (func (type 0)))
  core_types.Byte(0x03).Name("g").Bytes({0x02, 0x00, 0x01});  // (export "g" (memory 1))
  CompBuilder alias;
  alias.U32(1).Bytes({0x00, 0x00, 0x01, 0x00}).Name("f");
  CompBuilder inline_core;  // (core instance (export "f" (func 0)))
  inline_core.U32(1).Byte(0x01).U32(1).Name("f").Bytes({0x00, 0x00});
  CompBuilder imp;  // (import "m" (core module (type 1)))
  imp.U32(1).Byte(0x00).Name("m").Bytes({0x00, 0x11, 0x01});
  CompBuilder inline_inst;  // (instance (export "m" (core module 1)))
  inline_inst.U32(1).Byte(0x01).U32(1).Byte(0x00).Name("m").Bytes({0x00, 0x11, 0x01});
  CompBuilder exp;
  exp.U32(1).Byte(0x00).Name("inst").Bytes({0x05, 0x00, 0x00});
  auto r = DecodeComponent(
      CompOf({CompSection(3, core_types.b), CompSection(1, CompCoreModule()),
              CompSection(2, {0x01, 0x00, 0x00, 0x00}), CompSection(6, alias.b),
              CompSection(2, inline_core.b), CompSection(10, imp.b), CompSection(5, inline_inst.b),
              CompSection(11, exp.b)}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Component& c = **r;
  ASSERT_EQ(c.core_types.size(), 2u);
  EXPECT_FALSE(c.core_types[0]->is_module);
  EXPECT_EQ(c.core_types[0]->func.ToString(), "(i32) -> ()");
  ASSERT_TRUE(c.core_types[1]->is_module);
  EXPECT_EQ(c.core_types[1]->module->imports[0].module, "m");
  EXPECT_EQ(c.core_types[1]->module->imports[0].desc.func.ToString(), "() -> ()");
  EXPECT_EQ(c.core_types[1]->module->exports[0].desc.limits.min, 1u);
  ASSERT_EQ(c.core_instances.size(), 2u);
  EXPECT_TRUE(c.core_instances[0].instantiate);
  EXPECT_FALSE(c.core_instances[1].instantiate);
  const CoreInstanceType& bag = *c.space(Sort::kCoreInstance)[1].core_instance;
  ASSERT_NE(bag.Find("f"), nullptr);
  EXPECT_EQ(bag.Find("f")->desc.func.ToString(), "(i32) -> (i32)");
  EXPECT_EQ(c.space(Sort::kCoreModule).size(), 2u);
  EXPECT_EQ(c.space(Sort::kCoreModule)[1].origin, DefKind::kImport);
  ASSERT_EQ(c.instances.size(), 1u);
  EXPECT_FALSE(c.instances[0].instantiate);
  EXPECT_EQ(c.instances[0].exports[0].sort, Sort::kCoreModule);
  EXPECT_EQ(c.exports[0].type.instance->exports[0].type.sort, Sort::kCoreModule);
  // The core module type does not match what the module instance needs.
  CompBuilder bad_inst;  // instantiate the imported module type without arguments
  bad_inst.U32(1).Bytes({0x00, 0x01, 0x00});
  EXPECT_NE(DecoderErrorOf(CompOf({CompSection(3, core_types.b), CompSection(1, CompCoreModule()),
                                   CompSection(10, imp.b), CompSection(2, bad_inst.b)}))
                .find("missing module instantiation argument named `m`"),
            std::string::npos);
}

TEST(ComponentDecoder, ErrorsNameTheOffsetAndTheRule) {
  // A record without fields: section id at 8, size 9, count 10, opcode 11.
  EXPECT_EQ(DecoderErrorOf(CompOf({CompSection(7, {0x01, 0x72, 0x00})})),
            "offset 0xb: record type must have at least one field");
  CompBuilder bad_name;
  bad_name.U32(1).Byte(0x00).Name("Foo-bar").Bytes({0x01, 0x00});
  std::string e = DecoderErrorOf(CompOf({CompSection(10, bad_name.b)}));
  EXPECT_NE(e.find("offset 0xc: `Foo-bar` is not a valid extern name"), std::string::npos) << e;
  EXPECT_EQ(DecoderErrorOf(CompOf({CompSection(13, {})})), "offset 0x8: malformed section id: 13");
  EXPECT_NE(
      DecoderErrorOf(CompOf({CompSection(7, {0x01, 0x69, 0x00})})).find("type index out of bounds"),
      std::string::npos);
  // own<u32>: not a resource.
  EXPECT_NE(DecoderErrorOf(CompOf({CompSection(7, {0x02, 0x79, 0x69, 0x00})}))
                .find("not a resource type"),
            std::string::npos);
  // A section size past the end.
  CompBytes trunc = CompPreamble();
  trunc.insert(trunc.end(), {0x07, 0x05, 0x01});
  EXPECT_NE(DecoderErrorOf(trunc).find("offset 0x8: section too large"), std::string::npos);
  // A vector length larger than its bytes allocates nothing.
  CompBytes huge = CompOf({CompSection(7, {0xff, 0xff, 0xff, 0xff, 0x0f})});
  EXPECT_NE(DecoderErrorOf(huge).find("vector length 4294967295"), std::string::npos);
}

TEST(ComponentDecoder, ValidatesNamesAndUniqueness) {
  CompBuilder dup;  // imports "a" and "A" conflict (strong uniqueness)
  dup.U32(2).Byte(0x00).Name("a").Bytes({0x01, 0x00}).Byte(0x00).Name("A").Bytes({0x01, 0x00});
  auto with_func = [](const CompBytes& imports) {
    return CompOf({CompSection(7, {0x01, 0x40, 0x00, 0x01, 0x00}), CompSection(10, imports)});
  };
  EXPECT_NE(
      DecoderErrorOf(with_func(dup.b)).find("import name `A` conflicts with previous name `a`"),
      std::string::npos);
  CompBuilder bad_version;
  bad_version.U32(1).Byte(0x00).Name("a:b/c@1.").Bytes({0x01, 0x00});
  EXPECT_NE(DecoderErrorOf(with_func(bad_version.b)).find("unexpected end of input"),
            std::string::npos);
  CompBuilder method;  // [method] without a resource
  method.U32(1).Byte(0x00).Name("[method]r.go").Bytes({0x01, 0x00});
  EXPECT_NE(
      DecoderErrorOf(with_func(method.b)).find("function does not match expected resource name"),
      std::string::npos);
  CompBuilder ok;
  ok.U32(2).Byte(0x00).Name("wasi:cli/run@0.2.3").Bytes({0x01, 0x00});
  ok.Byte(0x00).Name("get-JSON").Bytes({0x01, 0x00});
  EXPECT_EQ(DecoderErrorOf(with_func(ok.b)), "OK");
}

TEST(ComponentDecoder, ChecksResourcesAndFunctionTypes) {
  // borrow in a result is refused.
  CompBytes borrow_result = CompOf(
      {CompSection(10, {0x01, 0x00, 0x01, 'r', 0x03,
                        0x01}),  // import "r" (type (sub resource)) -> type 0
       CompSection(7, {0x02, 0x68, 0x00, 0x40, 0x00, 0x00, 0x01})});
  EXPECT_NE(DecoderErrorOf(borrow_result).find("function result cannot contain a `borrow` type"),
            std::string::npos);
  // resource.new of an imported resource is refused.
  CompBytes new_imported = CompOf(
      {CompSection(10, {0x01, 0x00, 0x01, 'r', 0x03, 0x01}), CompSection(8, {0x01, 0x02, 0x00})});
  EXPECT_NE(DecoderErrorOf(new_imported).find("is not a local resource"), std::string::npos);
  // A resource with a destructor of the wrong type.
  CompBytes module = CompCoreModule();
  CompBuilder alias;
  alias.U32(1).Bytes({0x00, 0x00, 0x01, 0x00}).Name("f");
  CompBytes bad_dtor = CompOf({CompSection(1, module), CompSection(2, {0x01, 0x00, 0x00, 0x00}),
                               CompSection(6, alias.b),
                               CompSection(7, {0x01, 0x3f, 0x7f, 0x01, 0x00})});
  EXPECT_NE(DecoderErrorOf(bad_dtor).find("wrong signature for a destructor"), std::string::npos);
}

TEST(ComponentDecoder, ChecksCanonicalOptions) {
  CompBytes module = CompCoreModule();
  CompBuilder alias;
  alias.U32(3).Bytes({0x00, 0x00, 0x01, 0x00}).Name("drop");
  alias.Bytes({0x00, 0x00, 0x01, 0x00}).Name("realloc");
  alias.Bytes({0x00, 0x02, 0x01, 0x00}).Name("mem");
  CompBuilder ftype;  // func(s: string)
  ftype.U32(1).Byte(0x40).U32(1).Name("s").Byte(0x73).Bytes({0x01, 0x00});
  auto with_canon = [&](const CompBytes& canon) {
    return CompOf({CompSection(1, module), CompSection(2, {0x01, 0x00, 0x00, 0x00}),
                   CompSection(6, alias.b), CompSection(7, ftype.b), CompSection(8, canon)});
  };
  // string params: lift flattens to (i32 i32) but "drop" is (i32).
  EXPECT_NE(DecoderErrorOf(with_canon({0x01, 0x00, 0x00, 0x00, 0x02, 0x03, 0x00, 0x04, 0x01, 0x00}))
                .find("lowered parameter types"),
            std::string::npos);
  EXPECT_NE(
      DecoderErrorOf(with_canon({0x01, 0x00, 0x00, 0x00, 0x00, 0x00})).find("`memory` is required"),
      std::string::npos);
  EXPECT_NE(DecoderErrorOf(with_canon({0x01, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00}))
                .find("`realloc` is required"),
            std::string::npos);
  EXPECT_NE(DecoderErrorOf(with_canon({0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00}))
                .find("conflicts with option"),
            std::string::npos);
  // realloc with the wrong signature ("drop" is (i32) -> ()).
  EXPECT_NE(DecoderErrorOf(with_canon({0x01, 0x00, 0x00, 0x00, 0x02, 0x03, 0x00, 0x04, 0x00, 0x00}))
                .find("`realloc` uses a core function with an incorrect signature"),
            std::string::npos);
  // lower needs memory+realloc only for results; a string param needs memory.
  CompBuilder import_f;
  import_f.U32(1).Byte(0x00).Name("f").Bytes({0x01, 0x00});
  CompBytes lower = CompOf({CompSection(1, module), CompSection(2, {0x01, 0x00, 0x00, 0x00}),
                            CompSection(6, alias.b), CompSection(7, ftype.b),
                            CompSection(10, import_f.b),
                            CompSection(8, {0x01, 0x01, 0x00, 0x00, 0x01, 0x03, 0x00})});
  auto r = DecodeComponent(lower);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->canons[0].core_type.ToString(), "(i32, i32) -> ()");
  EXPECT_EQ((*r)->canons[0].opts.memory, 0u);
}

TEST(ComponentDecoder, DecodesMapTypesAndRefusesNonKeyKeys) {
  // 0 (map string u32), 1 (list 0), 2 (map u8 1), 3 (tuple string u32), 4 (list 3)
  auto r = DecodeComponent(CompOf({CompSection(7, {0x05, 0x63, 0x73, 0x79, 0x70, 0x00, 0x63, 0x7d,
                                                   0x01, 0x6f, 0x02, 0x73, 0x79, 0x70, 0x03})}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Component& c = **r;
  ASSERT_EQ(c.types.size(), 5u);
  const ValueType& m = *c.types[0]->value;
  EXPECT_EQ(m.kind, TypeKind::kMap);
  EXPECT_EQ(TypeToString(m), "map<string, u32>");
  EXPECT_EQ(m.map_key()->kind, TypeKind::kString);
  EXPECT_EQ(m.map_value()->kind, TypeKind::kU32);
  EXPECT_EQ(TypeToString(*c.types[2]->value), "map<u8, list<map<string, u32>>>");
  // A map is its own type, not the list<tuple<k, v>> it despecialises to.
  EXPECT_EQ(TypeToString(*c.types[4]->value), "list<tuple<string, u32>>");
  EXPECT_FALSE(TypeEquals(m, *c.types[4]->value));
  EXPECT_TRUE(TypeEquals(m, *ValueType::Map(ValueType::String(), ValueType::U32())));
  // Keys outside <keytype> (floats, compound types) are invalid; the offset is the key's.
  EXPECT_EQ(DecoderErrorOf(CompOf({CompSection(7, {0x01, 0x63, 0x76, 0x79})})),
            "offset 0xc: map key type must be a <keytype> (bool, an integer, char or string), "
            "not f32");
  EXPECT_EQ(DecoderErrorOf(CompOf({CompSection(7, {0x02, 0x70, 0x7d, 0x63, 0x00, 0x79})})),
            "offset 0xe: map key type must be a <keytype> (bool, an integer, char or string), "
            "not list<u8>");
}

TEST(ComponentDecoder, RefusesAsyncFeaturesAsUnsupported) {
  auto unsupported = [](const CompBytes& b, const std::string& what) {
    auto r = DecodeComponent(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().message();
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("not supported yet"), std::string::npos);
  };
  unsupported(CompOf({CompSection(7, {0x01, 0x43, 0x00, 0x01, 0x00})}), "async function types");
  unsupported(CompOf({CompSection(7, {0x01, 0x66, 0x00})}), "`stream`");
  unsupported(CompOf({CompSection(7, {0x01, 0x65, 0x01, 0x79})}), "`future`");
  unsupported(CompOf({CompSection(7, {0x01, 0x64})}), "`error-context`");
  unsupported(CompOf({CompSection(8, {0x01, 0x09, 0x01, 0x00, 0x00})}), "`task.return`");
  unsupported(CompOf({CompSection(8, {0x01, 0x24})}), "`backpressure.inc`");
  unsupported(CompOf({CompSection(8, {0x01, 0x1f})}), "`waitable-set.new`");
  unsupported(CompOf({CompSection(8, {0x01, 0x0a, 0x7f, 0x00})}), "`context.get`");
  CompBuilder imp;
  imp.U32(1).Byte(0x00).Name("f").Bytes({0x01, 0x00});
  unsupported(CompOf({CompSection(7, {0x01, 0x40, 0x00, 0x01, 0x00}), CompSection(10, imp.b),
                      CompSection(8, {0x01, 0x01, 0x00, 0x00, 0x01, 0x06})}),
              "`async` canonical option");
}

CompBytes DecoderNestedComponents(int depth) {
  CompBytes c = CompPreamble();
  for (int i = 0; i < depth; ++i) c = CompOf({CompSection(4, c)});
  return c;
}

TEST(ComponentDecoder, LimitsNesting) {
  EXPECT_EQ(DecoderErrorOf(DecoderNestedComponents(static_cast<int>(kMaxNesting) - 1)), "OK");
  EXPECT_NE(DecoderErrorOf(DecoderNestedComponents(static_cast<int>(kMaxNesting) + 5))
                .find("nested too deeply"),
            std::string::npos);
  // Instance types inside instance types.
  CompBytes t = {0x42, 0x00};
  for (int i = 0; i < 200; ++i) {
    CompBuilder b;
    b.Bytes({0x42, 0x01, 0x01}).Raw(t);
    t = b.b;
  }
  CompBuilder sec;
  sec.U32(1).Raw(t);
  EXPECT_NE(DecoderErrorOf(CompOf({CompSection(7, sec.b)})).find("nested too deeply"),
            std::string::npos);
}

TEST(ComponentDecoder, LimitsTypeDepthAndSize) {
  CompBuilder deep;  // option<option<...<u8>>> through 150 type indices
  deep.U32(150).Bytes({0x6b, 0x7d});
  for (uint32_t i = 1; i < 150; ++i) deep.Byte(0x6b).TypeIdx(i - 1);
  EXPECT_NE(DecoderErrorOf(CompOf({CompSection(7, deep.b)})).find("type nesting too deep"),
            std::string::npos);
  CompBuilder wide;  // tuple<t, t> doubling: 2^30 nodes if expanded
  wide.U32(30).Bytes({0x6f, 0x02, 0x7d, 0x7d});
  for (uint32_t i = 1; i < 30; ++i) wide.Bytes({0x6f, 0x02}).U32(i - 1).U32(i - 1);
  EXPECT_NE(DecoderErrorOf(CompOf({CompSection(7, wide.b)})).find("effective type size exceeds"),
            std::string::npos);
}

TEST(ComponentDecoder, LimitsTypeCheckingWork) {
  // An instance type with 2000 function exports; a component type importing
  // one; that component instantiated 3000 times: each instantiation checks
  // 2000 exports, past the work limit.
  CompBuilder types;
  types.U32(2).Byte(0x42).U32(2001).Bytes({0x01, 0x40, 0x00, 0x01, 0x00});
  for (int i = 0; i < 2000; ++i)
    types.Byte(0x04).Byte(0x00).Name("f" + std::to_string(i)).Bytes({0x01, 0x00});
  // (component (alias outer 1 0 (type)) (import "i" (instance (type 0))))
  types.Byte(0x41).U32(2).Bytes({0x02, 0x03, 0x02, 0x01, 0x00});
  types.Byte(0x03).Byte(0x00).Name("i").Bytes({0x05, 0x00});
  CompBuilder imports;
  imports.U32(2).Byte(0x00).Name("c").Bytes({0x04, 0x01}).Byte(0x00).Name("x").Bytes({0x05, 0x00});
  CompBuilder insts;
  insts.U32(3000);
  for (int i = 0; i < 3000; ++i) insts.Bytes({0x00, 0x00, 0x01}).Name("i").Bytes({0x05, 0x00});
  std::string e = DecoderErrorOf(
      CompOf({CompSection(7, types.b), CompSection(10, imports.b), CompSection(5, insts.b)}));
  EXPECT_NE(e.find("too complex to validate"), std::string::npos) << e;
}

TEST(ComponentDecoder, TypeChecksInstantiation) {
  // A nested component importing "x" (func (param "a" u32)); instantiated
  // with a func of another type, then without the argument.
  CompBuilder inner_types;
  inner_types.U32(1).Byte(0x40).U32(1).Name("a").Byte(0x79).Bytes({0x01, 0x00});
  CompBuilder inner_imp;
  inner_imp.U32(1).Byte(0x00).Name("x").Bytes({0x01, 0x00});
  CompBytes inner = CompOf({CompSection(7, inner_types.b), CompSection(10, inner_imp.b)});
  CompBuilder outer_imp;
  outer_imp.U32(1).Byte(0x00).Name("g").Bytes({0x01, 0x00});
  auto outer = [&](const CompBytes& inst) {
    return CompOf({CompSection(4, inner), CompSection(7, {0x01, 0x40, 0x00, 0x01, 0x00}),
                   CompSection(10, outer_imp.b), CompSection(5, inst)});
  };
  CompBuilder with;
  with.Bytes({0x01, 0x00, 0x00, 0x01}).Name("x").Bytes({0x01, 0x00});
  EXPECT_NE(DecoderErrorOf(outer(with.b)).find("expected 1 parameters, found 0"),
            std::string::npos);
  EXPECT_NE(DecoderErrorOf(outer({0x01, 0x00, 0x00, 0x00})).find("missing import named `x`"),
            std::string::npos);
}

TEST(ComponentDecoder, RequiresNamesForTypesOfExports) {
  // (type $R (record (field "x" u32))) (import "f" (func (param "r" $R)))
  CompBuilder types;
  types.U32(2).Byte(0x72).U32(1).Name("x").Byte(0x79);
  types.Byte(0x40).U32(1).Name("r").Byte(0x00).Bytes({0x01, 0x00});
  CompBuilder imp;
  imp.U32(1).Byte(0x00).Name("f").Bytes({0x01, 0x01});
  EXPECT_NE(DecoderErrorOf(CompOf({CompSection(7, types.b), CompSection(10, imp.b)}))
                .find("func not valid to be used as import"),
            std::string::npos);
  // Importing the record first under a name makes it visible.
  CompBuilder named;
  named.U32(1).Byte(0x00).Name("r").Bytes({0x03, 0x00, 0x00});  // type 1 = named copy
  CompBuilder types2;
  types2.U32(1).Byte(0x40).U32(1).Name("r").Byte(0x01).Bytes({0x01, 0x00});  // type 2
  CompBuilder imp2;
  imp2.U32(1).Byte(0x00).Name("f").Bytes({0x01, 0x02});
  CompBuilder rec;
  rec.U32(1).Byte(0x72).U32(1).Name("x").Byte(0x79);
  auto r = DecodeComponent(CompOf({CompSection(7, rec.b), CompSection(10, named.b),
                                   CompSection(7, types2.b), CompSection(10, imp2.b)}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  // The parameter is the named node (what the WIT printer calls `r`), not
  // the anonymous definition, though both are the same structural type.
  const Component& c = **r;
  const ValueType* param = c.imports[1].type.func->params[0].type.get();
  EXPECT_EQ(param, c.imports[0].type.type->value.get());
  EXPECT_NE(param, c.types[0]->value.get());
  EXPECT_TRUE(TypeEquals(*param, *c.types[0]->value));
}

TEST(ComponentDecoder, ChecksOuterAliases) {
  // (component (type (resource (rep i32))) (component (alias outer 1 0 (type))))
  CompBytes inner = CompOf({CompSection(6, {0x01, 0x03, 0x02, 0x01, 0x00})});
  CompBytes resource = CompOf({CompSection(7, {0x01, 0x3f, 0x7f, 0x00}), CompSection(4, inner)});
  EXPECT_NE(DecoderErrorOf(resource).find("transitively refers to resources"), std::string::npos);
  CompBuilder rec;
  rec.U32(1).Byte(0x72).U32(1).Name("x").Byte(0x79);
  auto r = DecodeComponent(CompOf({CompSection(7, rec.b), CompSection(4, inner)}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Component& nested = *(*r)->components[0];
  ASSERT_EQ(nested.aliases.size(), 1u);
  EXPECT_EQ(nested.aliases[0].kind, Alias::Kind::kOuter);
  EXPECT_EQ(nested.space(Sort::kType)[0].type.type.get(), (*r)->types[0].get());
  // Counting past the outermost component is refused.
  EXPECT_NE(DecoderErrorOf(CompOf({CompSection(6, {0x01, 0x03, 0x02, 0x01, 0x00})}))
                .find("invalid outer alias count"),
            std::string::npos);
}

TEST(ComponentDecoder, ChecksTheStartFunction) {
  // (import "f" (func)) (start 0): no arguments, no results.
  CompBuilder imp;
  imp.U32(1).Byte(0x00).Name("f").Bytes({0x01, 0x00});
  auto with_start = [&](const CompBytes& start) {
    return CompOf({CompSection(7, {0x01, 0x40, 0x00, 0x01, 0x00}), CompSection(10, imp.b),
                   CompSection(9, start)});
  };
  auto r = DecodeComponent(with_start({0x00, 0x00, 0x00}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ((*r)->starts.size(), 1u);
  EXPECT_EQ((*r)->defs.back().kind, DefKind::kStart);
  EXPECT_NE(DecoderErrorOf(with_start({0x00, 0x00, 0x01})).find("results size mismatch"),
            std::string::npos);
  EXPECT_NE(DecoderErrorOf(with_start({0x01, 0x00, 0x00})).find("function index out of bounds"),
            std::string::npos);
}

TEST(ComponentDecoder, SurvivesTruncationAtEveryByte) {
  CompBytes full = DecoderRichComponent();
  ASSERT_EQ(DecoderErrorOf(full), "OK");
  for (size_t n = 0; n < full.size(); ++n) {
    CompBytes part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = DecodeComponent(part);
    if (r.ok()) continue;  // a cut at a section boundary may still be valid
    EXPECT_EQ(r.status().message().rfind("offset ", 0), 0u) << n << ": " << r.status().message();
  }
}

TEST(ComponentDecoder, SurvivesCorruptedBytes) {
  CompBytes full = DecoderRichComponent();
  for (size_t i = 8; i < full.size(); ++i) {
    for (uint8_t v : {uint8_t{0x00}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff},
                      static_cast<uint8_t>(full[i] ^ 0x01)}) {
      CompBytes bad = full;
      bad[i] = v;
      auto r = DecodeComponent(bad);
      if (!r.ok()) {
        EXPECT_FALSE(r.status().message().empty());
      }
    }
  }
}

TEST(ComponentDecoder, ReplaysTheFuzzCorpus) {
  std::string dir = std::string(ARCELLA_SOURCE_DIR) + "/fuzz/corpus/component_decode";
  size_t n = 0, valid = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    CompBytes b((std::istreambuf_iterator<char>(in)), {});
    auto r = DecodeComponent(b);
    ++n;
    if (r.ok()) {
      ++valid;
    } else {
      EXPECT_FALSE(r.status().message().empty()) << e.path();
    }
  }
  EXPECT_GE(n, 5u);
  EXPECT_GE(valid, 4u);  // the seeds are valid components
}

}  // namespace
}  // namespace arcella::component
