// The canonical ABI's rules for values, one by one: layout, flattening,
// integers, floats, chars, strings (transcoding and realloc calls), lists,
// variants, flags, spilling, bounds and alignment traps, growing memory.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "component/canonical_abi.h"

namespace arcella::component::canonical_abi_test {

using engine::ValType;
using engine::Value;

// A guest memory with a bump realloc that records its calls. With `grow`,
// every realloc moves the memory to a new, larger buffer (as memory.grow
// may), so the ABI must fetch the bytes again.
class Guest : public MemoryAccess {
 public:
  explicit Guest(size_t size = 1024, uint32_t heap = 256) : bytes_(size), next_(heap) {}
  std::span<uint8_t> Bytes() override { return bytes_; }
  std::vector<uint8_t>& bytes() { return bytes_; }

  struct Call {
    uint32_t old_ptr, old_size, align, new_size;
    bool operator==(const Call&) const = default;
  };
  std::vector<Call> calls;
  bool grow = false;
  std::optional<uint32_t> force;  // return this pointer instead

  TrapOr<uint32_t> Realloc(uint32_t old, uint32_t old_size, uint32_t align, uint32_t new_size) {
    calls.push_back({old, old_size, align, new_size});
    if (grow) bytes_.resize(bytes_.size() + 4096);  // a new buffer: old spans dangle
    if (force) return *force;
    if (old != 0 && new_size <= old_size) return old;
    uint32_t p = (next_ + align - 1) / align * align;
    next_ = p + new_size;
    std::memmove(bytes_.data() + p, bytes_.data() + old, std::min(old_size, new_size));
    return p;
  }

  CanonOptions Options(StringEncoding enc = StringEncoding::kUtf8) {
    return CanonOptions{.encoding = enc,
                        .memory = this,
                        .realloc = [this](uint32_t a, uint32_t b, uint32_t c,
                                          uint32_t d) { return Realloc(a, b, c, d); },
                        .post_return = {}};
  }

  void Put32(uint32_t at, uint32_t v) { std::memcpy(bytes_.data() + at, &v, 4); }
  uint32_t Get32(uint32_t at) const {
    uint32_t v;
    std::memcpy(&v, bytes_.data() + at, 4);
    return v;
  }

 private:
  std::vector<uint8_t> bytes_;
  uint32_t next_;
};

struct Fixture {
  Guest guest;
  CanonOptions opts;
  ComponentInstanceState inst;
  LiftLowerContext cx;
  explicit Fixture(StringEncoding enc = StringEncoding::kUtf8, size_t size = 1024)
      : guest(size), opts(guest.Options(enc)), cx(opts, &inst) {}
};

Val LiftOne(LiftLowerContext& cx, const ValueType& t, std::vector<Value> flat) {
  FlatReader in(flat);
  auto v = LiftFlat(cx, in, t);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.trap().message);
  return v.ok() ? v.value() : Val();
}

std::string LiftTrap(LiftLowerContext& cx, const ValueType& t, std::vector<Value> flat) {
  FlatReader in(flat);
  auto v = LiftFlat(cx, in, t);
  EXPECT_FALSE(v.ok());
  if (v.ok()) return "";
  EXPECT_EQ(v.trap().kind, engine::TrapKind::kHostError);
  return v.trap().message;
}

std::vector<Value> LowerOne(LiftLowerContext& cx, const Val& v, const ValueType& t) {
  std::vector<Value> out;
  auto tr = LowerFlat(cx, v, t, &out);
  EXPECT_FALSE(tr) << tr->message;
  return out;
}

std::vector<ValType> FlatOf(const TypeRef& t) {
  std::vector<ValType> out;
  Flatten(*t, &out);
  return out;
}

uint32_t F32Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
uint64_t F64Bits(double f) {
  uint64_t b;
  std::memcpy(&b, &f, 8);
  return b;
}

TEST(CanonicalAbi, SizesAndAlignmentsFollowTheSpec) {
  auto rec = ValueType::Record(
      {{"a", ValueType::U8()}, {"b", ValueType::U32()}, {"c", ValueType::U16()}});
  EXPECT_EQ(AlignOf(*rec), 4u);
  EXPECT_EQ(SizeOf(*rec), 12u);
  EXPECT_EQ(SizeOf(*ValueType::String()), 8u);
  EXPECT_EQ(AlignOf(*ValueType::List(ValueType::U64())), 4u);
  auto fixed = ValueType::FixedList(ValueType::U16(), 3);
  EXPECT_EQ(SizeOf(*fixed), 6u);
  EXPECT_EQ(AlignOf(*fixed), 2u);
  auto opt64 = ValueType::Option(ValueType::U64());
  EXPECT_EQ(SizeOf(*opt64), 16u);
  EXPECT_EQ(AlignOf(*opt64), 8u);
  std::vector<std::string> many(300, "x");
  for (size_t i = 0; i < many.size(); ++i) many[i] = "l" + std::to_string(i);
  EXPECT_EQ(SizeOf(*ValueType::Enum({"a"})), 1u);
  EXPECT_EQ(SizeOf(*ValueType::Enum(std::vector<std::string>(many.begin(), many.begin() + 256))),
            1u);
  EXPECT_EQ(SizeOf(*ValueType::Enum(std::vector<std::string>(many.begin(), many.begin() + 257))),
            2u);
  EXPECT_EQ(DiscriminantSize(65536), 2u);
  EXPECT_EQ(DiscriminantSize(65537), 4u);
  EXPECT_EQ(SizeOf(*ValueType::Flags({"a"})), 1u);
  EXPECT_EQ(SizeOf(*ValueType::Flags(std::vector<std::string>(many.begin(), many.begin() + 9))),
            2u);
  EXPECT_EQ(SizeOf(*ValueType::Flags(std::vector<std::string>(many.begin(), many.begin() + 32))),
            4u);
  auto r = std::make_shared<ResourceType>(ResourceType{"r"});
  EXPECT_EQ(SizeOf(*ValueType::Own(r)), 4u);
  auto res = ValueType::Result(nullptr, ValueType::String());
  EXPECT_EQ(SizeOf(*res), 12u);
}

TEST(CanonicalAbi, VariantsFlattenWithJoin) {
  auto v = ValueType::Variant({{"a", ValueType::F32()},
                               {"b", ValueType::U64()},
                               {"c", nullptr},
                               {"d", ValueType::Tuple({ValueType::U8(), ValueType::F64()})}});
  EXPECT_EQ(FlatOf(v), (std::vector<ValType>{ValType::kI32, ValType::kI64, ValType::kF64}));
  auto fi = ValueType::Variant({{"a", ValueType::F32()}, {"b", ValueType::U32()}});
  EXPECT_EQ(FlatOf(fi), (std::vector<ValType>{ValType::kI32, ValType::kI32}));
  auto ff = ValueType::Variant({{"a", ValueType::F32()}, {"b", ValueType::F32()}});
  EXPECT_EQ(FlatOf(ff), (std::vector<ValType>{ValType::kI32, ValType::kF32}));
  EXPECT_EQ(FlatOf(ValueType::FixedList(ValueType::U8(), 3)),
            (std::vector<ValType>{ValType::kI32, ValType::kI32, ValType::kI32}));

  Fixture f;
  // An f32 payload in a joined i64 slot travels as its bits, the rest zero.
  auto out = LowerOne(f.cx, Val::Variant(0, {Val::F32(1.5f)}), *v);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].i32, 0u);
  EXPECT_EQ(out[1].type, ValType::kI64);
  EXPECT_EQ(out[1].i64, F32Bits(1.5f));
  EXPECT_EQ(out[2].type, ValType::kF64);
  EXPECT_EQ(out[2].i64, 0u);
  Val back = LiftOne(f.cx, *v, out);
  EXPECT_TRUE(ValEquals(back, Val::Variant(0, {Val::F32(1.5f)})));
  // A u8 from an i64 slot: wrapped to i32, then its low byte.
  Val d = LiftOne(f.cx, *v, {Value::I32(3), Value::I64(0xffff'ffff'0000'01ffull), Value::F64(2.5)});
  ASSERT_EQ(d.index, 3u);
  EXPECT_EQ(d.payload().items[0].u, 0xffu);
  EXPECT_EQ(d.payload().items[1].f64, 2.5);
  // A case without payload still fills every slot with zeros.
  out = LowerOne(f.cx, Val::Variant(2), *v);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].i64, 0u);
  EXPECT_NE(LiftTrap(f.cx, *v, {Value::I32(4), Value::I64(0), Value::F64(0)})
                .find("case index 4 out of range (4 cases)"),
            std::string::npos);
}

TEST(CanonicalAbi, IntegersIgnoreHighBitsOnLift) {
  Fixture f;
  EXPECT_EQ(LiftOne(f.cx, *ValueType::U8(), {Value::I32(0x1ff)}).u, 0xffu);
  EXPECT_EQ(LiftOne(f.cx, *ValueType::S8(), {Value::I32(0x180)}).s, -128);
  EXPECT_EQ(LiftOne(f.cx, *ValueType::U16(), {Value::I32(0xfffe'0001)}).u, 1u);
  EXPECT_EQ(LiftOne(f.cx, *ValueType::S16(), {Value::I32(0xffff)}).s, -1);
  EXPECT_EQ(LiftOne(f.cx, *ValueType::S32(), {Value::I32(0x8000'0000)}).s, INT32_MIN);
  EXPECT_EQ(LiftOne(f.cx, *ValueType::S64(), {Value::I64(~0ull)}).s, -1);
  EXPECT_TRUE(LiftOne(f.cx, *ValueType::Bool(), {Value::I32(2)}).b);
  EXPECT_FALSE(LiftOne(f.cx, *ValueType::Bool(), {Value::I32(0)}).b);
  auto out = LowerOne(f.cx, Val::S8(-1), *ValueType::S8());
  EXPECT_EQ(out[0].i32, 0xffff'ffffu);
  // Memory: bytes past the type's width are not read; a bool byte 2 is true.
  f.guest.bytes()[0] = 2;
  auto b = Load(f.cx, 0, *ValueType::Bool());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b.value().b);
  // A core value of the wrong type is refused, not misread.
  EXPECT_NE(LiftTrap(f.cx, *ValueType::U32(), {Value::I64(1)}).find("is i64, expected i32"),
            std::string::npos);
  // A host value out of its type's range traps instead of being truncated.
  std::vector<Value> bad;
  auto tr = LowerFlat(f.cx, Val::U32(7), *ValueType::U8(), &bad);
  ASSERT_TRUE(tr.has_value());
  EXPECT_NE(tr->message.find("value does not match type u8"), std::string::npos);
}

TEST(CanonicalAbi, NaNsAreCanonicalisedOnLiftAndLower) {
  Fixture f;
  Val l = LiftOne(f.cx, *ValueType::F32(), {Value::F32Bits(0xffc0'0123)});
  EXPECT_EQ(F32Bits(l.f32), 0x7fc0'0000u);
  Val d = LiftOne(f.cx, *ValueType::F64(), {Value::F64Bits(0xfff8'0000'0000'0042ull)});
  EXPECT_EQ(F64Bits(d.f64), 0x7ff8'0000'0000'0000ull);
  float nan;
  uint32_t bits = 0x7fa0'0001;
  std::memcpy(&nan, &bits, 4);
  auto out = LowerOne(f.cx, Val::F32(nan), *ValueType::F32());
  EXPECT_EQ(out[0].i32, 0x7fc0'0000u);
  ASSERT_FALSE(Store(f.cx, Val::F32(nan), *ValueType::F32(), 8));
  EXPECT_EQ(f.guest.Get32(8), 0x7fc0'0000u);
  // Infinity and -0 are kept.
  EXPECT_EQ(F32Bits(LiftOne(f.cx, *ValueType::F32(), {Value::F32Bits(0xff80'0000)}).f32),
            0xff80'0000u);
  EXPECT_EQ(F32Bits(LiftOne(f.cx, *ValueType::F32(), {Value::F32Bits(0x8000'0000)}).f32),
            0x8000'0000u);
  // NaN bits in memory are canonicalised on load too.
  f.guest.Put32(16, 0x7f80'0001);
  auto m = Load(f.cx, 16, *ValueType::F32());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(F32Bits(m.value().f32), 0x7fc0'0000u);
}

TEST(CanonicalAbi, CharsMustBeUnicodeScalarValues) {
  Fixture f;
  EXPECT_EQ(LiftOne(f.cx, *ValueType::Char(), {Value::I32(0xd7ff)}).c, 0xd7ffu);
  EXPECT_EQ(LiftOne(f.cx, *ValueType::Char(), {Value::I32(0x10ffff)}).c, 0x10ffffu);
  EXPECT_EQ(LiftTrap(f.cx, *ValueType::Char(), {Value::I32(0xd800)}),
            "canonical ABI: char 0xd800 is not a Unicode scalar value");
  EXPECT_EQ(LiftTrap(f.cx, *ValueType::Char(), {Value::I32(0xdfff)}),
            "canonical ABI: char 0xdfff is not a Unicode scalar value");
  EXPECT_EQ(LiftTrap(f.cx, *ValueType::Char(), {Value::I32(0x110000)}),
            "canonical ABI: char 0x110000 is not a Unicode scalar value");
  f.guest.Put32(0, 0xffff'ffff);
  auto m = Load(f.cx, 0, *ValueType::Char());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.trap().message, "canonical ABI: char 0xffffffff is not a Unicode scalar value");
  std::vector<Value> out;
  EXPECT_TRUE(LowerFlat(f.cx, Val::Char(0xdc00), *ValueType::Char(), &out).has_value());
}

TEST(CanonicalAbi, StringsTranscodeWithTheSpecsReallocCalls) {
  const std::string s = "h\xc3\xa9llo";  // "héllo": 6 UTF-8 bytes, 5 code units
  {
    Fixture f(StringEncoding::kUtf8);
    auto out = LowerOne(f.cx, Val::String(s), *ValueType::String());
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(f.guest.calls, (std::vector<Guest::Call>{{0, 0, 1, 6}}));
    EXPECT_EQ(out[1].i32, 6u);
    EXPECT_EQ(std::memcmp(f.guest.bytes().data() + out[0].i32, s.data(), 6), 0);
  }
  {
    // UTF-8 to UTF-16: worst case 2 * 6 bytes, then shrunk to 10.
    Fixture f(StringEncoding::kUtf16);
    auto out = LowerOne(f.cx, Val::String(s), *ValueType::String());
    EXPECT_EQ(f.guest.calls, (std::vector<Guest::Call>{{0, 0, 2, 12}, {256, 12, 2, 10}}));
    EXPECT_EQ(out[1].i32, 5u);
    const uint8_t want[] = {'h', 0, 0xe9, 0, 'l', 0, 'l', 0, 'o', 0};
    EXPECT_EQ(std::memcmp(f.guest.bytes().data() + out[0].i32, want, 10), 0);
    // Lifted back: the same text, remembered as UTF-16.
    Val back = LiftOne(f.cx, *ValueType::String(), out);
    EXPECT_EQ(back.str, s);
    EXPECT_EQ(back.str_origin, static_cast<uint8_t>(StringOrigin::kUtf16));
    // Lowered again into UTF-8: the spec's utf16 -> utf8 pattern (3 * 5 worst case).
    Fixture g(StringEncoding::kUtf8);
    auto o2 = LowerOne(g.cx, back, *ValueType::String());
    EXPECT_EQ(g.guest.calls,
              (std::vector<Guest::Call>{{0, 0, 1, 5}, {256, 5, 1, 15}, {261, 15, 1, 6}}));
    EXPECT_EQ(o2[1].i32, 6u);
    EXPECT_EQ(std::memcmp(g.guest.bytes().data() + o2[0].i32, s.data(), 6), 0);
  }
  {
    // latin1+utf16: "héllo" fits latin1: 6 bytes allocated, shrunk to 5.
    Fixture f(StringEncoding::kLatin1Utf16);
    auto out = LowerOne(f.cx, Val::String(s), *ValueType::String());
    EXPECT_EQ(f.guest.calls, (std::vector<Guest::Call>{{0, 0, 2, 6}, {256, 6, 2, 5}}));
    EXPECT_EQ(out[1].i32, 5u);
    // "aα" does not: inflated to UTF-16 and tagged.
    Fixture g(StringEncoding::kLatin1Utf16);
    auto o2 = LowerOne(g.cx, Val::String("a\xce\xb1"), *ValueType::String());
    EXPECT_EQ(g.guest.calls,
              (std::vector<Guest::Call>{{0, 0, 2, 3}, {256, 3, 2, 6}, {260, 6, 2, 4}}));
    EXPECT_EQ(o2[1].i32, 2u | (1u << 31));
    Val back = LiftOne(g.cx, *ValueType::String(), o2);
    EXPECT_EQ(back.str, "a\xce\xb1");
  }
  {
    // The empty string still calls realloc (size 0).
    Fixture f(StringEncoding::kUtf16);
    auto out = LowerOne(f.cx, Val::String(""), *ValueType::String());
    EXPECT_EQ(f.guest.calls, (std::vector<Guest::Call>{{0, 0, 2, 0}}));
    EXPECT_EQ(out[1].i32, 0u);
  }
}

TEST(CanonicalAbi, BadStringsInMemoryTrap) {
  Fixture f(StringEncoding::kUtf8);
  const uint8_t bad8[] = {'a', 0xc0, 0x80};  // overlong NUL
  std::memcpy(f.guest.bytes().data() + 64, bad8, 3);
  EXPECT_EQ(LiftTrap(f.cx, *ValueType::String(), {Value::I32(64), Value::I32(3)}),
            "canonical ABI: string at 0x40 is not valid UTF-8");
  EXPECT_NE(LiftTrap(f.cx, *ValueType::String(), {Value::I32(1000), Value::I32(100)})
                .find("out of bounds of memory"),
            std::string::npos);
  EXPECT_NE(LiftTrap(f.cx, *ValueType::String(), {Value::I32(0), Value::I32(1u << 28)})
                .find("longer than 2^28-1"),
            std::string::npos);
  Fixture g(StringEncoding::kUtf16);
  const uint8_t lone[] = {0x00, 0xd8, 'a', 0};  // a high surrogate then 'a'
  std::memcpy(g.guest.bytes().data() + 64, lone, 4);
  EXPECT_NE(LiftTrap(g.cx, *ValueType::String(), {Value::I32(64), Value::I32(2)})
                .find("lone surrogate 0xd800"),
            std::string::npos);
  EXPECT_EQ(LiftTrap(g.cx, *ValueType::String(), {Value::I32(65), Value::I32(1)}),
            "canonical ABI: string pointer 0x41 is not 2-byte aligned");
  // latin1+utf16: an untagged length is latin1 bytes.
  Fixture h(StringEncoding::kLatin1Utf16);
  h.guest.bytes()[64] = 0xe9;
  EXPECT_EQ(LiftOne(h.cx, *ValueType::String(), {Value::I32(64), Value::I32(1)}).str, "\xc3\xa9");
}

TEST(CanonicalAbi, ReallocResultsAreChecked) {
  Fixture f(StringEncoding::kUtf16);
  f.guest.force = 3;
  std::vector<Value> out;
  auto tr = LowerFlat(f.cx, Val::String("ab"), *ValueType::String(), &out);
  ASSERT_TRUE(tr.has_value());
  EXPECT_EQ(tr->message, "canonical ABI: realloc returned misaligned pointer 0x3 (alignment 2)");
  f.guest.force = 1020;
  tr = LowerFlat(f.cx, Val::List({Val::U32(1), Val::U32(2)}), *ValueType::List(ValueType::U32()),
                 &out);
  ASSERT_TRUE(tr.has_value());
  EXPECT_NE(tr->message.find("realloc returned pointer 0x3fc for 8 bytes, past the end of memory"),
            std::string::npos);
  // A trap inside realloc itself comes back as it is.
  Fixture g;
  g.opts.realloc = [](uint32_t, uint32_t, uint32_t, uint32_t) -> TrapOr<uint32_t> {
    engine::Trap t;
    t.kind = engine::TrapKind::kUnreachable;
    return t;
  };
  tr = LowerFlat(g.cx, Val::String("x"), *ValueType::String(), &out);
  ASSERT_TRUE(tr.has_value());
  EXPECT_EQ(tr->kind, engine::TrapKind::kUnreachable);
  // No realloc in the options: a clear trap, not a crash.
  Fixture h;
  h.opts.realloc = {};
  tr = LowerFlat(h.cx, Val::String("x"), *ValueType::String(), &out);
  ASSERT_TRUE(tr.has_value());
  EXPECT_NE(tr->message.find("no realloc"), std::string::npos);
}

TEST(CanonicalAbi, MemoryIsFetchedAgainAfterRealloc) {
  Fixture f(StringEncoding::kUtf8, 512);
  f.guest.grow = true;
  auto list = ValueType::List(ValueType::String());
  auto v = Val::List({Val::String("one"), Val::String("two\xc3\xa9")});
  ASSERT_FALSE(Store(f.cx, v, *list, 0));
  EXPECT_EQ(f.guest.calls.size(), 3u);  // the list, then each string
  auto back = Load(f.cx, 0, *list);
  ASSERT_TRUE(back.ok()) << back.trap().message;
  EXPECT_TRUE(ValEquals(back.value(), v));
  EXPECT_GT(f.guest.bytes().size(), 512u);
}

TEST(CanonicalAbi, ListsAllocateEvenWhenEmptyAndCheckBounds) {
  Fixture f;
  auto t = ValueType::List(ValueType::U64());
  auto out = LowerOne(f.cx, Val::List({}), *t);
  EXPECT_EQ(f.guest.calls, (std::vector<Guest::Call>{{0, 0, 8, 0}}));
  EXPECT_EQ(out[1].i32, 0u);
  out = LowerOne(f.cx, Val::List({Val::U64(1), Val::U64(0x0102030405060708ull)}), *t);
  EXPECT_EQ(f.guest.calls.back(), (Guest::Call{0, 0, 8, 16}));
  Val back = LiftOne(f.cx, *t, out);
  ASSERT_EQ(back.items.size(), 2u);
  EXPECT_EQ(back.items[1].u, 0x0102030405060708ull);
  EXPECT_EQ(LiftTrap(f.cx, *t, {Value::I32(4), Value::I32(1)}),
            "canonical ABI: list pointer 0x4 is not 8-byte aligned");
  EXPECT_NE(LiftTrap(f.cx, *t, {Value::I32(0), Value::I32(200)}).find("out of bounds"),
            std::string::npos);
  EXPECT_NE(LiftTrap(f.cx, *t, {Value::I32(0), Value::I32(0x2000'0000)}).find("2^28-1"),
            std::string::npos);
  // Fixed-length lists are inline: no realloc, elements in place.
  auto fixed = ValueType::FixedList(ValueType::U16(), 3);
  size_t calls = f.guest.calls.size();
  ASSERT_FALSE(Store(f.cx, Val::List({Val::U16(1), Val::U16(2), Val::U16(3)}), *fixed, 32));
  EXPECT_EQ(f.guest.calls.size(), calls);
  EXPECT_EQ(f.guest.bytes()[34], 2);
  std::vector<Value> flat;
  EXPECT_TRUE(LowerFlat(f.cx, Val::List({Val::U16(1)}), *fixed, &flat).has_value());
}

TEST(CanonicalAbi, FlagsKeepOnlyTheirLabels) {
  Fixture f;
  std::vector<std::string> labels;
  for (int i = 0; i < 32; ++i) labels.push_back("f" + std::to_string(i));
  auto t32 = ValueType::Flags(labels);
  EXPECT_EQ(LiftOne(f.cx, *t32, {Value::I32(0xffff'ffff)}).u, 0xffff'ffffu);
  auto t3 = ValueType::Flags({"a", "b", "c"});
  EXPECT_EQ(LiftOne(f.cx, *t3, {Value::I32(0xff)}).u, 7u);
  ASSERT_FALSE(Store(f.cx, Val::Flags(5), *t3, 0));
  EXPECT_EQ(f.guest.bytes()[0], 5);
  std::vector<Value> out;
  EXPECT_TRUE(LowerFlat(f.cx, Val::Flags(8), *t3, &out).has_value());
}

TEST(CanonicalAbi, RecordsTuplesOptionsResultsEnumsRoundTrip) {
  Fixture f(StringEncoding::kUtf16);
  auto t = ValueType::Record(
      {{"name", ValueType::String()},
       {"age", ValueType::Option(ValueType::U8())},
       {"r", ValueType::Result(ValueType::Tuple({ValueType::S16(), ValueType::Char()}), nullptr)},
       {"e", ValueType::Enum({"x", "y", "z"})}});
  Val v = Val::Record({Val::String("ann"), Val::Some(Val::U8(42)),
                       Val::ResultOk({Val::Tuple({Val::S16(-2), Val::Char(0x1f600)})}),
                       Val::Enum(2)});
  ASSERT_FALSE(Store(f.cx, v, *t, 0));
  auto back = Load(f.cx, 0, *t);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(ValEquals(back.value(), v));
  auto flat = LowerOne(f.cx, v, *t);
  EXPECT_EQ(flat.size(), 2u + 2u + 3u + 1u);
  Val lifted = LiftOne(f.cx, *t, flat);
  EXPECT_TRUE(ValEquals(lifted, v));
  // Loads check alignment and bounds.
  auto bad = Load(f.cx, 2, *t);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.trap().message, "canonical ABI: load pointer 0x2 is not 4-byte aligned");
  bad = Load(f.cx, 1020, *t);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.trap().message.find("out of bounds"), std::string::npos);
  // A malformed host value is a trap naming the type.
  std::vector<Value> out;
  auto tr = LowerFlat(f.cx, Val::Record({Val::String("x")}), *t, &out);
  ASSERT_TRUE(tr.has_value());
  EXPECT_NE(tr->message.find("wrong number of fields"), std::string::npos);
  tr = LowerFlat(f.cx, Val::Variant(9), *ValueType::Enum({"a"}), &out);
  ASSERT_TRUE(tr.has_value());
}

TEST(CanonicalAbi, MapsAreListsOfKeyValueTuples) {
  Fixture f;
  auto t = ValueType::Map(ValueType::String(), ValueType::U32());
  auto as_list = ValueType::List(ValueType::Tuple({ValueType::String(), ValueType::U32()}));
  // Layout and flattening are those of list<tuple<string, u32>>.
  EXPECT_EQ(SizeOf(*t), 8u);
  EXPECT_EQ(AlignOf(*t), 4u);
  EXPECT_EQ(FlatOf(t), FlatOf(as_list));
  Val v = Val::List({Val::Tuple({Val::String("a"), Val::U32(1)}),
                     Val::Tuple({Val::String("bc"), Val::U32(0xffffffff)})});
  EXPECT_TRUE(ValMatches(v, *t));
  auto flat = LowerOne(f.cx, v, *t);
  ASSERT_EQ(flat.size(), 2u);
  EXPECT_EQ(flat[1].i32, 2u);  // two entries of 12 bytes: ptr, len, u32
  uint32_t entries = flat[0].i32;
  EXPECT_EQ(f.guest.Get32(entries + 4), 1u);
  EXPECT_EQ(f.guest.Get32(entries + 8), 1u);
  EXPECT_EQ(f.guest.Get32(entries + 12 + 8), 0xffffffffu);
  EXPECT_TRUE(ValEquals(LiftOne(f.cx, *t, flat), v));
  // Through memory, and the same bytes read as the despecialised list.
  ASSERT_FALSE(Store(f.cx, v, *t, 0));
  auto back = Load(f.cx, 0, *t);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(ValEquals(back.value(), v));
  auto list = Load(f.cx, 0, *as_list);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(ValEquals(list.value(), v));
  // An entry that is not a (key, value) tuple, or a value that is not a list, traps.
  std::vector<Value> out;
  auto tr = LowerFlat(f.cx, Val::List({Val::U32(1)}), *t, &out);
  ASSERT_TRUE(tr.has_value());
  EXPECT_NE(tr->message.find("tuple<string, u32> (got a u32)"), std::string::npos) << tr->message;
  tr = LowerFlat(f.cx, Val::U32(1), *t, &out);
  ASSERT_TRUE(tr.has_value());
  EXPECT_NE(tr->message.find("(got a u32)"), std::string::npos) << tr->message;
}

TEST(CanonicalAbi, FunctionsSpillPast16ParamsAnd1Result) {
  std::vector<Field> params;
  for (int i = 0; i < 16; ++i) params.push_back({"p" + std::to_string(i), ValueType::U32()});
  FuncType f16{params, ValueType::U8()};
  EXPECT_EQ(FlattenFuncType(f16, FlattenContext::kLift).params.size(), 16u);
  params.push_back({"p16", ValueType::U8()});
  FuncType f17{params, ValueType::String()};
  auto lift = FlattenFuncType(f17, FlattenContext::kLift);
  EXPECT_EQ(lift.params, std::vector<ValType>{ValType::kI32});
  EXPECT_EQ(lift.results, std::vector<ValType>{ValType::kI32});
  auto lower = FlattenFuncType(f17, FlattenContext::kLower);
  EXPECT_EQ(lower.params, (std::vector<ValType>{ValType::kI32, ValType::kI32}));
  EXPECT_TRUE(lower.results.empty());

  // Caller side: the 17 arguments go to memory realloc'd as a tuple.
  Fixture f;
  std::vector<Val> args;
  for (int i = 0; i < 16; ++i) args.push_back(Val::U32(100 + i));
  args.push_back(Val::U8(7));
  std::vector<Value> flat;
  ASSERT_FALSE(LowerFuncArgs(f.cx, f17, args, &flat));
  ASSERT_EQ(flat.size(), 1u);
  EXPECT_EQ(f.guest.calls, (std::vector<Guest::Call>{{0, 0, 4, 68}}));
  uint32_t p = flat[0].i32;
  EXPECT_EQ(f.guest.Get32(p + 4), 101u);
  EXPECT_EQ(f.guest.bytes()[p + 64], 7);
  // Callee side reads them back from the pointer.
  FlatReader in(flat);
  auto lifted = LiftFuncArgs(f.cx, f17, in);
  ASSERT_TRUE(lifted.ok());
  EXPECT_EQ(lifted.value()[16].u, 7u);
  // A string result is returned through memory: (ptr, len) at the returned pointer.
  f.guest.Put32(512, 600);
  f.guest.Put32(516, 2);
  f.guest.bytes()[600] = 'o';
  f.guest.bytes()[601] = 'k';
  auto res = LiftFuncResults(f.cx, f17, std::vector<Value>{Value::I32(512)});
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.value()[0].str, "ok");
  auto misaligned = LiftFuncResults(f.cx, f17, std::vector<Value>{Value::I32(514)});
  ASSERT_FALSE(misaligned.ok());
  // Lowering results through the caller's out-pointer (the last flat arg).
  std::vector<Value> call_args = {Value::I32(p), Value::I32(768)};
  FlatReader args_in(call_args);
  ASSERT_TRUE(LiftFuncArgs(f.cx, f17, args_in).ok());
  std::vector<Value> flat_results;
  ASSERT_FALSE(
      LowerFuncResults(f.cx, f17, std::vector<Val>{Val::String("hey")}, args_in, &flat_results));
  EXPECT_TRUE(flat_results.empty());
  EXPECT_EQ(f.guest.Get32(772), 3u);
  EXPECT_EQ(std::memcmp(f.guest.bytes().data() + f.guest.Get32(768), "hey", 3), 0);
}

TEST(CanonicalAbi, HostileLengthsDoNotAllocateWithoutBound) {
  Fixture f(StringEncoding::kUtf8, 1 << 20);
  f.cx.max_lift_nodes = 1000;
  auto t = ValueType::List(ValueType::U8());
  EXPECT_NE(LiftTrap(f.cx, *t, {Value::I32(0), Value::I32(5000)}).find("max_lift_nodes"),
            std::string::npos);
  auto big = ValueType::FixedList(ValueType::U8(), 0xffff'ffffu);
  std::vector<ValType> flat;
  Flatten(*big, &flat);
  EXPECT_LT(flat.size(), 10000u);
  EXPECT_GT(flat.size(), kMaxFlatParams);
  EXPECT_FALSE(Load(f.cx, 0, *big).ok());
  // A type that doubles at every level: 2^40 flat values, flattened cheaply.
  TypeRef t2 = ValueType::U8();
  for (int i = 0; i < 40; ++i) t2 = ValueType::Tuple({t2, t2});
  flat.clear();
  Flatten(*t2, &flat);
  EXPECT_LT(flat.size(), 10000u);
  FuncType ft{{{"x", t2}}, nullptr};
  EXPECT_EQ(FlattenFuncType(ft, FlattenContext::kLift).params, std::vector<ValType>{ValType::kI32});
}

}  // namespace arcella::component::canonical_abi_test
