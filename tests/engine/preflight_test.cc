// Preflight: imports, exports and proposals read from the headers alone, and
// CheckImports listing every unresolved or mistyped import at once.
#include "engine/preflight.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine_test_helpers.h"
#include "test_util.h"
#include "wasi/wasi.h"

namespace arcella::engine {
namespace {

using test_helpers::InterpOptions;

Linker WasiLinker() {
  Linker linker;
  auto ctx = wasi::WasiCtx::Create(wasi::WasiConfig{});
  EXPECT_TRUE(ctx.ok());
  if (ctx.ok()) {
    EXPECT_TRUE((*ctx)->AddToLinker(linker).ok());
  }
  return linker;
}

TEST(PreflightTest, ReadsImportsWithTheirTypesAndExports) {
  auto wasm = test::Wat(R"((module
    (import "env" "f" (func (param i32 i64) (result f32)))
    (import "env" "mem" (memory 1 5))
    (import "env" "g" (global (mut i64)))
    (import "env" "t" (table 2 externref))
    (func (export "run") (result i32) i32.const 1)
    (global (export "gx") i32 (i32.const 0))))");
  auto pf = PreflightModule(wasm);
  ASSERT_TRUE(pf.ok()) << pf.status().ToString();
  ASSERT_EQ(pf->imports.size(), 4u);
  EXPECT_EQ(pf->imports[0].module, "env");
  EXPECT_EQ(pf->imports[0].name, "f");
  EXPECT_EQ(DescribeImportType(pf->imports[0].desc), "(func (param i32 i64) (result f32))");
  EXPECT_EQ(DescribeImportType(pf->imports[1].desc), "(memory 1 5)");
  EXPECT_EQ(DescribeImportType(pf->imports[2].desc), "(global (mut i64))");
  EXPECT_EQ(DescribeImportType(pf->imports[3].desc), "(table 2 externref)");
  ASSERT_EQ(pf->exports.size(), 2u);
  EXPECT_EQ(pf->exports[0].name, "run");
  EXPECT_EQ(pf->exports[0].desc.kind, ExternKind::kFunc);
  EXPECT_EQ(pf->exports[1].desc.kind, ExternKind::kGlobal);
  EXPECT_TRUE(pf->features.empty());
  EXPECT_GT(pf->code_bytes, 0u);
}

TEST(PreflightTest, CheckImportsListsEveryProblemAtOnce) {
  auto wasm = test::ReadFile(test::FixturePath("early_bad_imports.wasm"));
  auto pf = PreflightModule(wasm);
  ASSERT_TRUE(pf.ok()) << pf.status().ToString();
  Status st = CheckImports(*pf, WasiLinker());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  const std::string& msg = st.message();
  EXPECT_EQ(msg.rfind("3 imports cannot be resolved:", 0), 0u) << msg;
  EXPECT_NE(msg.find("rb-js-abi-host.foo (func (param i32) (result i32)): not provided"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("env.log (func (param i64)): not provided"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wasi_snapshot_preview1.proc_exit (func (param i64)): the host's function "
                     "is (func (param i32))"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("fd_write"), std::string::npos) << "a good import is not listed: " << msg;
}

TEST(PreflightTest, CheckImportsAgreesWithInstanceCreate) {
  auto lib = Module::Compile(test::TestEngine(), test::Wat(R"((module
    (func (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
    (memory (export "mem") 1)))"),
                             InterpOptions());
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  auto lib_inst = Instance::Create(*lib, Linker{}, {});
  ASSERT_TRUE(lib_inst.ok());
  Linker linker;
  linker.DefineInstance("lib", *lib_inst);
  linker.DefineFunc("host", "h", {{ValType::kI32}, {}}, nullptr);

  auto good = test::Wat(R"((module
    (import "lib" "inc" (func (param i32) (result i32)))
    (import "lib" "mem" (memory 1))
    (import "host" "h" (func (param i32)))))");
  auto pf = PreflightModule(good);
  ASSERT_TRUE(pf.ok());
  EXPECT_TRUE(CheckImports(*pf, linker).ok()) << CheckImports(*pf, linker).ToString();

  auto bad = test::Wat(R"((module
    (import "lib" "inc" (func (param i64) (result i32)))
    (import "lib" "mem" (func))
    (import "lib" "nope" (global i32))
    (import "host" "h" (memory 1))))");
  pf = PreflightModule(bad);
  ASSERT_TRUE(pf.ok());
  Status st = CheckImports(*pf, linker);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("4 imports cannot be resolved:", 0), 0u) << st.message();
  EXPECT_NE(st.message().find("lib.inc (func (param i64) (result i32)): the export is (func "
                              "(param i32) (result i32))"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("lib.mem (func): lib exports a memory"), std::string::npos);
  EXPECT_NE(st.message().find("lib.nope (global i32): not provided"), std::string::npos);
  EXPECT_NE(st.message().find("host.h (memory 1): the host defines a function"), std::string::npos);
  // And Instance::Create refuses the same module (after a compile).
  auto m = Module::Compile(test::TestEngine(), bad, InterpOptions());
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(Instance::Create(*m, linker, {}).ok());
}

// Offset of the first section with `id` (walks the section headers).
size_t SectionOffset(const std::vector<uint8_t>& w, uint8_t id) {
  size_t pos = 8;
  while (pos < w.size()) {
    size_t at = pos;
    uint8_t sid = w[pos++];
    uint32_t size = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t b = w[pos++];
      size |= static_cast<uint32_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (sid == id) return at;
    pos += size;
  }
  return 0;
}

TEST(PreflightTest, NamesProposalsSeenInTheHeaders) {
  auto eh = test::ReadFile(test::FixturePath("early_eh.wasm"));
  auto pf = PreflightModule(eh);
  ASSERT_TRUE(pf.ok());
  ASSERT_EQ(pf->features.size(), 1u);
  EXPECT_EQ(pf->features[0].feature, Feature::kExceptions);
  EXPECT_EQ(pf->features[0].offset, SectionOffset(eh, 13));
  EXPECT_EQ(pf->features[0].where, "tag section");
  char want[64];
  std::snprintf(want, sizeof want, "(tag section at offset 0x%zx)", SectionOffset(eh, 13));
  EXPECT_NE(DescribeFeatureUse(pf->features[0], "by this engine").find(want), std::string::npos);
  EXPECT_TRUE(InterpreterSupports(Feature::kExceptions));

  struct Want {
    const char* wat;
    Feature feature;
  };
  for (const Want& w : {Want{"(module (memory 1 1 shared))", Feature::kThreads},
                        Want{"(module (memory i64 1))", Feature::kMemory64},
                        Want{"(module (type (struct (field i32))))", Feature::kGc}}) {
    auto p = PreflightModule(test::Wat(w.wat));
    ASSERT_TRUE(p.ok()) << w.wat << ": " << p.status().ToString();
    ASSERT_EQ(p->features.size(), 1u) << w.wat;
    EXPECT_EQ(p->features[0].feature, w.feature) << w.wat;
    EXPECT_FALSE(InterpreterSupports(w.feature));
  }
  // Several memories are no proposal to name: both tiers run them.
  for (const char* wat :
       {"(module (memory 1) (memory 1))", "(module (import \"a\" \"m\" (memory 1)) (memory 1))"}) {
    auto p = PreflightModule(test::Wat(wat));
    ASSERT_TRUE(p.ok()) << wat << ": " << p.status().ToString();
    EXPECT_TRUE(p->features.empty()) << wat;
  }
}

TEST(PreflightTest, MalformedHeadersNameTheByte) {
  auto wasm = test::Wat("(module (import \"env\" \"f\" (func)))");
  std::vector<uint8_t> cut(wasm.begin(), wasm.end() - 3);  // the import section runs past the end
  auto pf = PreflightModule(cut);
  ASSERT_FALSE(pf.ok());
  EXPECT_NE(pf.status().message().find("invalid module at byte 0x"), std::string::npos)
      << pf.status().message();
  EXPECT_FALSE(PreflightModule(std::vector<uint8_t>{'n', 'o', 'p', 'e'}).ok());
}

// The npm build of CRuby imports a JavaScript host: refused listing every
// import. (Measured: a few milliseconds for 16.7 MB; see the report.)
TEST(PreflightTest, CrubyFromNpmListsItsJavaScriptImports) {
  const char* path = "/work/large/ruby-3.4-wasm-wasi-2.10.1/package/dist/ruby.wasm";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not downloaded";
  auto wasm = test::ReadFile(path);
  auto pf = PreflightModule(wasm);
  ASSERT_TRUE(pf.ok()) << pf.status().ToString();
  size_t foreign = 0;
  for (const auto& imp : pf->imports)
    if (imp.module != "wasi_snapshot_preview1") ++foreign;
  ASSERT_GT(foreign, 0u);
  Status st = CheckImports(*pf, WasiLinker());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind(std::to_string(foreign) + " imports cannot be resolved:", 0), 0u)
      << st.message().substr(0, 200);
  EXPECT_NE(st.message().find("rb-js-abi-host.rb_wasm_throw_prohibit_rewind_exception"),
            std::string::npos);
}

}  // namespace
}  // namespace arcella::engine
