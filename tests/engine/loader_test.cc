// Loader: decoding, validation errors with byte offsets, descriptors,
// function names, SIMD detection, encoding round trips, robustness.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/loader.h"
#include "test_util.h"
#include "wabt/ir.h"

namespace arcella::engine {
namespace {

using test::Wat;
using Bytes = std::vector<uint8_t>;

std::string DecodeError(const Bytes& b) {
  auto r = Decode(b);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

const char* kModule = R"wat((module
  (import "env" "log" (func $log (param i32 i64) (result f32)))
  (import "env" "mem" (memory 1 10))
  (import "env" "tab" (table 2 externref))
  (import "env" "g" (global $g (mut f64)))
  (func $named (export "first") (export "second") (result i32) i32.const 1)
  (func (export "anon") (param i32) local.get 0 drop)
  (func)
  (global (export "cnt") (mut i64) (i64.const 0))
  (table (export "t") 3 7 funcref)
  (export "m" (memory 0))
))wat";

TEST(Loader, DescribesImportsAndExports) {
  auto r = Decode(Wat(kModule));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const DecodedModule& m = *r;
  ASSERT_EQ(m.imports.size(), 4u);
  EXPECT_EQ(m.imports[0].module, "env");
  EXPECT_EQ(m.imports[0].name, "log");
  EXPECT_EQ(m.imports[0].desc.kind, ExternKind::kFunc);
  EXPECT_EQ(m.imports[0].desc.func, (FuncType{{ValType::kI32, ValType::kI64}, {ValType::kF32}}));
  EXPECT_EQ(m.imports[1].desc.kind, ExternKind::kMemory);
  EXPECT_EQ(m.imports[1].desc.limits.min, 1u);
  EXPECT_TRUE(m.imports[1].desc.limits.has_max);
  EXPECT_EQ(m.imports[1].desc.limits.max, 10u);
  EXPECT_EQ(m.imports[2].desc.kind, ExternKind::kTable);
  EXPECT_EQ(m.imports[2].desc.value_type, ValType::kExternRef);
  EXPECT_FALSE(m.imports[2].desc.limits.has_max);
  EXPECT_EQ(m.imports[3].desc.kind, ExternKind::kGlobal);
  EXPECT_EQ(m.imports[3].desc.value_type, ValType::kF64);
  EXPECT_TRUE(m.imports[3].desc.mut);

  ASSERT_EQ(m.exports.size(), 6u);
  EXPECT_EQ(m.exports[0].name, "first");
  EXPECT_EQ(m.exports[0].desc.func, (FuncType{{}, {ValType::kI32}}));
  EXPECT_EQ(m.exports[2].name, "anon");
  EXPECT_EQ(m.exports[2].desc.func, (FuncType{{ValType::kI32}, {}}));
  EXPECT_EQ(m.exports[3].name, "cnt");
  EXPECT_EQ(m.exports[3].desc.kind, ExternKind::kGlobal);
  EXPECT_EQ(m.exports[3].desc.value_type, ValType::kI64);
  EXPECT_TRUE(m.exports[3].desc.mut);
  EXPECT_EQ(m.exports[4].desc.kind, ExternKind::kTable);
  EXPECT_EQ(m.exports[4].desc.limits.min, 3u);
  EXPECT_EQ(m.exports[4].desc.limits.max, 7u);
  EXPECT_EQ(m.exports[5].desc.kind, ExternKind::kMemory);
  EXPECT_FALSE(m.uses_simd);
}

TEST(Loader, FunctionNames) {
  auto r = Decode(Wat(kModule));
  ASSERT_TRUE(r.ok());
  // Name section first, then the first export name, then func[N].
  EXPECT_EQ(r->func_names, (std::vector<std::string>{"log", "named", "anon", "func[3]"}));
}

TEST(Loader, DetectsSimd) {
  auto has = [](const char* wat) {
    auto r = Decode(Wat(wat));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->uses_simd;
  };
  EXPECT_FALSE(has("(module (func (result i32) i32.const 1))"));
  EXPECT_TRUE(has("(module (func (local v128)))"));
  EXPECT_TRUE(has("(module (func (param v128)))"));
  EXPECT_TRUE(has("(module (global v128 (v128.const i32x4 0 0 0 0)))"));
  EXPECT_TRUE(has(R"((module (memory 1) (func (result i32)
      (i32x4.extract_lane 0 (i32x4.splat (i32.const 1))))))"));
  EXPECT_TRUE(has(R"((module (memory 1) (func (result i32)
      (i8x16.all_true (v128.load (i32.const 0))))))"));
}

TEST(Loader, RejectsBadMagicEmptyAndTruncated) {
  EXPECT_EQ(DecodeError({}), "not a wasm module: empty input");
  EXPECT_EQ(DecodeError({'h', 'e', 'l', 'l', 'o', 0, 0, 0}), "not a wasm module: bad magic number");
  EXPECT_EQ(DecodeError({0, 'a', 's'}), "not a wasm module: bad magic number");
  EXPECT_NE(DecodeError({0, 'a', 's', 'm', 1, 0}).find("truncated header"), std::string::npos);
  EXPECT_NE(DecodeError({0, 'a', 's', 'm', 2, 0, 0, 0}).find("unsupported version"),
            std::string::npos);
  EXPECT_TRUE(Decode(Bytes{0, 'a', 's', 'm', 1, 0, 0, 0}).ok());  // the empty module

  Bytes good = Wat(kModule);
  for (size_t cut : {size_t{9}, size_t{20}, good.size() / 2, good.size() - 1}) {
    Bytes b(good.begin(), good.begin() + cut);
    std::string err = DecodeError(b);
    EXPECT_EQ(err.rfind("invalid module at byte 0x", 0), 0u) << cut << ": " << err;
  }
}

TEST(Loader, RejectsComponents) {
  Bytes component = {0, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00, 0x00};
  EXPECT_TRUE(IsComponentBinary(component));
  EXPECT_FALSE(IsComponentBinary(Bytes{0, 'a', 's', 'm', 1, 0, 0, 0}));
  EXPECT_EQ(DecodeError(component), "this is a WebAssembly component, not a core module");
}

TEST(Loader, InvalidCodeNamesProblemAndOffset) {
  // (func (result i32) i64.const 0) : type section, func section, code.
  Bytes b = {0,    'a',  's',  'm',  1,    0,    0,    0,
             0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,         // type: () -> i32
             0x03, 0x02, 0x01, 0x00,                           // func 0: type 0
             0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x00, 0x0b};  // i64.const 0; end
  std::string err = DecodeError(b);
  EXPECT_EQ(err.rfind("invalid module at byte 0x", 0), 0u) << err;
  EXPECT_NE(err.find("type mismatch"), std::string::npos) << err;
  // The offset points into the code section (which starts at 0x13).
  unsigned long off = std::stoul(err.substr(std::string("invalid module at byte ").size()), nullptr,
                                 16);
  EXPECT_GE(off, 0x13u) << err;
  EXPECT_LT(off, b.size()) << err;
}

TEST(Loader, NamesFeaturesBeyondWasm20) {
  // Threads (shared memory) and memory64: refused, the proposal named.
  for (const char* wat : {"(module (memory 1 1 shared))", "(module (memory i64 1))"}) {
    auto r = Decode(Wat(wat));
    ASSERT_FALSE(r.ok()) << wat;
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << wat;
    EXPECT_EQ(r.status().message().rfind("uses the ", 0), 0u)
        << wat << ": " << r.status().message();
  }
  // Tail calls and exceptions: accepted for the interpreter, noted as extensions.
  for (const char* wat : {"(module (func return_call 0))", "(module (tag))"}) {
    auto r = Decode(Wat(wat));
    ASSERT_TRUE(r.ok()) << wat << ": " << r.status().ToString();
    ASSERT_EQ(r->extensions.size(), 1u) << wat;
    EXPECT_FALSE(AotBlocker(*r).empty()) << wat;
  }
}

TEST(Loader, EncodeRoundTripKeepsNamesAndShape) {
  auto r = Decode(Wat(kModule));
  ASSERT_TRUE(r.ok());
  auto bytes = Encode(*r->ir);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto again = Decode(*bytes);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->func_names, r->func_names);
  EXPECT_EQ(again->imports.size(), r->imports.size());
  EXPECT_EQ(again->exports.size(), r->exports.size());
}

TEST(Loader, DescribeMatchesDecode) {
  auto r = Decode(Wat(kModule));
  ASSERT_TRUE(r.ok());
  DecodedModule copy;
  Describe(*r->ir, &copy);
  EXPECT_EQ(copy.func_names, r->func_names);
  EXPECT_EQ(copy.exports.size(), r->exports.size());
}

TEST(Loader, FuzzCorpusDecodesOrFailsCleanly) {
  // fuzz/corpus/loader holds the seeds and the inputs that once crashed
  // libwabt's reader or writer (regress_*.wasm): each must now be rejected.
  std::string dir = std::string(ARCELLA_SOURCE_DIR) + "/fuzz/corpus/loader/";
  for (const char* name : {"regress_block_in_const_expr.wasm", "regress_typed_ref_table.wasm"}) {
    std::string err = DecodeError(test::ReadFile(dir + name));
    EXPECT_EQ(err.rfind("invalid module", 0), 0u) << name << ": " << err;
  }
  // This one also has a custom section whose name length runs past the
  // section: malformed by the spec, rejected before wabt sees it.
  std::string stale = DecodeError(test::ReadFile(dir + "regress_stale_name_binding.wasm"));
  EXPECT_NE(stale.find("custom section name"), std::string::npos) << stale;
  for (const char* name : {"control.wasm", "bulk_ref.wasm", "simd_multi.wasm", "empty_module.wasm"})
    EXPECT_TRUE(Decode(test::ReadFile(dir + name)).ok()) << name;
  EXPECT_FALSE(Decode(test::ReadFile(dir + "truncated.wasm")).ok());
}

TEST(Loader, RejectsNonConstantInitializer) {
  // global i32 = (i32.const 0; i32.extend8_s; block ...): wabt's IR reader
  // would abort on the `block`; the prescan rejects it with its offset.
  Bytes b = {0, 'a', 's', 'm', 1, 0, 0, 0, 0x06, 0x07, 0x01, 0x7f, 0x00, 0x41, 0x00, 0xc0, 0x0b};
  EXPECT_EQ(DecodeError(b),
            "invalid module at byte 0xf: constant expression required (opcode 0xc0)");
}

TEST(Loader, MutatedInputNeverAborts) {
  // A miniature fuzzer: byte flips, truncations and insertions of a valid
  // module must yield a module or a clean error, never a crash.
  Bytes seed = Wat(R"wat((module
    (memory 1) (table 2 funcref) (global (mut i32) (i32.const 0))
    (func $f (param i32) (result i32)
      (block (loop (br_if 1 (local.get 0)) (br 0)))
      (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0)))
    (elem (i32.const 0) $f) (data (i32.const 0) "abc") (export "f" (func $f))))wat");
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    Bytes b = seed;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = 8 + rng() % (b.size() - 8);
      switch (rng() % 3) {
        case 0: b[pos] = static_cast<uint8_t>(rng()); break;
        case 1: b.resize(pos); break;
        case 2: b.insert(b.begin() + pos, static_cast<uint8_t>(rng())); break;
      }
      if (b.size() <= 8) break;
    }
    auto r = Decode(b);
    if (r.ok()) {
      ++accepted;
      EXPECT_TRUE(Encode(*r->ir).ok());
    } else {
      EXPECT_FALSE(r.status().message().empty());
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace arcella::engine
