// The WIT printer (src/component/wit_print.h): exact output on small
// components, and agreement with `jco wit` (wasm-tools `component wit`) on
// the component fixtures and on every valid component of the reference tests
// (../shared/component-model/test), after normalising whitespace and the
// order of items within worlds, interfaces and resources (the order of
// record fields, cases and labels is kept: it is part of the type).
#include "component/wit_print.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "component/ast.h"
#include "component/decoder.h"
#include "component/npm_tools_util.h"
#include "component/wit_parser.h"
#include "test_util.h"
#include "wast/component_script.h"
#include "wast/component_text.h"

namespace arcella {
namespace {

namespace fs = std::filesystem;

// ---- Normalising WIT text ------------------------------------------------

struct Node {
  std::string line;
  std::vector<Node> children;
  bool block = false;
};

std::string Squeeze(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// `use p.{a, b as c};` -> `use p.{a};`, `use p.{b as c};`
std::vector<std::string> SplitUse(const std::string& line) {
  if (line.rfind("use ", 0) != 0) return {line};
  size_t open = line.find(".{"), close = line.rfind("};");
  if (open == std::string::npos || close == std::string::npos || close < open) return {line};
  std::vector<std::string> out;
  std::stringstream items(line.substr(open + 2, close - open - 2));
  std::string item;
  while (std::getline(items, item, ',')) {
    out.push_back(line.substr(0, open) + ".{" + Squeeze(item) + "};");
  }
  return out;
}

std::string Serialize(const Node& n, int depth);

// Items of worlds, interfaces, packages and resources are sorted; records,
// variants, enums and flags keep their order.
bool Sorted(const std::string& header) {
  for (const char* kw : {"record ", "variant ", "enum ", "flags "}) {
    if (header.rfind(kw, 0) == 0) return false;
  }
  return true;
}

std::string Serialize(const Node& n, int depth) {
  std::string pad(static_cast<size_t>(depth) * 2, ' ');
  if (!n.block) return pad + n.line + "\n";
  std::vector<std::string> parts;
  for (const Node& c : n.children) parts.push_back(Serialize(c, depth + 1));
  if (Sorted(n.line)) std::sort(parts.begin(), parts.end());
  std::string out = pad + n.line + "\n";
  for (const auto& p : parts) out += p;
  return out + pad + "}\n";
}

std::string NormalizeWit(const std::string& text) {
  Node root;
  root.block = true;
  root.line = "{";
  std::vector<Node*> stack{&root};
  std::stringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    std::string line = Squeeze(raw);
    if (line.empty() || line.rfind("//", 0) == 0) continue;
    if (line == "}") {
      if (stack.size() > 1) stack.pop_back();
      continue;
    }
    if (line.back() == '{') {
      stack.back()->children.push_back({line, {}, true});
      stack.push_back(&stack.back()->children.back());
      continue;
    }
    for (auto& l : SplitUse(line)) stack.back()->children.push_back({l, {}, false});
  }
  std::vector<std::string> parts;
  for (const Node& c : root.children) parts.push_back(Serialize(c, 0));
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += p;
  return out;
}

// ---- Helpers ---------------------------------------------------------------

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::string> OurWit(const std::vector<uint8_t>& bytes,
                           const component::WitPrintOptions& options = {}) {
  auto c = component::DecodeComponent(bytes);
  if (!c.ok()) return c.status();
  return component::PrintComponentWit(**c, options);
}

// jco's WIT for each file (tests/component/tools/component-wit.mjs, one node
// process); "" + error for the files jco refuses.
struct JcoWit {
  bool ok = false;
  std::string text;  // the WIT, or jco's message
};

std::vector<JcoWit> JcoWitOf(const std::vector<std::string>& wasm_files, const std::string& dir) {
  // A jco panic ends the script (its wasm instance is unusable after it);
  // it runs again on the files without an answer.
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> todo;
    for (const auto& f : wasm_files) {
      if (!fs::exists(f + ".wit") && !fs::exists(f + ".wit.err")) todo.push_back(f);
    }
    if (todo.empty()) break;
    std::string req = dir + "/request.json";
    {
      std::ofstream out(req);
      out << "[";
      for (size_t i = 0; i < todo.size(); ++i) {
        out << (i ? "," : "") << "{\"in\":\"" << todo[i] << "\",\"out\":\"" << todo[i] << ".wit\"}";
      }
      out << "]";
    }
    std::string cmd = ShellQuote(ARCELLA_NODE) + " " +
                      ShellQuote(std::string(ARCELLA_SOURCE_DIR) +
                                 "/tests/component/tools/component-wit.mjs") +
                      " " + ShellQuote(ARCELLA_NPM_TOOLS_DIR) + " " + ShellQuote(req) +
                      " >/dev/null 2>&1";
    int status = std::system(cmd.c_str());
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    EXPECT_TRUE(code == 0 || code == 3) << cmd;
    if (code != 0 && code != 3) break;
  }
  std::vector<JcoWit> out;
  for (const auto& f : wasm_files) {
    JcoWit w;
    if (fs::exists(f + ".wit")) {
      w.ok = true;
      w.text = ReadText(f + ".wit");
    } else {
      w.text = ReadText(f + ".wit.err");
    }
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::vector<uint8_t>> Binary(const std::string& text) {
  auto out = wast::ConvertComponentTexts({text}, testing::NpmTextTools());
  if (!out.ok()) return out.status();
  return (*out)[0];
}

Result<std::string> WitOfText(const std::string& text, bool packages = false) {
  auto bin = Binary(text);
  if (!bin.ok()) return bin.status();
  return OurWit(*bin, {.foreign_packages = packages});
}

// ---- Exact output ----------------------------------------------------------

TEST(WitPrint, NormalizerSortsItemsButKeepsFieldOrder) {
  EXPECT_EQ(NormalizeWit("world w {\n  import b;\n\n  import a;\n  record r {\n  y: u8,\n x: u8,\n "
                         "}\n}\n"),
            NormalizeWit("world w {\n  import a;\n  record r {\n    y: u8,\n    x: u8,\n  }\n  "
                         "import b;\n}\n"));
  EXPECT_NE(NormalizeWit("record r {\n y: u8,\n x: u8,\n}\n"),
            NormalizeWit("record r {\n x: u8,\n y: u8,\n}\n"));
  EXPECT_EQ(NormalizeWit("world w {\n use a:b/c.{x, y as z};\n}\n"),
            NormalizeWit("world w {\n use a:b/c.{y as z};\n use a:b/c.{x};\n}\n"));
}

TEST(WitPrint, InlineInterfaceWithTypesResourcesAndFunctions) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto wit = WitOfText(R"((component
  (import "a" (instance
    (type $p (record (field "x" u32) (field "y" u32)))
    (export "point" (type $pt (eq $p)))
    (export "pt2" (type (eq $pt)))
    (type u64)
    (export "size" (type $sz (eq 3)))
    (type $e (enum "red" "green"))
    (export "color" (type $c (eq $e)))
    (type $f (flags "read" "write"))
    (export "perms" (type $fl (eq $f)))
    (type $v (variant (case "none") (case "some" $pt)))
    (export "maybe" (type $mv (eq $v)))
    (export "r" (type $r (sub resource)))
    (type $own (own $r))
    (type $borrow (borrow $r))
    (export "[constructor]r" (func (param "n" u32) (result $own)))
    (export "[method]r.get" (func (param "self" $borrow) (result $sz)))
    (export "[static]r.make" (func (result $own)))
    (export "f" (func (param "p" $pt) (param "type" $c) (param "l" (list u8 4))
      (result (result (tuple $fl $mv) (error string)))))
    (export "g" (func (param "o" (option u64)) (result (result))))
  ))
  (import "h" (func (param "x" string) (result (list u8))))
))");
  ASSERT_TRUE(wit.ok()) << wit.status().ToString();
  EXPECT_EQ(*wit, R"(package root:component;

world root {
  import a: interface {
    record point {
      x: u32,
      y: u32,
    }

    type pt2 = point;

    type size = u64;

    enum color {
      red,
      green,
    }

    flags perms {
      read,
      write,
    }

    variant maybe {
      none,
      some(point),
    }

    resource r {
      constructor(n: u32);
      get: func() -> size;
      make: static func() -> r;
    }

    f: func(p: point, %type: color, l: list<u8, 4>) -> result<tuple<perms, maybe>, string>;
    g: func(o: option<u64>) -> result;
  }
  import h: func(x: string) -> list<u8>;
}
)");
}

TEST(WitPrint, MapTypes) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto wit = WitOfText(R"((component
  (import "m" (func (param "a" (map string u32)) (result (map u8 (list (map char bool))))))
))");
  ASSERT_TRUE(wit.ok()) << wit.status().ToString();
  EXPECT_EQ(*wit, R"(package root:component;

world root {
  import m: func(a: map<string, u32>) -> map<u8, list<map<char, bool>>>;
}
)");
}

// With the foreign packages: `use` within a package by interface name, across
// packages / from the world by qualified name, renamed with `as`.
TEST(WitPrint, WorldTypesUseInterfaceTypes) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto wit = WitOfText(R"((component
  (import "x:y/a@1.0.0" (instance $a
    (type $p (record (field "x" u32)))
    (export "point" (type (eq $p)))
    (export "r" (type (sub resource)))
  ))
  (alias export $a "point" (type $point))
  (alias export $a "r" (type $res))
  (import "x:y/b@1.0.0" (instance
    (alias outer 1 $point (type $pp))
    (export "point" (type $x (eq $pp)))
    (alias outer 1 $res (type $rr))
    (export "handle" (type $h (eq $rr)))
    (export "f" (func (param "p" $x) (result (own $h))))
  ))
  (import "pt" (type $wp (eq $point)))
  (import "k" (func (param "x" $wp) (result (result u8 (error s8)))))
))",
                       /*packages=*/true);
  ASSERT_TRUE(wit.ok()) << wit.status().ToString();
  EXPECT_EQ(*wit, R"(package root:component;

world root {
  import x:y/a@1.0.0;
  import x:y/b@1.0.0;
  use x:y/a@1.0.0.{point as pt};
  import k: func(x: pt) -> result<u8, s8>;
}

package x:y@1.0.0 {
  interface a {
    record point {
      x: u32,
    }

    resource r;
  }

  interface b {
    use a.{point, r as handle};

    f: func(p: point) -> handle;
  }
}
)");
}

TEST(WitPrint, ComponentsWithoutWitFormAreRefused) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  // (The decoder already refuses anonymous records in imports and exports.)
  auto functype = WitOfText(
      "(component (import \"a\" (instance (type (func)) (export \"t\" (type (eq 0))))))");
  ASSERT_FALSE(functype.ok());
  EXPECT_EQ(functype.status().message(),
            "import `a`: `t`: a function, component or instance type has no WIT form");
  auto nested = WitOfText("(component (import \"c\" (component)))");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("import `c`: a component import has no WIT form"),
            std::string::npos)
      << nested.status().ToString();
  // Core modules are not part of a world (as jco): left out.
  auto module = WitOfText("(component (import \"m\" (core module)))");
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  EXPECT_EQ(*module, "package root:component;\n\nworld root {\n}\n");
}

// ---- Against jco -------------------------------------------------------------

struct Comparison {
  int equal = 0, different = 0, jco_refused = 0, both_refused = 0, we_refused = 0;
  int identical = 0;                // of `equal`: the same text byte for byte
  std::vector<std::string> report;  // one entry per difference
};

// Compares our WIT with jco's for each binary (named by `labels`).
Comparison CompareWithJco(const std::vector<std::vector<uint8_t>>& binaries,
                          const std::vector<std::string>& labels, const std::string& dir) {
  std::vector<std::string> files;
  for (size_t i = 0; i < binaries.size(); ++i) {
    files.push_back(dir + "/" + std::to_string(i) + ".wasm");
    std::ofstream(files.back(), std::ios::binary)
        .write(reinterpret_cast<const char*>(binaries[i].data()),
               static_cast<std::streamsize>(binaries[i].size()));
  }
  std::vector<JcoWit> jco = JcoWitOf(files, dir);
  Comparison c;
  for (size_t i = 0; i < binaries.size(); ++i) {
    auto ours = OurWit(binaries[i]);
    if (!jco[i].ok) {
      ++(ours.ok() ? c.jco_refused : c.both_refused);
      continue;
    }
    if (!ours.ok()) {
      ++c.we_refused;
      c.report.push_back(labels[i] + ": we refused (" + ours.status().message() + "), jco:\n" +
                         jco[i].text);
      continue;
    }
    std::string a = NormalizeWit(*ours), b = NormalizeWit(jco[i].text);
    if (a == b) {
      ++c.equal;
      if (*ours == jco[i].text) ++c.identical;
    } else {
      ++c.different;
      c.report.push_back(labels[i] + ": ours:\n" + a + "jco:\n" + b);
    }
  }
  return c;
}

// Every fixture component (build/fixtures/components/*.component.wasm; the
// four of this test's first version at least).
TEST(WitPrint, FixturesAgreeWithJco) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  std::vector<std::vector<uint8_t>> bins;
  std::vector<std::string> labels;
  for (const char* name : {"cli_command", "text_reactor", "host_import", "all_types"}) {
    std::string path = std::string(ARCELLA_COMPONENT_FIXTURES) + "/" + name + ".component.wasm";
    ASSERT_TRUE(fs::exists(path)) << path;
  }
  for (const auto& e : fs::directory_iterator(ARCELLA_COMPONENT_FIXTURES)) {
    std::string file = e.path().filename().string();
    const std::string suffix = ".component.wasm";
    if (file.size() <= suffix.size() || file.substr(file.size() - suffix.size()) != suffix) {
      continue;
    }
    bins.push_back(test::ReadFile(e.path().string()));
    labels.push_back(file);
  }
  Comparison c = CompareWithJco(bins, labels, test::TempDir("arcella-wit-fixtures"));
  for (const auto& r : c.report) ADD_FAILURE() << r;
  std::cout << "fixture components: " << c.equal << " of " << bins.size() << " equal to jco wit ("
            << c.identical << " byte for byte)\n";
  EXPECT_EQ(c.equal, static_cast<int>(bins.size()));
  EXPECT_EQ(c.identical, c.equal);
  RecordProperty("equal", c.equal);
}

// With --packages the output is a WIT document of its own: our WIT reader
// resolves it, and its world and interfaces have the component's imports,
// exports and functions, with the same signatures.
TEST(WitPrint, FixturePackagesAreWitOurReaderResolves) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  for (const char* name : {"cli_command", "text_reactor", "host_import", "all_types"}) {
    SCOPED_TRACE(name);
    std::string path = std::string(ARCELLA_COMPONENT_FIXTURES) + "/" + name + ".component.wasm";
    auto c = component::DecodeComponent(test::ReadFile(path));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto wit = component::PrintComponentWit(**c, {.foreign_packages = true});
    ASSERT_TRUE(wit.ok()) << wit.status().ToString();
    component::WitSource src{std::string(name) + ".wit", *wit};
    auto pkgs = component::ParseWit({&src, 1});
    ASSERT_TRUE(pkgs.ok()) << pkgs.status().ToString() << "\n" << *wit;
    const component::WitWorld* world = nullptr;
    std::map<std::string, component::WitInterfaceRef> ifaces;
    for (const auto& p : *pkgs) {
      if (p.ns == "root" && p.name == "component" && !p.worlds.empty()) world = &p.worlds[0];
      for (const auto& i : p.interfaces) ifaces[i->QualifiedName()] = i;
    }
    ASSERT_NE(world, nullptr);
    std::set<std::string> printed, decoded;
    for (const auto& i : world->imports) printed.insert("import " + i.name);
    for (const auto& e : world->exports) printed.insert("export " + e.name);
    for (const auto& i : (*c)->imports) decoded.insert("import " + i.name.text);
    for (const auto& e : (*c)->exports) decoded.insert("export " + e.name.text);
    EXPECT_EQ(printed, decoded);
    int funcs = 0;
    auto check = [&](const component::ExternName& n, const component::ExternType& t) {
      if (t.sort != component::Sort::kInstance || !n.is_interface()) return;
      auto it = ifaces.find(n.text);
      ASSERT_NE(it, ifaces.end()) << n.text;
      // A resource the component defines itself is "resource#N" in the
      // decoded types; the instance type names it.
      std::vector<std::pair<std::string, std::string>> renames;
      for (const auto& e : t.instance->exports) {
        if (e.type.sort == component::Sort::kType &&
            e.type.type->kind == component::TypeDef::Kind::kResource &&
            e.type.type->resource->name.rfind("resource#", 0) == 0) {
          renames.push_back({"<" + e.type.type->resource->name + ">", "<" + e.name.text + ">"});
        }
      }
      for (const auto& e : t.instance->exports) {
        if (e.type.sort != component::Sort::kFunc) continue;
        std::string sig = e.type.func->ToString();
        for (const auto& [from, to] : renames) {
          for (size_t at = sig.find(from); at != std::string::npos; at = sig.find(from, at)) {
            sig.replace(at, from.size(), to);
          }
        }
        const component::WitFunction* f = it->second->FindFunction(e.name.text);
        ASSERT_NE(f, nullptr) << n.text << " " << e.name.text;
        EXPECT_EQ(f->type.ToString(), sig) << n.text << " " << e.name.text;
        ++funcs;
      }
    };
    for (const auto& i : (*c)->imports) check(i.name, i.type);
    for (const auto& e : (*c)->exports) check(e.name, e.type);
    EXPECT_GT(funcs, 0);
    RecordProperty(std::string(name) + "_functions", funcs);
  }
}

// Every component of the reference tests (outside async/) that our decoder
// accepts: jco's text parser makes the binary, both print its WIT.
TEST(WitPrint, ReferenceTestComponentsAgreeWithJco) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  const fs::path root = ARCELLA_COMPONENT_TESTSUITE_DIR;
  if (!fs::exists(root)) GTEST_SKIP() << root << " not found";
  std::vector<std::string> wasts;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).string();
    if (e.path().extension() == ".wast" && rel.rfind("async/", 0) != 0) wasts.push_back(rel);
  }
  std::sort(wasts.begin(), wasts.end());
  std::vector<std::string> texts, labels;
  for (const auto& rel : wasts) {
    auto script = wast::ParseComponentScript(ReadText((root / rel).string()), rel);
    if (!script.ok()) continue;
    for (const auto& cmd : script->commands) {
      if (cmd.kind != wast::CommandKind::kComponent) continue;
      if (cmd.component.form == wast::ComponentForm::kBinary) continue;
      texts.push_back(cmd.component.text);
      labels.push_back(rel + ":" + std::to_string(cmd.pos.line));
    }
  }
  auto converted = wast::ConvertComponentTexts(texts, testing::NpmTextTools());
  ASSERT_TRUE(converted.ok()) << converted.status().ToString();
  std::vector<std::vector<uint8_t>> bins;
  std::vector<std::string> decoded_labels;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& bin = (*converted)[i];
    if (!bin.ok() || !component::DecodeComponent(*bin).ok()) continue;
    bins.push_back(*bin);
    decoded_labels.push_back(labels[i]);
  }
  Comparison c = CompareWithJco(bins, decoded_labels, test::TempDir("arcella-wit-reference"));
  std::cout << "reference components: " << bins.size() << " decoded; " << c.equal
            << " equal to jco wit (" << c.identical << " byte for byte), " << c.different
            << " different, " << c.we_refused << " refused by us only, " << c.jco_refused
            << " refused by jco only, " << c.both_refused << " refused by both\n";
  // Known: a resource named again (`(import "T3" (type (eq $T2)))` with T2 =
  // T1) is one ResourceType in the decoder, so `borrow<T2>` prints as
  // `borrow<T1>` and `type T3 = T2` as `type T3 = T1`.
  const std::vector<std::string> known = {"validation/resources.wast:39:",
                                          "validation/resources.wast:48:",
                                          "validation/resources.wast:112:"};
  int known_differences = 0;
  for (const auto& r : c.report) {
    bool is_known = std::any_of(known.begin(), known.end(),
                                [&](const std::string& k) { return r.rfind(k, 0) == 0; });
    if (is_known) {
      ++known_differences;
    } else {
      ADD_FAILURE() << r;
    }
  }
  EXPECT_EQ(c.different, known_differences);
  EXPECT_EQ(c.we_refused, 0);
  EXPECT_GE(c.equal, 150);
  RecordProperty("equal", c.equal);
}

}  // namespace
}  // namespace arcella
