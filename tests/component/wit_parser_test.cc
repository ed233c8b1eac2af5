// The WIT reader (src/component/wit_parser.h): ui.wit of the WAVE cases,
// resources, use across interfaces and packages, worlds, errors and limits.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "component/wit_parser.h"

#ifndef ARCELLA_SHARED_DIR
#define ARCELLA_SHARED_DIR ARCELLA_SOURCE_DIR "/../shared"
#endif

namespace arcella::component {
namespace {

std::string WitReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::vector<WitPackage>> WitParseOne(std::string text) {
  WitSource src{"t.wit", std::move(text)};
  return ParseWit({&src, 1});
}

std::string WitError(std::string text) {
  auto r = WitParseOne(std::move(text));
  return r.ok() ? "OK" : r.status().message();
}

std::string WitFuncSig(const WitInterface& i, std::string_view name) {
  const WitFunction* f = i.FindFunction(name);
  return f == nullptr ? "<none>" : f->type.ToString();
}

std::vector<std::string> WitItemNames(const std::vector<WitWorldItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.name);
  return out;
}

TEST(WitParser, ReadsTheWaveUiInterface) {
  const char* env = std::getenv("ARCELLA_SHARED_DIR");
  std::filesystem::path dir(env != nullptr && *env != '\0' ? env : ARCELLA_SHARED_DIR);
  std::filesystem::path file = dir / "wave/tests/ui/ui.wit";
  ASSERT_TRUE(std::filesystem::exists(file)) << file << " not found (set ARCELLA_SHARED_DIR)";
  WitSource src{"ui.wit", WitReadFile(file)};
  auto pkgs = ParseWit({&src, 1});
  ASSERT_TRUE(pkgs.ok()) << pkgs.status().message();
  ASSERT_EQ(pkgs->size(), 1u);
  const WitPackage& p = (*pkgs)[0];
  EXPECT_EQ(p.Id(), "ui:tests@0.1.0");
  const WitInterface* ui = p.FindInterface("ui");
  ASSERT_NE(ui, nullptr);
  EXPECT_EQ(ui->QualifiedName(), "ui:tests/ui@0.1.0");
  EXPECT_EQ(ui->functions.size(), 20u);
  EXPECT_EQ(WitFuncSig(*ui, "nullary"), "func()");
  EXPECT_EQ(WitFuncSig(*ui, "f32"), "func(val: f32)");
  EXPECT_EQ(WitFuncSig(*ui, "list-chars"), "func(vals: list<char>)");
  EXPECT_EQ(WitFuncSig(*ui, "result-err-u8"), "func(res: result<_, u8>)");
  EXPECT_EQ(WitFuncSig(*ui, "result-no-payloads"), "func(res: result)");
  EXPECT_EQ(WitFuncSig(*ui, "keyword-fields-record"),
            "func(rec: record { true: bool, false: bool, some: option<u8>, none: option<u8>, ok: "
            "result, err: result, inf: f32, nan: f32 })");
  EXPECT_EQ(WitFuncSig(*ui, "keyword-cases-enum"),
            "func(enm: enum { true, false, some, none, ok, err, inf, nan })");
  EXPECT_EQ(WitFuncSig(*ui, "permission-flags"), "func(flgs: flags { read, write })");
  // A named type is referenced by identity.
  const WitTypeDef* basic = ui->FindType("basic");
  ASSERT_NE(basic, nullptr);
  EXPECT_EQ(ui->FindFunction("basic-record")->type.params[0].type, basic->type);
}

constexpr const char* kFilesWit = R"(package my:res@1.2.3-rc.1+build.5;

/// Files, with /* nested /* block */ comments */.
interface files {
  resource file {
    constructor(path: string);
    open: static func(path: string) -> result<file, error-code>;
    read: func(n: u32) -> list<u8>;
  }
  enum error-code { access, %none }
  type handle = borrow<file>;
  type bytes = list<u8>;
  flags mode { read, write, }
  variant entry { dir(string), file(own<file>), none }
  stat: func(f: handle) -> tuple<u64, mode>;
  @since(version = 1.0.0)
  @deprecated(version = 1.2.0)
  fixed: func() -> list<u8, 4>;
  first: func(e: list<entry>) -> option<entry>;
}

interface users {
  use files.{file, error-code as code, bytes};
  take: func(f: file, c: code) -> option<bytes>;
}

world app {
  import users;
  import log: func(msg: string);
  export run: func() -> result;
  export custom: interface {
    hello: func() -> string;
  }
}

world full {
  include app with { log as logger }
  @unstable(feature = fancy)
  export files;
}
)";

TEST(WitParser, ResourcesUsesAliasesAndWorlds) {
  auto pkgs = WitParseOne(kFilesWit);
  ASSERT_TRUE(pkgs.ok()) << pkgs.status().message();
  const WitPackage& p = (*pkgs)[0];
  EXPECT_EQ(p.Id(), "my:res@1.2.3-rc.1+build.5");
  const WitInterface* files = p.FindInterface("files");
  ASSERT_NE(files, nullptr);
  EXPECT_EQ(WitFuncSig(*files, "[constructor]file"), "func(path: string) -> own<file>");
  EXPECT_EQ(WitFuncSig(*files, "[static]file.open"),
            "func(path: string) -> result<own<file>, enum { access, none }>");
  EXPECT_EQ(WitFuncSig(*files, "[method]file.read"),
            "func(self: borrow<file>, n: u32) -> list<u8>");
  EXPECT_EQ(WitFuncSig(*files, "stat"),
            "func(f: borrow<file>) -> tuple<u64, flags { read, write }>");
  EXPECT_EQ(WitFuncSig(*files, "fixed"), "func() -> list<u8, 4>");
  const WitFunction* read = files->FindFunction("[method]file.read");
  EXPECT_EQ(read->kind, WitFuncKind::kMethod);
  EXPECT_EQ(read->resource, "file");
  // Aliases are nodes of their own, equal in structure.
  const WitTypeDef* bytes = files->FindType("bytes");
  EXPECT_TRUE(TypeEquals(*bytes->type, *ValueType::List(ValueType::U8())));
  // `use` shares the definitions: the same resource, the same enum node.
  const WitInterface* users = p.FindInterface("users");
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->FindType("file")->resource, files->FindType("file")->resource);
  EXPECT_EQ(users->FindType("code")->type, files->FindType("error-code")->type);
  EXPECT_EQ(users->FindType("bytes")->type, bytes->type);
  ASSERT_EQ(users->deps.size(), 1u);
  EXPECT_EQ(users->deps[0]->name, "files");
  const WitFunction* take = users->FindFunction("take");
  EXPECT_EQ(take->type.params[0].type->resource, files->FindType("file")->resource);
  EXPECT_EQ(take->type.ToString(),
            "func(f: own<file>, c: enum { access, none }) -> option<list<u8>>");
  // Worlds: dependencies are imported first; include renames.
  const WitWorld* app = p.FindWorld("app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(WitItemNames(app->imports),
            (std::vector<std::string>{"my:res/files@1.2.3-rc.1+build.5",
                                      "my:res/users@1.2.3-rc.1+build.5", "log"}));
  EXPECT_EQ(WitItemNames(app->exports), (std::vector<std::string>{"run", "custom"}));
  EXPECT_TRUE(app->imports[2].is_function);
  EXPECT_EQ(app->exports[1].iface->functions[0].type.ToString(), "func() -> string");
  const WitWorld* full = p.FindWorld("full");
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(WitItemNames(full->imports),
            (std::vector<std::string>{"my:res/files@1.2.3-rc.1+build.5",
                                      "my:res/users@1.2.3-rc.1+build.5", "logger"}));
  EXPECT_EQ(WitItemNames(full->exports),
            (std::vector<std::string>{"run", "custom", "my:res/files@1.2.3-rc.1+build.5"}));
}

TEST(WitParser, UseAcrossSourcesAndNestedPackages) {
  std::vector<WitSource> srcs = {
      {"user.wit", "package c:d;\n"
                   "use a:b/geo@1.0.0 as g;\n"
                   "interface u {\n"
                   "  use a:b/geo@1.0.0.{point};\n"
                   "  use g.{point as p2};\n"
                   "  use e:f/inner.{id};\n"
                   "  f: func(p: point, q: p2, i: id);\n"
                   "}\n"
                   "package e:f {\n"
                   "  interface inner { type id = u64; }\n"
                   "}\n"},
      {"geo.wit", "package a:b@1.0.0;\ninterface geo { record point { x: s32, y: s32 } }\n"}};
  auto pkgs = ParseWit(srcs);
  ASSERT_TRUE(pkgs.ok()) << pkgs.status().message();
  ASSERT_EQ(pkgs->size(), 3u);
  EXPECT_EQ((*pkgs)[0].Id(), "c:d");
  EXPECT_EQ((*pkgs)[1].Id(), "e:f");
  EXPECT_EQ((*pkgs)[2].Id(), "a:b@1.0.0");
  const WitInterface* u = (*pkgs)[0].FindInterface("u");
  const WitInterface* geo = (*pkgs)[2].FindInterface("geo");
  const FuncType& f = u->FindFunction("f")->type;
  EXPECT_EQ(f.params[0].type, geo->FindType("point")->type);
  EXPECT_EQ(f.params[1].type, geo->FindType("point")->type);
  EXPECT_EQ(f.ToString(),
            "func(p: record { x: s32, y: s32 }, q: record { x: s32, y: s32 }, i: u64)");
}

TEST(WitParser, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(WitError("package a:b;\ninterface x {\n  f: func(a: u32, a: u32);\n}"),
            "t.wit:3:19: duplicate parameter `a`");
  EXPECT_EQ(WitError("interface x {}"),
            "t.wit:1:1: missing `package ns:name;` declaration before the first item");
  EXPECT_EQ(WitError("package a:b;\ninterface x { record r { type: u8 } }"),
            "t.wit:2:26: `type` is a keyword; write `%type` to use it as a name");
  EXPECT_EQ(WitError("package a:b;\ninterface x { f: func() -> nope; }"),
            "t.wit:2:28: unknown type `nope`");
  EXPECT_EQ(WitError("package a:b;\ninterface x { type a = list<a>; }"),
            "t.wit:2:15: type `a` refers to itself");
  EXPECT_EQ(WitError("package a:b;\ninterface x { use y.{t}; type u = u8; }\n"
                     "interface y { use x.{u}; type t = u8; }"),
            "t.wit:2:11: interface `x` uses itself (a cycle of `use`)");
  EXPECT_EQ(WitError("package a:b;\ninterface x { use z:z/q.{t}; }"),
            "t.wit:2:19: unknown package z:z (not among the WIT sources given)");
  EXPECT_EQ(WitError("package a:b;\ninterface x { f: async func(); }"),
            "t.wit:2:18: async functions are not supported yet (WASI 0.3)");
  EXPECT_EQ(WitError("package a:b;\ninterface x { f: func() -> future<u8>; }"),
            "t.wit:2:28: `future` is not supported yet (async, WASI 0.3)");
  EXPECT_EQ(WitError("package a:b@1.0;"),
            "t.wit:1:13: invalid version `1.0` (expected major.minor.patch)");
  EXPECT_EQ(WitError("package a:b;\n/* open /* nested */"),
            "t.wit:2:1: unterminated block comment");
  EXPECT_EQ(WitError("package a:b;\ninterface fooBar {}"),
            "t.wit:2:14: a word of an identifier mixes lower and upper case (use kebab-case)");
  EXPECT_EQ(WitError("package a:b;\ninterface x { record q { a: u8 } f: func(x: borrow<q>); }"),
            "t.wit:2:45: `q` is not a resource");
  EXPECT_EQ(WitError("package a:b;\ninterface x { enum e { } }"),
            "t.wit:2:15: enum `e` needs at least one case");
  EXPECT_EQ(WitError("package a:b;\ninterface x { f: func(); f: func(); }"),
            "t.wit:2:26: `f` is defined twice");
  EXPECT_EQ(WitError("package a:b;\nworld w { include w; }"),
            "t.wit:2:7: world `w` includes itself");
  EXPECT_EQ(WitError("package a:b;\ninterface x { f: func() }"),
            "t.wit:2:25: expected `;`, found `}`");
  EXPECT_EQ(WitError("package a:b;\ninterface x { f: func(); \x01 }"),
            "t.wit:2:26: unexpected character `\\x1`");
}

TEST(WitParser, MapTypesTakeKeyTypesOnly) {
  auto pkgs = WitParseOne(
      "package a:b;\ninterface x { f: func(m: map<string, list<map<u8, bool>>>) -> map<char, s64>; }");
  ASSERT_TRUE(pkgs.ok()) << pkgs.status().message();
  EXPECT_EQ(WitFuncSig(*(*pkgs)[0].FindInterface("x"), "f"),
            "func(m: map<string, list<map<u8, bool>>>) -> map<char, s64>");
  EXPECT_EQ(WitError("package a:b;\ninterface x { f: func(m: map<f32, u8>); }"),
            "t.wit:2:30: map key type must be bool, an integer type, char or string");
  EXPECT_EQ(WitError("package a:b;\ninterface x { type k = string; f: func(m: map<k, u8>); }"),
            "t.wit:2:47: map key type must be bool, an integer type, char or string");
}

TEST(WitParser, NestingIsBounded) {
  std::string deep = "package a:b;\ninterface x { type t = ";
  for (int i = 0; i < 100000; ++i) deep += "list<";
  std::string msg = WitError(deep);
  EXPECT_NE(msg.find("type nested deeper than 100 levels"), std::string::npos) << msg;
  std::string chain = "package a:b;\ninterface x {\n";
  for (int i = 0; i < 300; ++i) {
    chain += "type t" + std::to_string(i) + " = t" + std::to_string(i + 1) + ";\n";
  }
  chain += "type t300 = u8;\n}\n";
  msg = WitError(chain);
  EXPECT_NE(msg.find("chained deeper than 100 levels"), std::string::npos) << msg;
}

// The WASI 0.2 packages shipped with jco, when $ARCELLA_WASI_WIT_DIR names
// a directory of <package>/package.wit files (e.g. jco's
// lib/wit/builtin/0.2.12).
TEST(WitParser, ReadsTheWasiPackagesWhenGiven) {
  const char* dir = std::getenv("ARCELLA_WASI_WIT_DIR");
  if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "ARCELLA_WASI_WIT_DIR not set";
  std::vector<WitSource> srcs;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".wit") srcs.push_back({e.path().string(), WitReadFile(e.path())});
  }
  ASSERT_GE(srcs.size(), 6u);
  auto pkgs = ParseWit(srcs);
  ASSERT_TRUE(pkgs.ok()) << pkgs.status().message();
  const WitWorld* command = nullptr;
  for (const auto& p : *pkgs) {
    if (p.ns == "wasi" && p.name == "cli") command = p.FindWorld("command");
  }
  ASSERT_NE(command, nullptr);
  ASSERT_FALSE(command->exports.empty());
  EXPECT_EQ(command->exports[0].name.rfind("wasi:cli/run@0.2.", 0), 0u);
  EXPECT_EQ(command->exports[0].iface->FindFunction("run")->type.ToString(), "func() -> result");
}

}  // namespace
}  // namespace arcella::component
