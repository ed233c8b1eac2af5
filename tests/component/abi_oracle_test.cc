// The canonical ABI against the spec's executable reference: seeded random
// types and values (every type constructor, nested) are stored, flattened
// and lowered by component/canonical_abi.h and by definitions.py (driven by
// tests/component/abi_oracle/oracle.py, a real python3 process), and the
// memory bytes, core values, realloc calls and handle-table effects must be
// identical. The outputs are then lifted back, as they are and with bytes and
// core values mutated to boundary values, and both sides must agree on the
// value or both trap.
//
// definitions.py is found in $ARCELLA_SHARED_DIR (default: ../shared beside
// the source tree, where CI puts it).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "component/canonical_abi.h"
#include "test_util.h"

namespace arcella::component::abi_oracle_test {

using engine::ValType;
using engine::Value;
using json = nlohmann::json;

std::string SharedDir() {
  if (const char* e = std::getenv("ARCELLA_SHARED_DIR")) return e;
  return std::string(ARCELLA_SOURCE_DIR) + "/../shared";
}

std::string DefinitionsDir() { return SharedDir() + "/component-model/design/mvp/canonical-abi"; }

// Runs the oracle on `cases`; fails the test on any problem.
json RunOracle(const json& cases) {
  std::string dir = test::TempDir("abi-oracle");
  std::string in = dir + "/cases.json", out = dir + "/results.json", err = dir + "/stderr.txt";
  {
    std::ofstream f(in);
    f << cases.dump();
  }
  std::string cmd = "python3 " + std::string(ARCELLA_SOURCE_DIR) +
                    "/tests/component/abi_oracle/oracle.py '" + DefinitionsDir() + "' < " + in +
                    " > " + out + " 2> " + err;
  int rc = std::system(cmd.c_str());
  std::stringstream so, se;
  so << std::ifstream(out).rdbuf();
  se << std::ifstream(err).rdbuf();
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << cmd << "\n" << se.str();
  if (rc != 0) return json::array();
  json r = json::parse(so.str(), nullptr, false);
  EXPECT_TRUE(r.is_array()) << so.str().substr(0, 500);
  return r.is_array() ? r : json::array();
}

// ---------------------------------------------------------------- the world

const ResourceRef& Res(char which) {
  static const ResourceRef a = std::make_shared<ResourceType>(ResourceType{"A"});
  static const ResourceRef b = std::make_shared<ResourceType>(ResourceType{"B"});
  static const ResourceRef s = std::make_shared<ResourceType>(ResourceType{"S"});
  return which == 'A' ? a : which == 'B' ? b : s;
}

constexpr uint32_t kTableSize = 24;

// The oracle's starting state: the instance under test defines S; its table
// holds 1 own A 11, 2 own B 12, 3 borrow A 13, 4 own S 14, 5 own A 15, then
// for 6..24 a handle of "ABS"[i % 3], rep 100 + i, borrow if i % 4 == 3.
struct OracleWorld {
  ComponentInstanceState inst;
  Task* task;
  OracleWorld() {
    inst.DefineResource(Res('S').get());
    task = inst.BeginTask();
    auto add = [&](char r, uint32_t rep, bool own) {
      auto i = inst.handles().Add(ResourceHandle{
          .rt = Res(r), .rep = rep, .own = own, .borrow_task = own ? 0 : task->id, .num_lends = 0});
      EXPECT_TRUE(i.ok());
    };
    add('A', 11, true);
    add('B', 12, true);
    add('A', 13, false);
    add('S', 14, true);
    add('A', 15, true);
    for (uint32_t i = 6; i <= kTableSize; ++i) add("ABS"[i % 3], 100 + i, i % 4 != 3);
  }
};

// The test's bump allocator, the same as the oracle's Heap.
struct OracleHeap {
  std::vector<uint8_t>* mem;
  uint32_t next;
  std::string mode;
  json log = json::array();
  TrapOr<uint32_t> Realloc(uint32_t old, uint32_t old_size, uint32_t align, uint32_t new_size) {
    log.push_back({old, old_size, align, new_size});
    uint64_t p;
    if (old != 0 && new_size <= old_size) {
      p = old;
    } else {
      p = (uint64_t{next} + align - 1) / align * align;
      if (p + new_size > mem->size()) return static_cast<uint32_t>(mem->size());
      next = static_cast<uint32_t>(p + new_size);
      uint64_t n = std::min(old_size, new_size);
      if (old + n > mem->size()) n = 0;
      std::vector<uint8_t> tmp(mem->begin() + old, mem->begin() + old + n);
      std::copy(tmp.begin(), tmp.end(), mem->begin() + static_cast<ptrdiff_t>(p));
    }
    if (mode == "misalign" && align > 1) ++p;
    if (mode == "oob") p = mem->empty() ? 0 : mem->size() - 1;
    return static_cast<uint32_t>(p);
  }
};

std::string Hex(const std::vector<uint8_t>& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s.push_back(d[x >> 4]);
    s.push_back(d[x & 15]);
  }
  return s;
}

std::vector<uint8_t> Unhex(const std::string& s) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    b.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return b;
}

// ---------------------------------------------------------------- JSON forms

json TypeJson(const ValueType& t) {
  switch (t.kind) {
    case TypeKind::kList: return {{"list", TypeJson(*t.elem)}, {"len", t.length}};
    case TypeKind::kRecord: {
      json f = json::array();
      for (const auto& x : t.fields) f.push_back({x.name, TypeJson(*x.type)});
      return {{"record", f}};
    }
    case TypeKind::kTuple: {
      json f = json::array();
      for (const auto& x : t.fields) f.push_back(TypeJson(*x.type));
      return {{"tuple", f}};
    }
    case TypeKind::kVariant: {
      json c = json::array();
      for (const auto& x : t.cases) c.push_back({x.name, x.type ? TypeJson(*x.type) : json()});
      return {{"variant", c}};
    }
    case TypeKind::kEnum: return {{"enum", t.labels}};
    case TypeKind::kOption: return {{"option", TypeJson(*t.elem)}};
    case TypeKind::kResult:
      return {{"result", {t.ok ? TypeJson(*t.ok) : json(), t.err ? TypeJson(*t.err) : json()}}};
    case TypeKind::kFlags: return {{"flags", t.labels}};
    case TypeKind::kOwn: return {{"own", t.resource->name}};
    case TypeKind::kBorrow: return {{"borrow", t.resource->name}};
    default: return TypeKindName(t.kind);
  }
}

const ValueType* CaseType(const ValueType& t, uint32_t i) {
  switch (t.kind) {
    case TypeKind::kVariant: return t.cases[i].type.get();
    case TypeKind::kOption: return i ? t.elem.get() : nullptr;
    case TypeKind::kResult: return i ? t.err.get() : t.ok.get();
    default: return nullptr;
  }
}

json ValJson(const Val& v, const ValueType& t) {
  switch (t.kind) {
    case TypeKind::kBool: return v.b;
    case TypeKind::kS8:
    case TypeKind::kS16:
    case TypeKind::kS32:
    case TypeKind::kS64: return v.s;
    case TypeKind::kU8:
    case TypeKind::kU16:
    case TypeKind::kU32:
    case TypeKind::kU64:
    case TypeKind::kFlags:
    case TypeKind::kOwn:
    case TypeKind::kBorrow: return v.u;
    case TypeKind::kF32: {
      uint32_t b;
      std::memcpy(&b, &v.f32, 4);
      return {{"bits", b}};
    }
    case TypeKind::kF64: {
      uint64_t b;
      std::memcpy(&b, &v.f64, 8);
      return {{"bits", b}};
    }
    case TypeKind::kChar: return static_cast<uint32_t>(v.c);
    case TypeKind::kString: return {{"s", v.str}, {"o", v.str_origin}};
    case TypeKind::kMap:  // a list of (key, value) tuples
    case TypeKind::kList: {
      json a = json::array();
      for (const auto& e : v.items) a.push_back(ValJson(e, *t.elem));
      return a;
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      json a = json::array();
      for (size_t i = 0; i < v.items.size(); ++i)
        a.push_back(ValJson(v.items[i], *t.fields[i].type));
      return a;
    }
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      const ValueType* c = CaseType(t, v.index);
      return {{"case", v.index}, {"v", c && v.has_payload() ? ValJson(v.payload(), *c) : json()}};
    }
  }
  return nullptr;
}

json FlatJson(const std::vector<Value>& vals) {
  json a = json::array();
  for (const Value& v : vals) {
    switch (v.type) {
      case ValType::kI32: a.push_back({"i32", v.i32}); break;
      case ValType::kI64: a.push_back({"i64", v.i64}); break;
      case ValType::kF32: a.push_back({"f32", v.i32}); break;
      default: a.push_back({"f64", v.i64}); break;
    }
  }
  return a;
}

std::vector<Value> FlatFromJson(const json& a) {
  std::vector<Value> out;
  for (const auto& x : a) {
    std::string t = x[0];
    if (t == "i32") out.push_back(Value::I32(x[1].get<uint32_t>()));
    if (t == "i64") out.push_back(Value::I64(x[1].get<uint64_t>()));
    if (t == "f32") out.push_back(Value::F32Bits(x[1].get<uint32_t>()));
    if (t == "f64") out.push_back(Value::F64Bits(x[1].get<uint64_t>()));
  }
  return out;
}

StringEncoding EncOf(const std::string& s) {
  return s == "utf16"          ? StringEncoding::kUtf16
         : s == "latin1+utf16" ? StringEncoding::kLatin1Utf16
                               : StringEncoding::kUtf8;
}

// ---------------------------------------------------------------- random types and values

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  uint32_t Below(uint32_t n) {
    return n ? std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_) : 0;
  }
  bool Chance(uint32_t pct) { return Below(100) < pct; }
  uint64_t Bits64() { return (uint64_t{rng_()} << 32) | rng_(); }

  std::vector<std::string> Labels(uint32_t n) {
    std::vector<std::string> l;
    for (uint32_t i = 0; i < n; ++i) l.push_back("l" + std::to_string(i));
    return l;
  }

  TypeRef Type(int depth, bool handles) {
    uint32_t pick = Below(depth > 0 ? 24 : 13);
    if (pick < 13) return ValueType::Prim(static_cast<TypeKind>(pick));
    switch (pick) {
      case 13:
        return Chance(30) ? ValueType::FixedList(Type(depth - 1, handles), 1 + Below(4))
                          : ValueType::List(Type(depth - 1, handles));
      case 14: {
        std::vector<Field> f;
        for (uint32_t i = 0, n = 1 + Below(4); i < n; ++i)
          f.push_back({"f" + std::to_string(i), Type(depth - 1, handles)});
        return ValueType::Record(f);
      }
      case 15: {
        std::vector<TypeRef> e;
        for (uint32_t i = 0, n = 1 + Below(3); i < n; ++i) e.push_back(Type(depth - 1, handles));
        return ValueType::Tuple(e);
      }
      case 16:
      case 17: {
        std::vector<Case> c;
        uint32_t n = Chance(5) ? 257 + Below(20) : 1 + Below(4);
        for (uint32_t i = 0; i < n; ++i)
          c.push_back({"c" + std::to_string(i),
                       (i < 5 && Chance(70)) ? Type(depth - 1, handles) : nullptr});
        return ValueType::Variant(c);
      }
      case 18: return ValueType::Enum(Labels(Chance(10) ? 250 + Below(20) : 1 + Below(5)));
      case 19: return ValueType::Option(Type(depth - 1, handles));
      case 20:
        return ValueType::Result(Chance(75) ? Type(depth - 1, handles) : nullptr,
                                 Chance(75) ? Type(depth - 1, handles) : nullptr);
      case 21: {
        static const uint32_t kCounts[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32};
        return ValueType::Flags(Labels(kCounts[Below(10)]));
      }
      default:
        if (!handles) return ValueType::Prim(static_cast<TypeKind>(Below(13)));
        return Chance(50) ? ValueType::Own(Res("ABS"[Below(3)]))
                          : ValueType::Borrow(Res("ABS"[Below(3)]));
    }
  }

  uint64_t Boundary(int bits) {
    static const uint64_t kEdges[] = {0,          1,          0x7f,      0x80,   0xff,
                                      0x100,      0x7fff,     0x8000,    0xffff, 0x10000,
                                      0x7fffffff, 0x80000000, 0xffffffff};
    uint64_t v = Chance(50) ? kEdges[Below(13)] : Bits64();
    if (Chance(10)) v = ~v;
    return bits == 64 ? v : v & ((uint64_t{1} << bits) - 1);
  }

  char32_t Char() {
    static const char32_t kEdges[] = {0,      'a',     0x7f,    0x80,    0xe9,   0xff,
                                      0x100,  0x7ff,   0x800,   0xd7ff,  0xe000, 0xfffd,
                                      0xffff, 0x10000, 0x1f600, 0x10ffff};
    if (Chance(60)) return kEdges[Below(16)];
    char32_t c = Below(0x110000);
    return (c >= 0xd800 && c <= 0xdfff) ? 0xfffd : c;
  }

  Val String() {
    static const char32_t kAscii[] = {'a', 'b', 'z', '0', ' ', 0};
    static const char32_t kLatin1[] = {0x80, 0xe9, 0xff, 0xa0};
    static const char32_t kBmp[] = {0x100, 0x3b1, 0x4ff, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xffff};
    static const char32_t kAstral[] = {0x10000, 0x1f600, 0x10ffff};
    uint32_t n = Chance(15) ? 0 : Below(Chance(10) ? 40 : 8);
    uint32_t mix = Below(4);  // 0 ascii, 1 +latin1, 2 +bmp, 3 +astral
    std::string s;
    bool latin1 = true;
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t k = Below(mix + 1);
      char32_t c = k == 0   ? kAscii[Below(6)]
                   : k == 1 ? kLatin1[Below(4)]
                   : k == 2 ? kBmp[Below(8)]
                            : kAstral[Below(3)];
      if (c >= 0x100) latin1 = false;
      Utf8(c, &s);
    }
    Val v = Val::String(s);
    uint32_t o = Below(4);
    if (o == 2 && !latin1) o = 0;
    v.str_origin = static_cast<uint8_t>(o);
    return v;
  }

  static void Utf8(char32_t c, std::string* s) {
    if (c < 0x80) {
      s->push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      s->push_back(static_cast<char>(0xc0 | (c >> 6)));
      s->push_back(static_cast<char>(0x80 | (c & 0x3f)));
    } else if (c < 0x10000) {
      s->push_back(static_cast<char>(0xe0 | (c >> 12)));
      s->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
      s->push_back(static_cast<char>(0x80 | (c & 0x3f)));
    } else {
      s->push_back(static_cast<char>(0xf0 | (c >> 18)));
      s->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
      s->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
      s->push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }

  Val Value(const ValueType& t) {
    switch (t.kind) {
      case TypeKind::kBool: return Val::Bool(Chance(50));
      case TypeKind::kS8: return Val::S8(static_cast<int8_t>(Boundary(8)));
      case TypeKind::kU8: return Val::U8(static_cast<uint8_t>(Boundary(8)));
      case TypeKind::kS16: return Val::S16(static_cast<int16_t>(Boundary(16)));
      case TypeKind::kU16: return Val::U16(static_cast<uint16_t>(Boundary(16)));
      case TypeKind::kS32: return Val::S32(static_cast<int32_t>(Boundary(32)));
      case TypeKind::kU32: return Val::U32(static_cast<uint32_t>(Boundary(32)));
      case TypeKind::kS64: return Val::S64(static_cast<int64_t>(Boundary(64)));
      case TypeKind::kU64: return Val::U64(Boundary(64));
      case TypeKind::kF32: {
        static const uint32_t kF[] = {0,          0x80000000, 0x3f800000, 0x7f800000, 0xff800000,
                                      0x7fc00000, 0x7fc00001, 0xffffffff, 0x7f800001, 1};
        uint32_t b = Chance(50) ? kF[Below(10)] : rng_();
        float f;
        std::memcpy(&f, &b, 4);
        return Val::F32(f);
      }
      case TypeKind::kF64: {
        static const uint64_t kF[] = {0,
                                      0x8000000000000000,
                                      0x3ff0000000000000,
                                      0x7ff0000000000000,
                                      0x7ff8000000000000,
                                      0x7ff8000000000001,
                                      0xffffffffffffffff,
                                      1};
        uint64_t b = Chance(50) ? kF[Below(8)] : Bits64();
        double f;
        std::memcpy(&f, &b, 8);
        return Val::F64(f);
      }
      case TypeKind::kChar: return Val::Char(Char());
      case TypeKind::kString: return String();
      case TypeKind::kMap:  // a list of (key, value) tuples
      case TypeKind::kList: {
        std::vector<Val> items;
        uint32_t n = t.length ? t.length : (Chance(20) ? 0 : Below(5));
        for (uint32_t i = 0; i < n; ++i) items.push_back(Value(*t.elem));
        return Val::List(std::move(items));
      }
      case TypeKind::kRecord:
      case TypeKind::kTuple: {
        std::vector<Val> items;
        for (const auto& f : t.fields) items.push_back(Value(*f.type));
        return t.kind == TypeKind::kRecord ? Val::Record(std::move(items))
                                           : Val::Tuple(std::move(items));
      }
      case TypeKind::kVariant: {
        uint32_t i = Below(static_cast<uint32_t>(std::min<size_t>(t.cases.size(), 6)));
        if (Chance(5)) i = static_cast<uint32_t>(t.cases.size() - 1);
        std::vector<Val> p;
        if (t.cases[i].type) p.push_back(Value(*t.cases[i].type));
        return Val::Variant(i, std::move(p));
      }
      case TypeKind::kEnum: return Val::Enum(Below(static_cast<uint32_t>(t.labels.size())));
      case TypeKind::kOption: return Chance(30) ? Val::None() : Val::Some(Value(*t.elem));
      case TypeKind::kResult: {
        bool ok = Chance(50);
        const TypeRef& pt = ok ? t.ok : t.err;
        std::vector<Val> p;
        if (pt) p.push_back(Value(*pt));
        return ok ? Val::ResultOk(std::move(p)) : Val::ResultErr(std::move(p));
      }
      case TypeKind::kFlags: {
        uint64_t mask = t.labels.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << t.labels.size()) - 1;
        return Val::Flags(Bits64() & mask);
      }
      case TypeKind::kOwn: return Val::Own(t.resource, Chance(50) ? Below(100) : rng_());
      case TypeKind::kBorrow: return Val::Borrow(t.resource, Chance(50) ? Below(100) : rng_());
    }
    return Val::Bool(false);
  }

  std::string Enc() {
    static const char* kEnc[] = {"utf8", "utf16", "latin1+utf16"};
    return kEnc[Below(3)];
  }
  std::string ReallocMode() { return Chance(90) ? "ok" : Chance(50) ? "misalign" : "oob"; }

 private:
  std::mt19937 rng_;
};

// ---------------------------------------------------------------- running a case in C++

TypeRef TypeFromJson(const json& j) {
  if (j.is_string()) {
    std::string s = j;
    for (int k = 0; k <= static_cast<int>(TypeKind::kString); ++k)
      if (s == TypeKindName(static_cast<TypeKind>(k)))
        return ValueType::Prim(static_cast<TypeKind>(k));
    return nullptr;
  }
  auto opt = [](const json& x) { return x.is_null() ? nullptr : TypeFromJson(x); };
  if (j.contains("list")) {
    uint32_t len = j.value("len", 0u);
    return len ? ValueType::FixedList(TypeFromJson(j["list"]), len)
               : ValueType::List(TypeFromJson(j["list"]));
  }
  if (j.contains("record")) {
    std::vector<Field> f;
    for (const auto& x : j["record"]) f.push_back({x[0], TypeFromJson(x[1])});
    return ValueType::Record(f);
  }
  if (j.contains("tuple")) {
    std::vector<TypeRef> e;
    for (const auto& x : j["tuple"]) e.push_back(TypeFromJson(x));
    return ValueType::Tuple(e);
  }
  if (j.contains("variant")) {
    std::vector<Case> c;
    for (const auto& x : j["variant"]) c.push_back({x[0], opt(x[1])});
    return ValueType::Variant(c);
  }
  if (j.contains("enum")) return ValueType::Enum(j["enum"]);
  if (j.contains("option")) return ValueType::Option(TypeFromJson(j["option"]));
  if (j.contains("result")) return ValueType::Result(opt(j["result"][0]), opt(j["result"][1]));
  if (j.contains("flags")) return ValueType::Flags(j["flags"]);
  if (j.contains("own")) return ValueType::Own(Res(j["own"].get<std::string>()[0]));
  return ValueType::Borrow(Res(j["borrow"].get<std::string>()[0]));
}

// Runs one oracle case with canonical_abi.h; `vals` are the C++ values
// (the JSON form of values is one-way).
json RunCase(const json& c, const std::vector<Val>& vals) {
  OracleWorld w;
  for (const auto& e : c.value("extra", json::array())) {
    bool own = e[2];
    auto i = w.inst.handles().Add(ResourceHandle{.rt = Res(e[0].get<std::string>()[0]),
                                                 .rep = e[1].get<uint32_t>(),
                                                 .own = own,
                                                 .borrow_task = own ? 0 : w.task->id,
                                                 .num_lends = 0});
    EXPECT_TRUE(i.ok());
  }
  std::vector<uint8_t> mem = Unhex(c.value("mem", ""));
  OracleHeap heap{&mem, c.value("heap", 0u), c.value("realloc", "ok")};
  SpanMemory memory(mem);
  CanonOptions opts{.encoding = EncOf(c.value("enc", "utf8")),
                    .memory = &memory,
                    .realloc =
                        [&](uint32_t a, uint32_t b, uint32_t al, uint32_t n) {
                          auto r = heap.Realloc(a, b, al, n);
                          memory.Reset(mem);
                          return r;
                        },
                    .post_return = {}};
  std::string op = c["op"];
  json out = {{"trap", false}};
  if (op == "flatten") {
    FuncType ft;
    int i = 0;
    for (const auto& p : c["params"])
      ft.params.push_back({"p" + std::to_string(i++), TypeFromJson(p)});
    if (!c["result"].is_null()) ft.result = TypeFromJson(c["result"]);
    for (auto ctx : {FlattenContext::kLift, FlattenContext::kLower}) {
      engine::FuncType core = FlattenFuncType(ft, ctx);
      json ps = json::array(), rs = json::array();
      for (auto t : core.params) ps.push_back(engine::ValTypeName(t));
      for (auto t : core.results) rs.push_back(engine::ValTypeName(t));
      out[ctx == FlattenContext::kLift ? "lift" : "lower"] = {ps, rs};
    }
    return out;
  }
  bool lowering = op == "store" || op == "lower_flat" || op == "lower_values";
  Subtask subtask;
  LiftLowerContext cx(opts, &w.inst);
  if (lowering) cx.task = w.task;
  else cx.subtask = &subtask;
  MaybeTrap trap;
  if (op == "store") {
    trap = Store(cx, vals[0], *TypeFromJson(c["type"]), c["ptr"].get<uint32_t>());
  } else if (op == "lower_flat") {
    std::vector<Value> flat;
    trap = LowerFlat(cx, vals[0], *TypeFromJson(c["type"]), &flat);
    out["flat"] = FlatJson(flat);
  } else if (op == "lower_values") {
    std::vector<TypeRef> ts;
    for (const auto& t : c["types"]) ts.push_back(TypeFromJson(t));
    std::vector<Value> flat;
    trap = LowerFlatValues(cx, c["max_flat"].get<uint32_t>(), vals, ts, &flat);
    out["flat"] = FlatJson(flat);
  } else if (op == "load") {
    TypeRef t = TypeFromJson(c["type"]);
    auto v = Load(cx, c["ptr"].get<uint32_t>(), *t);
    if (v.ok()) out["value"] = ValJson(v.value(), *t);
    else trap = v.trap();
  } else if (op == "lift_flat") {
    TypeRef t = TypeFromJson(c["type"]);
    std::vector<Value> flat = FlatFromJson(c["flat"]);
    FlatReader in(flat);
    auto v = LiftFlat(cx, in, *t);
    if (v.ok()) out["value"] = ValJson(v.value(), *t);
    else trap = v.trap();
  } else if (op == "lift_values") {
    std::vector<TypeRef> ts;
    for (const auto& t : c["types"]) ts.push_back(TypeFromJson(t));
    std::vector<Value> flat = FlatFromJson(c["flat"]);
    FlatReader in(flat);
    auto v = LiftFlatValues(cx, c["max_flat"].get<uint32_t>(), in, ts);
    if (v.ok()) {
      out["values"] = json::array();
      for (size_t i = 0; i < ts.size(); ++i) out["values"].push_back(ValJson(v.value()[i], *ts[i]));
    } else {
      trap = v.trap();
    }
  }
  if (trap) return {{"trap", true}, {"why", trap->message}};
  out["mem"] = Hex(mem);
  out["log"] = heap.log;
  out["borrows"] = w.task->num_borrows;
  json lends = json::array();
  for (uint32_t i = 1; i <= kTableSize; ++i) {
    auto h = w.inst.handles().Get(i);
    lends.push_back(h.ok() ? static_cast<int64_t>(h.value()->num_lends) : -1);
  }
  out["lends"] = lends;
  out["live"] = w.inst.handles().live();
  json extra = json::array();
  for (uint32_t i = kTableSize + 1; i < w.inst.handles().size(); ++i) {
    auto h = w.inst.handles().Get(i);
    if (!h.ok()) {
      extra.push_back(nullptr);
      continue;
    }
    extra.push_back({h.value()->rt->name, h.value()->rep, h.value()->own});
  }
  out["extra"] = extra;
  return out;
}

struct Batch {
  json cases = json::array();
  std::vector<std::vector<Val>> vals;
  void Add(json c, std::vector<Val> v = {}) {
    cases.push_back(std::move(c));
    vals.push_back(std::move(v));
  }
};

int g_multi_realloc = 0;  // cases whose lowering reallocated (transcoding)
int g_borrows = 0;        // cases that lowered borrow handles
int g_table_changed = 0;  // cases that lent or moved prelude handles

// Compares every case of `b` with the oracle; returns the results of C++.
std::vector<json> Compare(const Batch& b, const char* what, int* compared, int* traps) {
  json expect = RunOracle(b.cases);
  std::vector<json> mine;
  if (expect.size() != b.cases.size()) {
    ADD_FAILURE() << what << ": oracle returned " << expect.size() << " results for "
                  << b.cases.size() << " cases";
    return mine;
  }
  int failures = 0;
  for (size_t i = 0; i < b.cases.size(); ++i) {
    json got = RunCase(b.cases[i], b.vals[i]);
    mine.push_back(got);
    json cmp = got;
    cmp.erase("why");
    ++*compared;
    if (got["trap"]) ++*traps;
    if (got.contains("log") && got["log"].size() >= 2) ++g_multi_realloc;
    if (got.contains("borrows") && got["borrows"] != 0) ++g_borrows;
    bool moved = false;
    for (const auto& e : got.value("extra", json::array())) moved = moved || e.is_null();
    if (moved || (got.contains("lends") && got["lends"] != json(std::vector<int>(kTableSize, 0))))
      ++g_table_changed;
    if (cmp != expect[i] && failures++ < 5)
      ADD_FAILURE() << what << " case " << i << ": " << b.cases[i].dump()
                    << "\n  C++:    " << got.dump() << "\n  oracle: " << expect[i].dump();
  }
  EXPECT_EQ(failures, 0) << what;
  return mine;
}

TEST(CanonicalAbiOracle, AgreesWithDefinitionsPy) {
  ASSERT_TRUE(std::filesystem::exists(DefinitionsDir() + "/definitions.py"))
      << "the Component Model reference is not at " << DefinitionsDir()
      << " (set ARCELLA_SHARED_DIR)";
  Gen g(20261202);
  constexpr int kCases = 700;

  // Round 1: store, lower_flat, lower_values, flatten.
  Batch lower;
  for (int i = 0; i < kCases; ++i) {
    TypeRef t = g.Type(1 + static_cast<int>(g.Below(3)), true);
    Val v = g.Value(*t);
    uint32_t align = AlignOf(*t), size = SizeOf(*t);
    uint32_t ptr = (g.Below(16) + align - 1) / align * align;
    uint32_t heap = ptr + size + g.Below(8);
    uint32_t mem = heap + (g.Chance(10) ? g.Below(64) : 4096);
    std::string enc = g.Enc(), mode = g.ReallocMode();
    json hexmem = Hex(std::vector<uint8_t>(mem, 0));
    lower.Add({{"op", "store"},
               {"type", TypeJson(*t)},
               {"enc", enc},
               {"mem", hexmem},
               {"heap", heap},
               {"realloc", mode},
               {"ptr", ptr},
               {"value", ValJson(v, *t)}},
              {v});
    lower.Add({{"op", "lower_flat"},
               {"type", TypeJson(*t)},
               {"enc", enc},
               {"mem", hexmem},
               {"heap", heap},
               {"realloc", mode},
               {"value", ValJson(v, *t)}},
              {v});
    if (i % 2 == 0) {
      std::vector<TypeRef> ts;
      std::vector<Val> vs;
      json tj = json::array(), vj = json::array();
      for (uint32_t k = 0, n = g.Below(6); k < n; ++k) {
        ts.push_back(g.Type(static_cast<int>(g.Below(3)), true));
        vs.push_back(g.Value(*ts.back()));
        tj.push_back(TypeJson(*ts.back()));
        vj.push_back(ValJson(vs.back(), *ts.back()));
      }
      uint32_t max_flat = g.Chance(50) ? 1 : 16;
      lower.Add({{"op", "lower_values"},
                 {"types", tj},
                 {"values", vj},
                 {"enc", enc},
                 {"mem", Hex(std::vector<uint8_t>(4096, 0))},
                 {"heap", 8 * g.Below(4)},
                 {"realloc", mode},
                 {"max_flat", max_flat}},
                vs);
      json params = json::array();
      for (uint32_t k = 0, n = g.Below(20); k < n; ++k)
        params.push_back(TypeJson(*g.Type(static_cast<int>(g.Below(3)), true)));
      lower.Add({{"op", "flatten"},
                 {"params", params},
                 {"result", g.Chance(30) ? json() : TypeJson(*g.Type(2, true))}});
    }
  }
  // Every string origin into every encoding, for strings at the edges of
  // ASCII, latin1, the BMP and beyond.
  const char* kStrings[] = {"",
                            "a",
                            "hi",
                            "\x01",
                            "a\x7f"
                            "b",
                            "\xc2\x80",
                            "\xc2\x80"
                            "b",
                            "ab\xc3\xaf"
                            "c",
                            "\xc7\xbfy",
                            "xy\xc7\xbf",
                            "\xc3\xbf\xc4\x80",
                            "\xef\xbf\xbf",
                            "\xf0\x9f\x98\x80",
                            "abc\xf0\x90\x80\x80z",
                            "\xc3\xa9\xc3\xa9\xc3\xa9"};
  for (const char* text : kStrings) {
    for (uint8_t origin = 0; origin < 4; ++origin) {
      Val v = Val::String(text);
      v.str_origin = origin;
      bool latin1 = true;
      for (unsigned char ch : std::string(text))
        latin1 = latin1 && ch < 0xc4;  // no UTF-8 lead byte of U+0100 and up
      if (origin == 2 && !latin1) continue;
      for (const char* enc : {"utf8", "utf16", "latin1+utf16"}) {
        json base = {
            {"type", "string"}, {"enc", enc},      {"mem", Hex(std::vector<uint8_t>(256, 0))},
            {"heap", 16},       {"realloc", "ok"}, {"value", ValJson(v, *ValueType::String())}};
        json st = base;
        st["op"] = "store";
        st["ptr"] = 0;
        lower.Add(st, {v});
        json lf = base;
        lf["op"] = "lower_flat";
        lower.Add(lf, {v});
      }
    }
  }
  int compared = 0, traps = 0;
  std::vector<json> lowered = Compare(lower, "lowering", &compared, &traps);
  int lower_compared = compared, lower_traps = traps;

  // Round 2: lift what was lowered, as is and mutated.
  Batch lift;
  for (size_t i = 0; i < lowered.size(); ++i) {
    const json& c = lower.cases[i];
    const json& r = lowered[i];
    if (r["trap"] || c["op"] == "flatten") continue;
    std::vector<uint8_t> mem = Unhex(r["mem"]);
    for (int variant = 0; variant < 3; ++variant) {
      std::vector<uint8_t> m = mem;
      std::string enc = c["enc"];
      json flat = r.value("flat", json::array());
      if (variant > 0) {
        if (g.Chance(30)) enc = g.Enc();
        for (uint32_t k = 0, n = 1 + g.Below(3); k < n && !m.empty(); ++k) {
          uint32_t at = g.Chance(70)
                            ? g.Below(std::min<uint32_t>(96, static_cast<uint32_t>(m.size())))
                            : g.Below(static_cast<uint32_t>(m.size()));
          m[at] = static_cast<uint8_t>(g.Chance(50) ? g.Boundary(8) : g.Below(7));
        }
        if (!flat.empty() && g.Chance(70)) {
          json& x = flat[g.Below(static_cast<uint32_t>(flat.size()))];
          std::string ty = x[0];
          x[1] = ty == "i64" || ty == "f64" ? g.Boundary(64)
                 : g.Chance(50)             ? g.Boundary(32)
                                            : g.Below(7);
        }
      }
      json base = {{"enc", enc}, {"mem", Hex(m)}, {"extra", r["extra"]}};
      if (c["op"] == "store") {
        json k = base;
        k["op"] = "load";
        k["type"] = c["type"];
        k["ptr"] = c["ptr"];
        lift.Add(k);
      } else if (c["op"] == "lower_flat") {
        json k = base;
        k["op"] = "lift_flat";
        k["type"] = c["type"];
        k["flat"] = flat;
        lift.Add(k);
      } else {
        json k = base;
        k["op"] = "lift_values";
        k["types"] = c["types"];
        k["max_flat"] = c["max_flat"];
        k["flat"] = flat;
        lift.Add(k);
      }
    }
  }
  Compare(lift, "lifting", &compared, &traps);
  int lift_compared = compared - lower_compared, lift_traps = traps - lower_traps;
  std::printf("[ oracle ] %d lowering cases compared (%d trap on both sides), %d lifting cases "
              "compared (%d trap on both sides)\n",
              lower_compared, lower_traps, lift_compared, lift_traps);
  std::printf("[ oracle ] %d with several realloc calls, %d lowering borrows, %d lending or "
              "moving handles\n",
              g_multi_realloc, g_borrows, g_table_changed);
  EXPECT_GT(g_multi_realloc, 50);
  EXPECT_GT(g_borrows, 20);
  EXPECT_GT(g_table_changed, 20);
  // The generator must reach both outcomes in both directions.
  EXPECT_GT(lower_compared - lower_traps, lower_compared / 2);
  EXPECT_GT(lower_traps, 10);
  EXPECT_GT(lift_compared - lift_traps, lift_compared / 4);
  EXPECT_GT(lift_traps, 10);
}

}  // namespace arcella::component::abi_oracle_test

namespace arcella::component::abi_oracle_test {

// Without the oracle, many more garbage lifts: nothing crashes, and every
// value that lifts has the shape of its type.
TEST(CanonicalAbiGarbage, LiftedValuesAlwaysMatchTheirType) {
  Gen g(7);
  int lifted = 0, trapped = 0;
  for (int i = 0; i < 20000; ++i) {
    TypeRef t = g.Type(1 + static_cast<int>(g.Below(3)), true);
    std::vector<uint8_t> mem(g.Chance(10) ? g.Below(64) : 512);
    for (auto& b : mem) b = static_cast<uint8_t>(g.Chance(60) ? g.Below(8) : g.Boundary(8));
    OracleWorld w;
    SpanMemory memory(mem);
    CanonOptions opts{.encoding = EncOf(g.Enc()),
                      .memory = &memory,
                      .realloc = {},
                      .post_return = {}};
    Subtask subtask;
    LiftLowerContext cx(opts, &w.inst);
    cx.subtask = &subtask;
    std::vector<ValType> flat_types;
    Flatten(*t, &flat_types);
    TrapOr<Val> v = Val();
    if (g.Chance(50) && flat_types.size() <= 64) {
      std::vector<Value> flat;
      for (ValType ft : flat_types) {
        uint64_t x = g.Chance(50) ? g.Below(600) : g.Boundary(64);
        flat.push_back(ft == ValType::kI32   ? Value::I32(static_cast<uint32_t>(x))
                       : ft == ValType::kI64 ? Value::I64(x)
                       : ft == ValType::kF32 ? Value::F32Bits(static_cast<uint32_t>(x))
                                             : Value::F64Bits(x));
      }
      FlatReader in(flat);
      v = LiftFlat(cx, in, *t);
    } else {
      uint32_t align = AlignOf(*t);
      v = Load(cx, (g.Below(64) + align - 1) / align * align, *t);
    }
    if (!v.ok()) {
      ++trapped;
      EXPECT_EQ(v.trap().message.rfind("canonical ABI: ", 0), 0u) << v.trap().message;
      continue;
    }
    ++lifted;
    std::string why;
    EXPECT_TRUE(ValMatches(v.value(), *t, &why)) << TypeToString(*t) << ": " << why;
  }
  EXPECT_GT(lifted, 2000);
  EXPECT_GT(trapped, 2000);
}

}  // namespace arcella::component::abi_oracle_test
