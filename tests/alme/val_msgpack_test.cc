// Component values in MessagePack (src/alme/val_msgpack.h): the documented
// encoding of every type, round trips through real MessagePack bytes, and
// hostile input (wrong types, out-of-range numbers, bad names, deep nesting,
// huge lengths) refused with the path of the bad place.
#include "alme/val_msgpack.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace arcella::alme {
namespace {

using component::Case;
using component::Field;
using component::TypeRef;
using component::Val;
using component::ValueType;

// Encodes, writes MessagePack bytes, reads them back and decodes.
Val RoundTrip(const Val& v, const TypeRef& t, const DecodeValOptions& o = {}) {
  auto j = EncodeVal(v, *t);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  if (!j.ok()) return {};
  std::vector<uint8_t> bytes = Json::to_msgpack(*j);
  Json back = Json::from_msgpack(bytes);
  auto d = DecodeVal(back, *t, "value", o);
  EXPECT_TRUE(d.ok()) << d.status().ToString() << " for " << j->dump();
  if (!d.ok()) return {};
  EXPECT_TRUE(component::ValEquals(v, *d)) << j->dump();
  return *d;
}

Json Enc(const Val& v, const TypeRef& t) {
  auto j = EncodeVal(v, *t);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? *j : Json();
}

std::string DecodeError(const Json& j, const TypeRef& t, const std::string& path = "args[0]") {
  auto d = DecodeVal(j, *t, path);
  EXPECT_FALSE(d.ok()) << j.dump();
  return d.ok() ? "" : d.status().message();
}

TEST(ValMsgpack, ScalarsAreMessagePackNatives) {
  EXPECT_EQ(Enc(Val::Bool(true), ValueType::Bool()), Json(true));
  EXPECT_EQ(Enc(Val::S8(-5), ValueType::S8()), Json(-5));
  EXPECT_EQ(Enc(Val::U64(UINT64_MAX), ValueType::U64()), Json(UINT64_MAX));
  EXPECT_EQ(Enc(Val::S64(INT64_MIN), ValueType::S64()), Json(INT64_MIN));
  EXPECT_EQ(Enc(Val::F64(1.5), ValueType::F64()), Json(1.5));
  EXPECT_EQ(Enc(Val::Char(U'☃'), ValueType::Char()), Json("☃"));
  EXPECT_EQ(Enc(Val::String("héllo"), ValueType::String()), Json("héllo"));
  // u64 and s64 extremes survive real MessagePack bytes.
  RoundTrip(Val::U64(UINT64_MAX), ValueType::U64());
  RoundTrip(Val::U64(0), ValueType::U64());
  RoundTrip(Val::S64(INT64_MIN), ValueType::S64());
  RoundTrip(Val::S64(INT64_MAX), ValueType::S64());
  RoundTrip(Val::S8(INT8_MIN), ValueType::S8());
  RoundTrip(Val::U16(UINT16_MAX), ValueType::U16());
  RoundTrip(Val::S32(INT32_MIN), ValueType::S32());
  RoundTrip(Val::U32(UINT32_MAX), ValueType::U32());
  RoundTrip(Val::F32(-0.25F), ValueType::F32());
  RoundTrip(Val::F32(std::numeric_limits<float>::infinity()), ValueType::F32());
  RoundTrip(Val::F64(std::numeric_limits<double>::denorm_min()), ValueType::F64());
  RoundTrip(Val::Char(U'\U0001F600'), ValueType::Char());
  RoundTrip(Val::String(""), ValueType::String());
  auto nan = DecodeVal(Json::from_msgpack(Json::to_msgpack(Enc(Val::F64(NAN), ValueType::F64()))),
                       *ValueType::F64());
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(nan->f64));
  // Any integer encoding in range is accepted; a float type takes integers.
  EXPECT_EQ(DecodeVal(Json(7u), *ValueType::S8())->s, 7);
  EXPECT_EQ(DecodeVal(Json(3), *ValueType::F32())->f32, 3.0F);
}

TEST(ValMsgpack, CompoundTypesFollowTheDocumentedShapes) {
  TypeRef rec = ValueType::Record({{"name", ValueType::String()},
                                   {"tags", ValueType::List(ValueType::U8())},
                                   {"scores", ValueType::List(ValueType::S32())}});
  Val r = Val::Record(
      {Val::String("ann"), Val::List({Val::U8(1), Val::U8(2)}), Val::List({Val::S32(-1)})});
  Json j = Enc(r, rec);
  EXPECT_EQ(j["name"], "ann");
  ASSERT_TRUE(j["tags"].is_binary());  // list<u8> as bin
  EXPECT_EQ(j["tags"].get_binary(), std::vector<uint8_t>({1, 2}));
  EXPECT_EQ(j["scores"], Json::array({-1}));
  RoundTrip(r, rec);
  // list<u8> also decodes from an array.
  auto from_array = DecodeVal(Json{{"name", "b"}, {"tags", {3, 4}}, {"scores", Json::array()}},
                              *rec);
  ASSERT_TRUE(from_array.ok()) << from_array.status().ToString();
  EXPECT_EQ(from_array->items[1].items[1].u, 4u);

  TypeRef tup = ValueType::Tuple({ValueType::U8(), ValueType::String()});
  EXPECT_EQ(Enc(Val::Tuple({Val::U8(1), Val::String("x")}), tup), Json::array({1, "x"}));
  RoundTrip(Val::Tuple({Val::U8(1), Val::String("x")}), tup);

  TypeRef var = ValueType::Variant({{"none", nullptr}, {"some", ValueType::U32()}});
  EXPECT_EQ(Enc(Val::Variant(0), var), Json("none"));
  EXPECT_EQ(Enc(Val::Variant(1, {Val::U32(9)}), var), Json({{"some", 9}}));
  RoundTrip(Val::Variant(0), var);
  RoundTrip(Val::Variant(1, {Val::U32(9)}), var);
  EXPECT_TRUE(DecodeVal(Json{{"none", nullptr}}, *var).ok());  // {case: nil} too

  TypeRef en = ValueType::Enum({"red", "green"});
  EXPECT_EQ(Enc(Val::Enum(1), en), Json("green"));
  RoundTrip(Val::Enum(1), en);

  TypeRef opt = ValueType::Option(ValueType::String());
  EXPECT_EQ(Enc(Val::None(), opt), Json(nullptr));
  EXPECT_EQ(Enc(Val::Some(Val::String("x")), opt), Json("x"));
  RoundTrip(Val::None(), opt);
  RoundTrip(Val::Some(Val::String("x")), opt);

  // option<option<u8>>: none, some(none) and some(some(1)) all differ.
  TypeRef oo = ValueType::Option(ValueType::Option(ValueType::U8()));
  EXPECT_EQ(Enc(Val::None(), oo), Json(nullptr));
  EXPECT_EQ(Enc(Val::Some(Val::None()), oo), Json({{"some", nullptr}}));
  EXPECT_EQ(Enc(Val::Some(Val::Some(Val::U8(1))), oo), Json({{"some", 1}}));
  RoundTrip(Val::None(), oo);
  RoundTrip(Val::Some(Val::None()), oo);
  RoundTrip(Val::Some(Val::Some(Val::U8(1))), oo);

  TypeRef res = ValueType::Result(ValueType::U32(), ValueType::String());
  EXPECT_EQ(Enc(Val::ResultOk({Val::U32(1)}), res), Json({{"ok", 1}}));
  EXPECT_EQ(Enc(Val::ResultErr({Val::String("no")}), res), Json({{"err", "no"}}));
  RoundTrip(Val::ResultOk({Val::U32(1)}), res);
  RoundTrip(Val::ResultErr({Val::String("no")}), res);
  TypeRef bare = ValueType::Result(nullptr, nullptr);
  EXPECT_EQ(Enc(Val::ResultOk(), bare), Json({{"ok", nullptr}}));
  RoundTrip(Val::ResultErr(), bare);

  TypeRef fl = ValueType::Flags({"read", "write", "exec"});
  EXPECT_EQ(Enc(Val::Flags(0b101), fl), Json::array({"read", "exec"}));
  RoundTrip(Val::Flags(0b101), fl);
  RoundTrip(Val::Flags(0), fl);
  EXPECT_EQ(DecodeVal(Json::array({"exec", "read"}), *fl)->u, 0b101u);  // any order

  TypeRef fixed = ValueType::FixedList(ValueType::U16(), 2);
  RoundTrip(Val::List({Val::U16(1), Val::U16(2)}), fixed);
}

TEST(ValMsgpack, HandlesOnlyComeOut) {
  auto res = std::make_shared<component::ResourceType>(component::ResourceType{"file"});
  TypeRef own = ValueType::Own(res);
  Json j = Enc(Val::Own(res, 42), own);
  EXPECT_EQ(j, Json({{"resource", "file"}, {"handle", 42}}));
  // A client reading results may decode it; arguments refuse it.
  Val back = RoundTrip(Val::Own(res, 42), own, {.accept_handles = true});
  EXPECT_EQ(back.resource, res);
  EXPECT_EQ(DecodeError(j, own),
            "args[0]: a resource handle (own) cannot be passed in: handles only come out of calls");
  TypeRef borrow = ValueType::Borrow(res);
  EXPECT_NE(DecodeError(j, borrow).find("(borrow) cannot be passed in"), std::string::npos);
  auto other = DecodeVal(Json{{"resource", "socket"}, {"handle", 1}}, *own, "r",
                         {.accept_handles = true});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message(), "r: handle of another resource (expected 'file')");
}

TEST(ValMsgpack, WrongTypesNameThePath) {
  TypeRef rec = ValueType::Record(
      {{"name", ValueType::String()}, {"tags", ValueType::List(ValueType::U8())}});
  EXPECT_EQ(DecodeError(Json{{"name", "a"}, {"tags", {1, 2, 3, "x"}}}, rec),
            "args[0].field 'tags'[3]: expected u8, got string");
  EXPECT_EQ(DecodeError(Json{{"name", "a"}}, rec), "args[0]: missing field 'tags'");
  EXPECT_EQ(DecodeError(Json{{"name", "a"}, {"tags", Json::array()}, {"x", 1}}, rec),
            "args[0]: unknown field 'x'");
  EXPECT_EQ(DecodeError(Json::array(), rec),
            "args[0]: expected record (a map of fields), got array");
  EXPECT_EQ(DecodeError(Json(256), ValueType::U8()), "args[0]: u8 out of range");
  EXPECT_EQ(DecodeError(Json(-1), ValueType::U64()), "args[0]: u64 out of range");
  EXPECT_EQ(DecodeError(Json(UINT64_MAX), ValueType::S64()), "args[0]: s64 out of range");
  EXPECT_EQ(DecodeError(Json(-129), ValueType::S8()), "args[0]: s8 out of range");
  EXPECT_EQ(DecodeError(Json(1.5), ValueType::S32()), "args[0]: expected s32, got float");
  EXPECT_EQ(DecodeError(Json(1e300), ValueType::F32()), "args[0]: f32 out of range");
  EXPECT_EQ(DecodeError(Json(true), ValueType::String()), "args[0]: expected string, got bool");
  EXPECT_EQ(DecodeError(Json("ab"), ValueType::Char()),
            "args[0]: expected char, got a string that is not one Unicode character");
  EXPECT_EQ(DecodeError(Json(std::string("\xff")), ValueType::String()),
            "args[0]: not valid UTF-8 (byte 0 of 1)");
  EXPECT_EQ(DecodeError(Json(std::string("\xed\xa0\x80")), ValueType::Char()),
            "args[0]: expected char, got a string that is not one Unicode character");
  TypeRef var = ValueType::Variant({{"none", nullptr}, {"some", ValueType::U32()}});
  EXPECT_EQ(DecodeError(Json("maybe"), var), "args[0]: unknown variant case 'maybe'");
  EXPECT_EQ(DecodeError(Json("some"), var), "args[0]: case 'some' needs a payload");
  EXPECT_EQ(DecodeError(Json{{"some", "x"}}, var), "args[0].case 'some': expected u32, got string");
  EXPECT_EQ(DecodeError(Json{{"none", 1}}, var),
            "args[0].case 'none': case has no payload, got integer");
  EXPECT_EQ(DecodeError(Json{{"none", nullptr}, {"some", 1}}, var),
            "args[0]: expected variant (a case name or {case: payload}), got map");
  EXPECT_EQ(DecodeError(Json("blue"), ValueType::Enum({"red"})),
            "args[0]: unknown enum case 'blue'");
  TypeRef fl = ValueType::Flags({"read", "write"});
  EXPECT_EQ(DecodeError(Json::array({"read", "read"}), fl), "args[0][1]: flag 'read' given twice");
  EXPECT_EQ(DecodeError(Json::array({"exec"}), fl), "args[0][0]: unknown flag 'exec'");
  EXPECT_EQ(DecodeError(Json::array({1}), fl),
            "args[0][0]: expected flag label (a string), got integer");
  TypeRef res = ValueType::Result(ValueType::U8(), nullptr);
  EXPECT_EQ(DecodeError(Json{{"err", 1}}, res),
            "args[0].err: expected nil (the result has no err type), got integer");
  EXPECT_EQ(DecodeError(Json{{"ok", 1}, {"err", nullptr}}, res),
            "args[0]: expected result ({\"ok\": value} or {\"err\": value}), got map");
  TypeRef oo = ValueType::Option(ValueType::Option(ValueType::U8()));
  EXPECT_EQ(DecodeError(Json(1), oo),
            "args[0]: expected nil or {\"some\": value} (an option of an option), got integer");
  TypeRef tup = ValueType::Tuple({ValueType::U8(), ValueType::U8()});
  EXPECT_EQ(DecodeError(Json::array({1}), tup), "args[0]: expected a tuple of 2 elements, got 1");
  TypeRef fixed = ValueType::FixedList(ValueType::U8(), 4);
  EXPECT_EQ(DecodeError(Json::binary({1, 2, 3, 4, 5}), fixed), "args[0]: expected 4 bytes, got 5");
  EXPECT_EQ(DecodeError(Json::array({1}), fixed), "args[0]: expected 4 elements, got 1");
  EXPECT_EQ(DecodeError(Json::binary({1}), ValueType::List(ValueType::S8())),
            "args[0]: expected list (an array), got bin");
}

TEST(ValMsgpack, EncodeChecksTheValueAgainstTheType) {
  auto j = EncodeVal(Val::String("x"), *ValueType::U8(), "results[0]");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().message().rfind("results[0]: expected u8, got string", 0), 0u)
      << j.status().message();
  auto range = EncodeVal(Val::Enum(5), *ValueType::Enum({"a"}));
  EXPECT_FALSE(range.ok());
}

TEST(ValMsgpack, DeepNestingIsBounded) {
  // list<list<...<u8>>> 300 levels, and a value as deep: refused, no crash.
  TypeRef t = ValueType::U8();
  Json j = 1;
  Val v = Val::U8(1);
  for (int i = 0; i < 300; ++i) {
    t = ValueType::List(t);
    Json outer = Json::array();
    outer.push_back(std::move(j));
    j = std::move(outer);
    v = Val::List({std::move(v)});
  }
  auto d = DecodeVal(j, *t);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("nested deeper than 200 levels"), std::string::npos)
      << d.status().message();
  auto e = EncodeVal(v, *t);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("nested deeper than 200 levels"), std::string::npos);
  // A JSON tree deeper than its type stops at the first mismatch.
  Json deep = 1;
  for (int i = 0; i < 10000; ++i) {
    Json outer = Json::array();
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  EXPECT_EQ(DecodeError(deep, ValueType::List(ValueType::U8())),
            "args[0][0]: expected u8, got array");
}

TEST(ValMsgpack, HugeLengthsAreRefusedByTheReaderOrTheType) {
  // MessagePack claiming a 4 GiB array / bin with a few bytes behind it: the
  // reader refuses it (ALME frames are bounded before this point too).
  std::vector<uint8_t> array32 = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
  EXPECT_TRUE(Json::from_msgpack(array32, true, false).is_discarded());
  std::vector<uint8_t> bin32 = {0xc6, 0xff, 0xff, 0xff, 0xff, 0x01};
  EXPECT_TRUE(Json::from_msgpack(bin32, true, false).is_discarded());
  // A fixed-length list type with a huge length is not trusted for sizes.
  TypeRef big = ValueType::FixedList(ValueType::U8(), UINT32_MAX);
  EXPECT_EQ(DecodeError(Json::binary({1, 2}), big), "args[0]: expected 4294967295 bytes, got 2");
  // A long list decodes (10^5 elements).
  std::vector<uint8_t> many(100000, 7);
  auto d = DecodeVal(Json::binary(many), *ValueType::List(ValueType::U8()));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->items.size(), 100000u);
}

TEST(ValMsgpack, CoreValuesAreTheirComponentCounterparts) {
  EXPECT_EQ(CoreValueType(engine::ValType::kI32)->kind, component::TypeKind::kS32);
  EXPECT_EQ(CoreValueType(engine::ValType::kI64)->kind, component::TypeKind::kS64);
  EXPECT_EQ(CoreValueType(engine::ValType::kF32)->kind, component::TypeKind::kF32);
  EXPECT_EQ(CoreValueType(engine::ValType::kF64)->kind, component::TypeKind::kF64);
  EXPECT_EQ(CoreValueType(engine::ValType::kV128), nullptr);
  RoundTrip(Val::S32(-7), CoreValueType(engine::ValType::kI32));
}

}  // namespace
}  // namespace arcella::alme
