// WAVE text (src/component/wave.h): the reference accept/reject cases of
// ../shared/wave/tests/ui run through our WIT reader and WAVE parser, then
// round trips, error positions and limits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <sstream>

#include "component/wave.h"
#include "component/wave_lexer.h"
#include "component/wit_parser.h"

#ifndef ARCELLA_SHARED_DIR
#define ARCELLA_SHARED_DIR ARCELLA_SOURCE_DIR "/../shared"
#endif

namespace arcella::component {
namespace {

// The shared specs directory: $ARCELLA_SHARED_DIR, else the compiled-in
// default (../shared beside the source tree).
std::string WaveSharedDir() {
  const char* env = std::getenv("ARCELLA_SHARED_DIR");
  return env != nullptr && *env != '\0' ? env : ARCELLA_SHARED_DIR;
}

std::string WaveReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Function names as the ui tests write them: `f`, `iface.f`,
// `ns:pkg/iface.f` and `ns:pkg/iface.f@version`.
std::map<std::string, FuncType> WaveUiFunctions(const std::vector<WitPackage>& pkgs) {
  std::map<std::string, FuncType> out;
  for (const auto& p : pkgs) {
    for (const auto& i : p.interfaces) {
      for (const auto& f : i->functions) {
        out[f.name] = f.type;
        out[i->name + "." + f.name] = f.type;
        std::string q = p.ns + ":" + p.name + "/" + i->name + "." + f.name;
        out[q] = f.type;
        if (!p.version.empty()) out[q + "@" + p.version] = f.type;
      }
    }
  }
  return out;
}

struct WaveUiTotals {
  int accepted = 0;
  int rejected = 0;
  int positioned = 0;  // reject cases whose reference output has a position
  int same_start = 0;  // ... and whose start offset equals ours
};

void RunWaveUiFile(const std::filesystem::path& waves, const std::map<std::string, FuncType>& fns,
                   WaveUiTotals* totals) {
  SCOPED_TRACE(waves.filename().string());
  std::string input = WaveReadFile(waves);
  std::filesystem::path outp = waves;
  outp.replace_extension(".out");
  std::string expected = WaveReadFile(outp);
  ASSERT_FALSE(expected.empty()) << outp;
  std::vector<std::string> lines;
  {
    std::istringstream ls(expected);
    for (std::string l; std::getline(ls, l);) lines.push_back(l);
  }
  bool accept = waves.filename().string().rfind("accept-", 0) == 0;
  auto lookup = [&](std::string_view name) -> const FuncType* {
    auto it = fns.find(std::string(name));
    return it == fns.end() ? nullptr : &it->second;
  };
  size_t li = 0;
  size_t start = 0;
  while (start < input.size()) {
    size_t sep = input.find(";\n", start);
    std::string piece = input.substr(start,
                                     sep == std::string::npos ? std::string::npos : sep - start);
    start = sep == std::string::npos ? input.size() : sep + 2;
    if (sep == std::string::npos && !piece.empty() && piece.back() == ';') piece.pop_back();
    if (piece.find_first_not_of(" \n") == std::string::npos) continue;
    // Leading comment lines are copied to the output.
    while (piece.rfind("//", 0) == 0) {
      size_t nl = piece.find('\n');
      ASSERT_LT(li, lines.size());
      EXPECT_EQ(lines[li++], piece.substr(0, nl));
      piece = nl == std::string::npos ? "" : piece.substr(nl + 1);
    }
    ASSERT_LT(li, lines.size()) << "no expected output for: " << piece;
    const std::string& want = lines[li++];
    SCOPED_TRACE(piece);
    Result<WaveCall> call = ParseWaveCall(piece, lookup);
    if (accept) {
      ASSERT_TRUE(call.ok()) << call.status().message();
      const FuncType* f = lookup(call->name);
      ASSERT_NE(f, nullptr);
      std::string printed = PrintWaveCall(call->name, *f, call->args);
      EXPECT_EQ(printed, want);
      // The canonical text parses back to the same values.
      Result<WaveCall> again = ParseWaveCall(printed, lookup);
      ASSERT_TRUE(again.ok()) << again.status().message();
      for (size_t i = 0; i < call->args.size(); ++i) {
        EXPECT_TRUE(ValEquals(call->args[i], again->args[i])) << printed;
      }
      ++totals->accepted;
      continue;
    }
    ASSERT_FALSE(call.ok()) << "accepted: "
                            << PrintWaveCall(call->name, *lookup(call->name), call->args);
    ++totals->rejected;
    const std::string& msg = call.status().message();
    std::smatch ref;
    static const std::regex kRefPos(R"( at (\d+)\.\.(\d+)$)");
    static const std::regex kOurPos(R"(^line \d+, column \d+ \(bytes (\d+)\.\.(\d+)\): .+)");
    if (!std::regex_search(want, ref, kRefPos)) {
      // The reference names no position only for unknown functions.
      EXPECT_EQ(call.status().code(), StatusCode::kNotFound) << msg;
      EXPECT_NE(msg.find(piece.substr(0, piece.find('('))), std::string::npos) << msg;
      continue;
    }
    std::smatch ours;
    ASSERT_TRUE(std::regex_match(msg, ours, kOurPos)) << msg;
    ++totals->positioned;
    if (ours[1] == ref[1]) {
      ++totals->same_start;
    } else {
      std::cout << "  [position differs] " << waves.filename().string() << ": `" << piece
                << "`\n    reference: " << want << "\n    ours:      " << msg << "\n";
    }
  }
  EXPECT_EQ(li, lines.size()) << "unused expected output lines";
}

TEST(WaveUi, EveryReferenceCase) {
  std::filesystem::path dir = std::filesystem::path(WaveSharedDir()) / "wave/tests/ui";
  ASSERT_TRUE(std::filesystem::exists(dir / "ui.wit"))
      << dir << " not found: set ARCELLA_SHARED_DIR to the shared specs directory";
  WitSource wit{"ui.wit", WaveReadFile(dir / "ui.wit")};
  auto pkgs = ParseWit({&wit, 1});
  ASSERT_TRUE(pkgs.ok()) << pkgs.status().message();
  auto fns = WaveUiFunctions(*pkgs);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".waves") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 20u);
  WaveUiTotals totals;
  for (const auto& f : files) RunWaveUiFile(f, fns, &totals);
  std::cout << "wave ui: " << files.size() << " files, " << totals.accepted << " accepted as "
            << "expected, " << totals.rejected << " rejected as expected; " << totals.same_start
            << " of " << totals.positioned << " positioned rejections start where the "
            << "reference's do\n";
  EXPECT_GT(totals.accepted, 50);
  EXPECT_GT(totals.rejected, 100);
}

// ---------------------------------------------------------------- helpers

std::string WaveRoundTrip(std::string_view text, const TypeRef& t) {
  auto v = ParseWave(text, *t);
  if (!v.ok()) return "ERROR " + v.status().message();
  return PrintWave(*v, *t);
}

std::string WaveErr(std::string_view text, const TypeRef& t) {
  auto v = ParseWave(text, *t);
  if (v.ok()) return "OK " + PrintWave(*v, *t);
  return v.status().message();
}

// WAVE has no map syntax: a map is written as its list of (key, value) tuples.
TEST(Wave, MapsAreListsOfTuples) {
  auto t = ValueType::Map(ValueType::String(), ValueType::U32());
  EXPECT_EQ(WaveRoundTrip(R"([("a", 1), ("b", 2)])", t), R"([("a", 1), ("b", 2)])");
  EXPECT_EQ(WaveRoundTrip("[]", t), "[]");
  EXPECT_NE(WaveErr(R"({"a": 1})", t).find("expected"), std::string::npos);
}

TEST(Wave, IntegersEveryWidthAndBound) {
  EXPECT_EQ(WaveRoundTrip("-128", ValueType::S8()), "-128");
  EXPECT_EQ(WaveRoundTrip("127", ValueType::S8()), "127");
  EXPECT_EQ(WaveRoundTrip("255", ValueType::U8()), "255");
  EXPECT_EQ(WaveRoundTrip("-32768", ValueType::S16()), "-32768");
  EXPECT_EQ(WaveRoundTrip("65535", ValueType::U16()), "65535");
  EXPECT_EQ(WaveRoundTrip("-2147483648", ValueType::S32()), "-2147483648");
  EXPECT_EQ(WaveRoundTrip("4294967295", ValueType::U32()), "4294967295");
  EXPECT_EQ(WaveRoundTrip("-9223372036854775808", ValueType::S64()), "-9223372036854775808");
  EXPECT_EQ(WaveRoundTrip("9223372036854775807", ValueType::S64()), "9223372036854775807");
  EXPECT_EQ(WaveRoundTrip("18446744073709551615", ValueType::U64()), "18446744073709551615");
  EXPECT_EQ(WaveRoundTrip("-0", ValueType::U8()), "0");
  EXPECT_EQ(WaveErr("-129", ValueType::S8()),
            "line 1, column 1 (bytes 0..4): number -129 out of range for s8");
  EXPECT_EQ(WaveErr("256", ValueType::U8()),
            "line 1, column 1 (bytes 0..3): number 256 out of range for u8");
  EXPECT_EQ(WaveErr("-1", ValueType::U64()),
            "line 1, column 1 (bytes 0..2): number -1 out of range for u64");
  EXPECT_EQ(WaveErr("18446744073709551616", ValueType::U64()),
            "line 1, column 1 (bytes 0..20): number 18446744073709551616 out of range for u64");
  EXPECT_EQ(WaveErr("99999999999999999999999999", ValueType::S64()),
            "line 1, column 1 (bytes 0..26): number 99999999999999999999999999 out of range for "
            "s64");
  EXPECT_EQ(WaveErr("1.0", ValueType::U32()),
            "line 1, column 1 (bytes 0..3): expected an integer (u32), found number `1.0`");
  EXPECT_EQ(WaveErr("1e3", ValueType::S32()),
            "line 1, column 1 (bytes 0..3): expected an integer (s32), found number `1e3`");
  EXPECT_EQ(WaveErr("01", ValueType::U8()),
            "line 1, column 2 (bytes 1..2): unexpected number `1`; expected end of input");
  EXPECT_EQ(WaveErr("0x10", ValueType::U8()),
            "line 1, column 2 (bytes 1..4): unexpected label `x10`; expected end of input");
  EXPECT_EQ(WaveErr("true", ValueType::U8()),
            "line 1, column 1 (bytes 0..4): expected u8, found `true`");
}

TEST(Wave, FloatsRoundToTheirWidth) {
  EXPECT_EQ(WaveRoundTrip("16777217", ValueType::F32()), "16777216");
  EXPECT_EQ(WaveRoundTrip("16777217", ValueType::F64()), "16777217");
  EXPECT_EQ(WaveRoundTrip("0.1", ValueType::F32()), "0.1");
  EXPECT_EQ(WaveRoundTrip("0.1", ValueType::F64()), "0.1");
  EXPECT_EQ(WaveRoundTrip("6.022e+23", ValueType::F64()), "602200000000000000000000");
  EXPECT_EQ(WaveRoundTrip("1E-3", ValueType::F64()), "0.001");
  EXPECT_EQ(WaveRoundTrip("1.7976931348623157e308", ValueType::F64()),
            "17976931348623157" + std::string(292, '0'));
  EXPECT_EQ(WaveRoundTrip("1e309", ValueType::F64()), "inf");
  EXPECT_EQ(WaveRoundTrip("-1e309", ValueType::F64()), "-inf");
  EXPECT_EQ(WaveRoundTrip("1e-400", ValueType::F64()), "0");
  EXPECT_EQ(WaveRoundTrip("-1e-400", ValueType::F64()), "-0");
  EXPECT_EQ(WaveRoundTrip("5e-324", ValueType::F64()), "0." + std::string(323, '0') + "5");
  EXPECT_EQ(WaveRoundTrip("1e99999999999999999999", ValueType::F32()), "inf");
  EXPECT_EQ(WaveRoundTrip(" nan ", ValueType::F64()), "nan");
  EXPECT_EQ(WaveRoundTrip("inf", ValueType::F32()), "inf");
  auto v = ParseWave("-inf", *ValueType::F64());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(std::isinf(v->f64) && v->f64 < 0);
  EXPECT_EQ(WaveErr("1.", ValueType::F64()),
            "line 1, column 2 (bytes 1..2): invalid number: expected digits after `.`");
  EXPECT_EQ(WaveErr("1e+", ValueType::F64()),
            "line 1, column 2 (bytes 1..3): invalid number: expected exponent digits");
  EXPECT_EQ(WaveErr("%inf", ValueType::F64()),
            "line 1, column 1 (bytes 0..4): expected f64, found `%inf`");
}

TEST(Wave, CharsAndStringsWithEscapes) {
  EXPECT_EQ(WaveRoundTrip(R"('\u{1F30A}')", ValueType::Char()), "'🌊'");
  EXPECT_EQ(WaveRoundTrip(R"('\u{7}')", ValueType::Char()), R"('\u{7}')");
  EXPECT_EQ(WaveRoundTrip(R"('\u{9F}')", ValueType::Char()), R"('\u{9f}')");
  EXPECT_EQ(WaveRoundTrip("'\t'", ValueType::Char()), R"('\t')");
  EXPECT_EQ(WaveRoundTrip(R"("a\u{0}b\r\n")", ValueType::String()), R"("a\u{0}b\r\n")");
  EXPECT_EQ(WaveRoundTrip("\"\"\"\r\n  a\r\n  b\\r\r\n  \"\"\"", ValueType::String()),
            R"("a\nb\r")");
  EXPECT_EQ(WaveErr("\"a\xff\"", ValueType::String()),
            "line 1, column 3 (bytes 2..3): invalid UTF-8");
  EXPECT_EQ(WaveErr("'\xe2\x98'", ValueType::Char()),
            "line 1, column 2 (bytes 1..2): invalid UTF-8");
  EXPECT_EQ(WaveErr(R"("ok\q")", ValueType::String()),
            "line 1, column 4 (bytes 3..5): invalid character escape: use \\', \\\", \\\\, \\t, "
            "\\n, \\r or \\u{...}");
  EXPECT_EQ(WaveErr("\"\"\"\n  x\n y\n  \"\"\"", ValueType::String()),
            "line 3, column 1 (bytes 8..10): invalid multiline string: line indented by fewer "
            "than the 2 spaces before the closing \"\"\"");
  EXPECT_EQ(WaveErr("'a'", ValueType::String()),
            "line 1, column 1 (bytes 0..3): expected string, found a char");
}

TEST(Wave, OptionsAndResultsFlatAndExplicit) {
  auto ou8 = ValueType::Option(ValueType::U8());
  EXPECT_EQ(WaveRoundTrip("7", ou8), "some(7)");
  EXPECT_EQ(WaveRoundTrip("none", ou8), "none");
  auto oou8 = ValueType::Option(ou8);
  EXPECT_EQ(WaveRoundTrip("some(7)", oou8), "some(some(7))");
  EXPECT_EQ(WaveRoundTrip("some(none)", oou8), "some(none)");
  EXPECT_EQ(WaveErr("7", oou8),
            "line 1, column 1 (bytes 0..1): expected option<option<u8>>, found number `7`");
  auto rs = ValueType::Result(ValueType::String(), nullptr);
  EXPECT_EQ(WaveRoundTrip("\"x\"", rs), "ok(\"x\")");
  EXPECT_EQ(WaveRoundTrip("err", rs), "err");
  auto re = ValueType::Result(nullptr, ValueType::String());
  EXPECT_EQ(WaveRoundTrip("ok", re), "ok");
  EXPECT_EQ(WaveRoundTrip("err(\"oops\")", re), "err(\"oops\")");
  EXPECT_EQ(WaveErr("\"x\"", re),
            "line 1, column 1 (bytes 0..3): expected result<_, string>, found a string");
  auto ro = ValueType::Result(ou8, nullptr);
  EXPECT_EQ(WaveRoundTrip("ok(3)", ro), "ok(some(3))");
  EXPECT_EQ(WaveErr("3", ro),
            "line 1, column 1 (bytes 0..1): expected result<option<u8>>, found number `3`");
  // An option of a variant with a keyword case: `%none` is the case.
  auto v = ValueType::Variant({{"none", nullptr}, {"err", ValueType::U8()}});
  auto ov = ValueType::Option(v);
  EXPECT_EQ(WaveRoundTrip("%none", ov), "some(%none)");
  EXPECT_EQ(WaveRoundTrip("none", ov), "none");
  EXPECT_EQ(WaveRoundTrip("%err(1)", ov), "some(%err(1))");
}

TEST(Wave, RecordsVariantsEnumsFlagsTuplesLists) {
  auto rec = ValueType::Record({{"name", ValueType::String()},
                                {"age", ValueType::Option(ValueType::U8())},
                                {"tags", ValueType::List(ValueType::String())}});
  EXPECT_EQ(WaveRoundTrip(R"({tags: [], %name: "a",})", rec), R"({name: "a", tags: []})");
  EXPECT_EQ(WaveErr(R"({name: "a"})", rec),
            "line 1, column 1 (bytes 0..11): missing field `tags` (list<string>)");
  EXPECT_EQ(WaveErr(R"({name: "a", tags: [], nick: "b"})", rec),
            "line 1, column 23 (bytes 22..26): unknown field `nick` of record { name: string, "
            "age: option<u8>, tags: list<string> }");
  auto var = ValueType::Variant({{"empty", nullptr}, {"body", ValueType::List(ValueType::U8())}});
  EXPECT_EQ(WaveRoundTrip("body([79, 75])", var), "body([79, 75])");
  EXPECT_EQ(WaveRoundTrip("empty", var), "empty");
  EXPECT_EQ(WaveErr("body", var),
            "line 1, column 1 (bytes 0..4): missing payload (list<u8>) for case `body`");
  EXPECT_EQ(WaveErr("empty(1)", var),
            "line 1, column 1 (bytes 0..8): unexpected payload for case `empty`");
  EXPECT_EQ(WaveErr("full", var),
            "line 1, column 1 (bytes 0..4): unknown case `full` of variant { empty, "
            "body(list<u8>) }");
  auto en = ValueType::Enum({"ok", "not-found", "HTTP3"});
  EXPECT_EQ(WaveRoundTrip("%ok", en), "%ok");
  EXPECT_EQ(WaveRoundTrip("%not-found", en), "not-found");
  EXPECT_EQ(WaveRoundTrip("HTTP3", en), "HTTP3");
  EXPECT_EQ(WaveErr("ok", en),
            "line 1, column 1 (bytes 0..2): expected enum { ok, not-found, HTTP3 }, found `ok` "
            "(a case named like a keyword is written `%ok`)");
  auto fl = ValueType::Flags({"read", "write", "exec"});
  EXPECT_EQ(WaveRoundTrip("{exec, %read}", fl), "{read, exec}");
  EXPECT_EQ(WaveRoundTrip("{}", fl), "{}");
  auto tup = ValueType::Tuple({ValueType::U8(), ValueType::String()});
  EXPECT_EQ(WaveRoundTrip("(123, \"abc\",)", tup), "(123, \"abc\")");
  EXPECT_EQ(WaveErr("(1)", tup),
            "line 1, column 1 (bytes 0..3): expected 2 elements for tuple<u8, string>, found 1");
  EXPECT_EQ(WaveErr("()", tup), "line 1, column 2 (bytes 1..2): unexpected `)`; expected a value");
  auto fixed = ValueType::FixedList(ValueType::U8(), 4);
  EXPECT_EQ(WaveRoundTrip("[127, 0, 0, 1]", fixed), "[127, 0, 0, 1]");
  EXPECT_EQ(WaveErr("[1, 2]", fixed),
            "line 1, column 1 (bytes 0..6): expected 4 elements for list<u8, 4>, found 2");
}

TEST(Wave, ErrorPositionsCountLinesAndCharacters) {
  auto t = ValueType::List(ValueType::String());
  EXPECT_EQ(WaveErr("[\n  \"☃\", // snow\n  \"x\" 1]", t),
            "line 3, column 7 (bytes 25..26): unexpected number `1`; expected `,` or `]`");
  EXPECT_EQ(WaveErr("[\"☃\", 1]", t),
            "line 1, column 7 (bytes 8..9): expected string, found number `1`");
  EXPECT_EQ(WaveErr("", t),
            "line 1, column 1 (bytes 0..0): unexpected end of input; expected a value");
  EXPECT_EQ(WaveErr("[\"a\"", t),
            "line 1, column 5 (bytes 4..4): unexpected end of input; expected `,` or `]`");
  EXPECT_EQ(WaveErr("[\"a\"] x", t),
            "line 1, column 7 (bytes 6..7): unexpected label `x`; expected end of input");
  EXPECT_EQ(WaveErr("[#]", t),
            "line 1, column 2 (bytes 1..2): invalid token: unexpected character `#`");
}

TEST(Wave, DepthIsLimited) {
  TypeRef t = ValueType::U8();
  for (int i = 0; i < 300; ++i) t = ValueType::List(t);
  std::string deep = std::string(300, '[') + "1" + std::string(300, ']');
  std::string msg = WaveErr(deep, t);
  EXPECT_NE(msg.find("nested deeper than 100 levels"), std::string::npos) << msg;
  // Hostile depth against a flat type is refused while parsing, not by
  // exhausting the stack.
  std::string hostile(1000000, '[');
  msg = WaveErr(hostile, ValueType::U8());
  EXPECT_NE(msg.find("(bytes 101..102): value nested deeper than 100 levels"), std::string::npos)
      << msg;
  std::string payloads;
  for (int i = 0; i < 100000; ++i) payloads += "some(";
  msg = WaveErr(payloads, ValueType::Option(ValueType::U8()));
  EXPECT_NE(msg.find("nested deeper"), std::string::npos) << msg;
  TypeRef ok = ValueType::U8();
  for (int i = 0; i < 99; ++i) ok = ValueType::List(ok);
  std::string fine = std::string(99, '[') + "1" + std::string(99, ']');
  EXPECT_EQ(WaveRoundTrip(fine, ok), fine);
}

TEST(Wave, ResourcesHaveNoTextForm) {
  auto r = std::make_shared<ResourceType>(ResourceType{"input-stream"});
  EXPECT_EQ(
      WaveErr("3", ValueType::Own(r)),
      "line 1, column 1 (bytes 0..1): resource handles (own<input-stream>) have no WAVE form");
  auto rec = ValueType::Record({{"s", ValueType::Borrow(r)}});
  EXPECT_EQ(WaveErr("{s: 3}", rec),
            "line 1, column 5 (bytes 4..5): resource handles (borrow<input-stream>) have no WAVE "
            "form; they cannot be given as text");
  EXPECT_EQ(PrintWave(Val::Own(r, 3), *ValueType::Own(r)), "own<input-stream>(3)");
  EXPECT_EQ(PrintWave(Val::Record({Val::Borrow(r, 9)}), *rec), "{s: borrow<input-stream>(9)}");
}

// The worker protocol's handle form (WaveOptions::handles): a handle is the
// u32 its holder knows it by, at any depth; never accepted without the option.
TEST(Wave, TheHandleFormIsTheHandlesNumber) {
  auto r = std::make_shared<ResourceType>(ResourceType{"counter"});
  auto t = ValueType::Result(ValueType::Tuple({ValueType::Own(r), ValueType::Borrow(r)}),
                             ValueType::String());
  const WaveOptions form{true};
  Val v = Val::ResultOk({Val::Tuple({Val::Own(r, 7), Val::Borrow(r, 4294967295u)})});
  std::string text = PrintWave(v, *t, form);
  EXPECT_EQ(text, "ok((7, 4294967295))");
  auto back = ParseWave(text, *t, form);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->items[0].items[0].kind, TypeKind::kOwn);
  EXPECT_EQ(back->items[0].items[0].u, 7u);
  EXPECT_EQ(back->items[0].items[1].kind, TypeKind::kBorrow);
  EXPECT_EQ(back->items[0].items[1].u, 4294967295u);
  auto top = ParseWave("12", *ValueType::Own(r), form);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->u, 12u);
  EXPECT_FALSE(ParseWave("4294967296", *ValueType::Own(r), form).ok());
  EXPECT_FALSE(ParseWave("-1", *ValueType::Borrow(r), form).ok());
  EXPECT_FALSE(ParseWave("\"x\"", *ValueType::Own(r), form).ok());
  EXPECT_FALSE(ParseWave(text, *t).ok());  // not WAVE
}

TEST(Wave, PrintingAMismatchedValueDoesNotCrash) {
  auto t = ValueType::Tuple({ValueType::U8(), ValueType::String()});
  EXPECT_EQ(PrintWave(Val::Tuple({Val::U8(1)}), *t), "<?tuple arity>");
  EXPECT_EQ(PrintWave(Val::String("x"), *ValueType::U8()), "<?mismatch>");
  EXPECT_EQ(PrintWave(Val::Enum(5), *ValueType::Enum({"a"})), "<?enum case>");
  TypeRef deep_t = ValueType::U8();
  Val deep_v = Val::U8(1);
  for (int i = 0; i < 500; ++i) {
    deep_t = ValueType::Option(deep_t);
    deep_v = Val::Some(std::move(deep_v));
  }
  std::string printed = PrintWave(deep_v, *deep_t);
  EXPECT_NE(printed.find("some(<?too deep>)"), std::string::npos);
}

TEST(WaveCall, ArgumentsNamesAndOmittedTrailingOptions) {
  FuncType f{{{"a", ValueType::U8()},
              {"b", ValueType::Option(ValueType::U8())},
              {"c", ValueType::Option(ValueType::U8())}},
             nullptr};
  FuncType method{{{"self", ValueType::U32()}}, nullptr};
  auto lookup = [&](std::string_view n) -> const FuncType* {
    if (n == "f" || n == "my:pkg/api.f@1.0.0") return &f;
    if (n == "[method]counter.get") return &method;
    return nullptr;
  };
  auto c = ParseWaveCall(" f(1) ", lookup);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(PrintWaveCall(c->name, f, c->args), "f(a: 1, b: none, c: none)");
  c = ParseWaveCall("%f(1, 2,)", lookup);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(PrintWaveCall(c->name, f, c->args), "%f(a: 1, b: some(2), c: none)");
  c = ParseWaveCall("my:pkg/api.f@1.0.0(1, none, some(3))", lookup);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(PrintWaveCall(c->name, f, c->args), "my:pkg/api.f@1.0.0(a: 1, b: none, c: some(3))");
  c = ParseWaveCall("[method]counter.get(7)", lookup);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->args[0].u, 7u);
  c = ParseWaveCall("g(1)", lookup);
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.status().message(), "unknown function `g`");
  EXPECT_EQ(ParseWaveCall("f()", lookup).status().message(),
            "line 1, column 3 (bytes 2..3): missing argument `a` (u8)");
  EXPECT_EQ(ParseWaveCall("f(1, 2, 3, 4, 5)", lookup).status().message(),
            "line 1, column 12 (bytes 11..15): too many arguments: `f` takes 3");
  EXPECT_EQ(ParseWaveCall("f(1) x", lookup).status().message(),
            "line 1, column 6 (bytes 5..6): unexpected label `x`; expected end of input");
  EXPECT_EQ(ParseWaveCall("f", lookup).status().message(),
            "line 1, column 2 (bytes 1..1): unexpected end of input; expected `(` after the "
            "function name");
  // Named arguments, as PrintWaveCall writes them, in parameter order.
  c = ParseWaveCall("f(a: 1, b: some(2))", lookup);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(PrintWaveCall(c->name, f, c->args), "f(a: 1, b: some(2), c: none)");
  EXPECT_EQ(ParseWaveCall("f(a: 1, c: 2)", lookup).status().message(),
            "line 1, column 9 (bytes 8..9): argument `c` given where parameter `b` is expected "
            "(arguments follow the parameter order)");
  EXPECT_EQ(ParseWaveCall("(1)", lookup).status().message(),
            "line 1, column 1 (bytes 0..0): expected a function name");
}

// ---------------------------------------------------------------- random round trips

class WaveValueGen {
 public:
  explicit WaveValueGen(uint32_t seed) : rng_(seed) {}

  Val Make(const ValueType& t, int depth = 0) {
    switch (t.kind) {
      case TypeKind::kBool: return Val::Bool(Bit());
      case TypeKind::kS8: return Val::S8(static_cast<int8_t>(rng_()));
      case TypeKind::kU8: return Val::U8(static_cast<uint8_t>(rng_()));
      case TypeKind::kS16: return Val::S16(static_cast<int16_t>(rng_()));
      case TypeKind::kU16: return Val::U16(static_cast<uint16_t>(rng_()));
      case TypeKind::kS32: return Val::S32(static_cast<int32_t>(rng_()));
      case TypeKind::kU32: return Val::U32(static_cast<uint32_t>(rng_()));
      case TypeKind::kS64: return Val::S64(static_cast<int64_t>(Wide()));
      case TypeKind::kU64: return Val::U64(Wide());
      case TypeKind::kF32: {
        uint32_t bits = static_cast<uint32_t>(rng_());
        float f;
        std::memcpy(&f, &bits, 4);
        if (std::isnan(f)) f = std::numeric_limits<float>::quiet_NaN();
        return Val::F32(f);
      }
      case TypeKind::kF64: {
        uint64_t bits = Wide();
        double d;
        std::memcpy(&d, &bits, 8);
        if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
        return Val::F64(d);
      }
      case TypeKind::kChar: return Val::Char(Char());
      case TypeKind::kString: {
        std::string s;
        size_t n = rng_() % 8;
        for (size_t i = 0; i < n; ++i) AppendUtf8(Char(), &s);
        return Val::String(std::move(s));
      }
      case TypeKind::kList: {
        size_t n = t.length != 0 ? t.length : (depth > 3 ? 0 : rng_() % 4);
        std::vector<Val> items;
        for (size_t i = 0; i < n; ++i) items.push_back(Make(*t.elem, depth + 1));
        return Val::List(std::move(items));
      }
      case TypeKind::kTuple:
      case TypeKind::kRecord: {
        std::vector<Val> items;
        for (const auto& f : t.fields) items.push_back(Make(*f.type, depth + 1));
        return t.kind == TypeKind::kTuple ? Val::Tuple(std::move(items))
                                          : Val::Record(std::move(items));
      }
      case TypeKind::kVariant: {
        uint32_t i = static_cast<uint32_t>(rng_() % t.cases.size());
        if (!t.cases[i].type) return Val::Variant(i);
        return Val::Variant(i, {Make(*t.cases[i].type, depth + 1)});
      }
      case TypeKind::kEnum: return Val::Enum(static_cast<uint32_t>(rng_() % t.labels.size()));
      case TypeKind::kOption: return Bit() ? Val::None() : Val::Some(Make(*t.elem, depth + 1));
      case TypeKind::kResult: {
        bool ok = Bit();
        const TypeRef& p = ok ? t.ok : t.err;
        std::vector<Val> payload;
        if (p) payload.push_back(Make(*p, depth + 1));
        return ok ? Val::ResultOk(std::move(payload)) : Val::ResultErr(std::move(payload));
      }
      case TypeKind::kFlags: return Val::Flags(Wide() & ((uint64_t{1} << t.labels.size()) - 1));
      default: return Val{};
    }
  }

 private:
  bool Bit() { return rng_() & 1; }
  uint64_t Wide() { return (uint64_t{rng_()} << 32) | rng_(); }
  char32_t Char() {
    static const char32_t kPicks[] = {'a', 'Z',  '\'', '"',    '\\',    '\n',     '\t',   '\r',
                                      0,   0x7F, 0xE9, 0x2603, 0x1F30A, 0x10FFFF, 0xFFFD, ' '};
    return kPicks[rng_() % (sizeof kPicks / sizeof kPicks[0])];
  }
  std::mt19937 rng_;
};

TEST(Wave, RandomValuesOfEveryTypeRoundTrip) {
  auto r = ValueType::Record({{"id", ValueType::U64()},
                              {"opt", ValueType::Option(ValueType::S16())},
                              {"true", ValueType::Bool()},
                              {"nested", ValueType::Option(ValueType::Option(ValueType::U8()))}});
  auto var = ValueType::Variant({{"none", nullptr},
                                 {"some", ValueType::Char()},
                                 {"pair", ValueType::Tuple({ValueType::F32(), ValueType::F64()})}});
  std::vector<TypeRef> types = {ValueType::Bool(),
                                ValueType::S8(),
                                ValueType::U8(),
                                ValueType::S16(),
                                ValueType::U16(),
                                ValueType::S32(),
                                ValueType::U32(),
                                ValueType::S64(),
                                ValueType::U64(),
                                ValueType::F32(),
                                ValueType::F64(),
                                ValueType::Char(),
                                ValueType::String(),
                                ValueType::List(ValueType::List(ValueType::String())),
                                ValueType::FixedList(ValueType::S8(), 3),
                                r,
                                var,
                                ValueType::Enum({"left", "right", "inf"}),
                                ValueType::Flags({"a", "b-c", "D"}),
                                ValueType::Option(ValueType::String()),
                                ValueType::Option(ValueType::Result(nullptr, nullptr)),
                                ValueType::Result(ValueType::List(r), ValueType::String()),
                                ValueType::Result(nullptr, var),
                                ValueType::Result(nullptr, nullptr),
                                ValueType::Tuple({ValueType::Bool(), var, ValueType::Option(var)})};
  WaveValueGen gen(8);
  int checked = 0;
  for (const auto& t : types) {
    for (int i = 0; i < 200; ++i) {
      Val v = gen.Make(*t);
      ASSERT_TRUE(ValMatches(v, *t)) << TypeToString(*t);
      std::string text = PrintWave(v, *t);
      auto back = ParseWave(text, *t);
      ASSERT_TRUE(back.ok()) << TypeToString(*t) << ": " << text << ": " << back.status().message();
      EXPECT_TRUE(ValEquals(v, *back)) << TypeToString(*t) << ": " << text;
      EXPECT_EQ(PrintWave(*back, *t), text);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 200 * static_cast<int>(types.size()));
}

TEST(Wave, PrintOfParseIsStable) {
  struct Case {
    const char* text;
    TypeRef type;
  };
  auto ou8 = ValueType::Option(ValueType::U8());
  std::vector<Case> cases = {
      {"[ 0.000e100 , -0.0e-0, 1e-7, 123456789e-3 ]", ValueType::List(ValueType::F64())},
      {"[1.5e10, 3.4028234664e38, 1e-45]", ValueType::List(ValueType::F32())},
      {"\"\"\"\n  // not a comment\n  \"\"\"", ValueType::String()},
      {"{b: 1, a: some(2),}", ValueType::Record({{"a", ou8}, {"b", ou8}})},
      {"{ : }", ValueType::Record({{"a", ou8}})},
      {"[ok(1), err(\"e\"), 7]",
       ValueType::List(ValueType::Result(ValueType::U8(), ValueType::String()))},
  };
  for (const auto& c : cases) {
    std::string once = WaveRoundTrip(c.text, c.type);
    ASSERT_EQ(once.rfind("ERROR", 0), std::string::npos) << c.text << ": " << once;
    EXPECT_EQ(WaveRoundTrip(once, c.type), once) << c.text;
  }
  EXPECT_EQ(WaveRoundTrip("{ : }", ValueType::Record({{"a", ou8}})), "{:}");
  EXPECT_EQ(WaveRoundTrip("\"\"\"\n  // not a comment\n  \"\"\"", ValueType::String()),
            "\"// not a comment\"");
}

}  // namespace
}  // namespace arcella::component
