// The structural type model and value shapes shared by the component layer.
#include <gtest/gtest.h>

#include "component/types.h"
#include "component/value.h"

namespace arcella::component {
namespace {

TEST(ComponentTypes, StructuralEqualityAndResourceIdentity) {
  auto a = ValueType::Record(
      {{"name", ValueType::String()}, {"tags", ValueType::List(ValueType::U8())}});
  auto b = ValueType::Record(
      {{"name", ValueType::String()}, {"tags", ValueType::List(ValueType::U8())}});
  auto renamed = ValueType::Record(
      {{"name", ValueType::String()}, {"tag", ValueType::List(ValueType::U8())}});
  EXPECT_TRUE(TypeEquals(*a, *b));
  EXPECT_FALSE(TypeEquals(*a, *renamed));
  auto r1 = std::make_shared<ResourceType>(ResourceType{"file"});
  auto r2 = std::make_shared<ResourceType>(ResourceType{"file"});
  EXPECT_TRUE(TypeEquals(*ValueType::Own(r1), *ValueType::Own(r1)));
  EXPECT_FALSE(TypeEquals(*ValueType::Own(r1), *ValueType::Own(r2)));
  EXPECT_FALSE(TypeEquals(*ValueType::Own(r1), *ValueType::Borrow(r1)));
  EXPECT_EQ(TypeToString(*a), "record { name: string, tags: list<u8> }");
  FuncType f{{{"who", ValueType::String()}}, ValueType::Result(ValueType::U32(), nullptr)};
  EXPECT_EQ(f.ToString(), "func(who: string) -> result<u32>");
}

TEST(ComponentValues, MatchesNamesThePathOfAMismatch) {
  auto t = ValueType::Record(
      {{"name", ValueType::String()}, {"tags", ValueType::List(ValueType::U8())}});
  Val ok = Val::Record({Val::String("ann"), Val::List({Val::U8(1), Val::U8(2)})});
  EXPECT_TRUE(ValMatches(ok, *t));
  Val bad = Val::Record({Val::String("ann"), Val::List({Val::U8(1), Val::String("x")})});
  std::string why;
  EXPECT_FALSE(ValMatches(bad, *t, &why));
  EXPECT_EQ(why, "field 'tags': element 1: expected u8, got string");
  Val big = Val::Record({Val::String("ann"), Val::List({Val::U32(300)})});
  big.items[1].items[0].kind = TypeKind::kU8;
  EXPECT_FALSE(ValMatches(big, *t, &why));
  EXPECT_NE(why.find("u8 out of range"), std::string::npos);
  EXPECT_FALSE(ValMatches(Val::Char(0xD800), *ValueType::Char()));
  EXPECT_FALSE(ValMatches(Val::Flags(0b100), *ValueType::Flags({"a", "b"})));
  EXPECT_TRUE(ValMatches(Val::Flags(0b10), *ValueType::Flags({"a", "b"})));
  auto res = ValueType::Result(nullptr, ValueType::String());
  EXPECT_TRUE(ValMatches(Val::ResultOk(), *res));
  EXPECT_FALSE(ValMatches(Val::ResultOk({Val::U8(1)}), *res, &why));
  EXPECT_TRUE(ValMatches(Val::ResultErr({Val::String("no")}), *res));
  EXPECT_TRUE(
      ValEquals(ok, Val::Record({Val::String("ann"), Val::List({Val::U8(1), Val::U8(2)})})));
  EXPECT_FALSE(ValEquals(ok, bad));
}

}  // namespace
}  // namespace arcella::component
