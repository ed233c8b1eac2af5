// Differential tests of components (docs/TESTING.md, "Component differential
// tests"): the fixtures built from source (tests/fixtures/components) run by
// Arcella and by jco, with identical results.
//   - C commands: `arcella run` and `jco run` on the same arguments,
//     environment, stdin and a preopened directory; same stdout, exit code
//     and files written.
//   - The C reactor: `arcella run --invoke 'f(WAVE)'` against the same call
//     on the `jco transpile`d component under node (call-component.mjs);
//     the node result is read back as a Val through the WIT's types and
//     printed in WAVE, so both sides are compared as text.
//   - The freestanding component and the JS component (componentize-js,
//     every WIT type and a resource): in process through ComponentInstance
//     (one instance, many calls, resource handles kept between calls),
//     against node.
// Plus what a user of `arcella run` meets with components: bad WAVE, unknown
// exports, a reactor run as a command, a malformed file, fuel and timeouts.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "component/decoder.h"
#include "component/instance.h"
#include "component/linker.h"
#include "component/npm_tools_util.h"
#include "component/wasip2/wasi_p2.h"
#include "component/wave.h"
#include "component/wit_parser.h"
#include "e2e/e2e_util.h"
#include "engine/engine.h"
#include "test_util.h"
#include "tools/component_diff_util.h"

namespace arcella::tools::component_run_test {
namespace {

namespace cm = arcella::component;
namespace cd = arcella::tools::component_diff;
using e2e::ShellQuote;

std::string Fixture(const std::string& name) {
  return std::string(ARCELLA_COMPONENT_FIXTURES) + "/" + name + ".component.wasm";
}
std::string FixtureSource(const std::string& file) {
  return std::string(ARCELLA_SOURCE_DIR) + "/tests/fixtures/components/" + file;
}

// One ARCELLA_HOME for the whole binary: the AOT cache is filled once.
const std::string& Home() {
  static const std::string home = test::TempDir("run-component-home");
  return home;
}

struct Proc {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `cmd` under /bin/sh; stdout and stderr apart.
Proc Sh(const std::string& cmd) {
  Proc r;
  std::string err_file = test::TempDir("run-component-err") + "/stderr";
  FILE* p = popen((cmd + " 2>" + ShellQuote(err_file)).c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(err_file);
  r.err.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return r;
}

// `arcella run -q ARGS`, killed after 5 minutes (a first AOT compile of a
// fixture takes seconds; a hang fails the test instead of the suite).
std::string Arcella(const std::string& args) {
  return "ARCELLA_HOME=" + ShellQuote(Home()) + " timeout 300 " + ShellQuote(e2e::DaemonBin()) +
         " run -q " + args;
}

std::string JcoRun(const std::string& preopens, const std::string& args) {
  return "ARCELLA_JCO_PREOPENS=" + ShellQuote(preopens) + " " + ShellQuote(ARCELLA_JCO) +
         " run --jco-import " + ShellQuote(ARCELLA_NPM_TOOLS_DIR "/jco-run-setup.mjs") + " " + args;
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

class RunComponentTest : public ::testing::TestWithParam<const char*> {
 protected:
  std::string Tier() const { return std::string("--tier ") + GetParam() + " "; }
};

// ---------------------------------------------------------------- commands

constexpr const char* kCommandOutput = "args: 3\n"
                                       "arg 1: /data\n"
                                       "arg 2: one\n"
                                       "arg 3: two words\n"
                                       "env FIXTURE_GREETING: hi there\n"
                                       "clock monotonic: ok\n"
                                       "clock realtime: ok\n"
                                       "random: ok\n"
                                       "stdin: 11 bytes: SOME STDIN\n"
                                       "input.txt: hello from the host\n"
                                       "output.txt: 20 bytes read from input.txt\n"
                                       "dir: input.txt output.txt\n";

TEST_P(RunComponentTest, CommandMatchesJcoRun) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  std::string ours = test::TempDir("run-component-ours");
  std::string theirs = test::TempDir("run-component-jco");
  for (const std::string& d : {ours, theirs})
    std::ofstream(d + "/input.txt") << "hello from the host\n";
  const std::string args = ShellQuote(Fixture("cli_command")) + " /data one 'two words'";
  Proc a = Sh("printf 'some stdin\\n' | " +
              Arcella(Tier() + "--dir " + ShellQuote(ours + "::/data") +
                      " --env 'FIXTURE_GREETING=hi there' " + args));
  Proc j = Sh("printf 'some stdin\\n' | FIXTURE_GREETING='hi there' " +
              JcoRun(theirs + "::/data", args));
  EXPECT_EQ(a.code, j.code) << "arcella: " << a.err << "\njco: " << j.err;
  EXPECT_EQ(a.out, j.out);
  EXPECT_EQ(a.out, kCommandOutput) << a.err;  // and both are right
  EXPECT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(ReadText(ours + "/output.txt"), ReadText(theirs + "/output.txt"));
  EXPECT_EQ(ReadText(ours + "/output.txt"), "20 bytes read from input.txt\n");
}

TEST_P(RunComponentTest, CommandFailureExitCodeMatchesJcoRun) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  const std::string args = ShellQuote(Fixture("cli_command")) + " /nowhere </dev/null";
  Proc a = Sh(Arcella(Tier() + args));
  // (Unset, not empty: jco 1.35's run shows an empty variable's value as the
  // next variable's, e.g. "LANG=C.UTF-8".)
  Proc j = Sh("env -u FIXTURE_GREETING " + JcoRun("", args));
  EXPECT_EQ(a.code, 1) << a.err;
  EXPECT_EQ(a.code, j.code) << "jco: " << j.err;
  EXPECT_NE(a.err.find("cannot open /nowhere/input.txt"), std::string::npos) << a.err;
  EXPECT_NE(j.err.find("cannot open /nowhere/input.txt"), std::string::npos) << j.err;
  EXPECT_EQ(a.out, j.out);
}

TEST_P(RunComponentTest, HelloMatchesJcoRun) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  Proc a = Sh(Arcella(Tier() + ShellQuote(Fixture("hello")) + " </dev/null"));
  Proc j = Sh(JcoRun("", ShellQuote(Fixture("hello")) + " </dev/null"));
  EXPECT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(a.out, "hello, world\n");
  EXPECT_EQ(a.out, j.out);
}

// ------------------------------------------------------ calls, Arcella vs node

// The interface `iface` of the fixture's WIT.
std::shared_ptr<const cm::WitInterface> WitInterfaceOf(const std::string& wit_file,
                                                       const std::string& iface) {
  std::vector<cm::WitSource> src{{wit_file, ReadText(FixtureSource(wit_file))}};
  auto pkgs = cm::ParseWit(src);
  if (!pkgs.ok()) {
    ADD_FAILURE() << pkgs.status().ToString();
    return nullptr;
  }
  for (const auto& i : (*pkgs)[0].interfaces)
    if (i->name == iface) return i;
  ADD_FAILURE() << iface << " not in " << wit_file;
  return nullptr;
}

// "arcella:fixtures/text#shout" or "text#shout" or "shout" -> "shout".
std::string BareFunction(const std::string& name) {
  size_t hash = name.rfind('#');
  return hash == std::string::npos ? name : name.substr(hash + 1);
}

// One call of the differential: WAVE text for Arcella; the JS expression
// for node is made from it.
struct DiffCall {
  std::string wave;      // `shout("hi")`
  std::string expected;  // Arcella's output, WAVE (both sides must give it)
};

struct NodeSide {
  std::vector<std::string> exprs;
  // The type of each expression's export; null: the result is returned as
  // node printed it (an expression of several calls).
  std::vector<const cm::FuncType*> types;
};

// The node expression of `call` (interface functions are `iface.fn(...)`),
// its function type from the WIT.
void AddNodeCall(const cm::WitInterface& iface, const std::string& call, NodeSide* node) {
  size_t open = call.find('(');
  std::string fn = BareFunction(call.substr(0, open));
  const cm::WitFunction* f = iface.FindFunction(fn);
  ASSERT_NE(f, nullptr) << fn;
  // The call's arguments as Vals (the same parser Arcella uses).
  auto parsed = cm::ParseWaveCall(fn + call.substr(open),
                                  [f](std::string_view) { return &f->type; });
  ASSERT_TRUE(parsed.ok()) << call << ": " << parsed.status().ToString();
  std::string expr = cd::Camel(iface.name) + "." + cd::Camel(fn) + "(";
  for (size_t i = 0; i < parsed->args.size(); ++i)
    expr += (i ? ", " : "") + cd::JsArg(parsed->args[i], *f->type.params[i].type);
  node->exprs.push_back(expr + ")");
  node->types.push_back(&f->type);
}

// node call-component.mjs FIXTURE WORKDIR EXPR...: each result in WAVE
// (or "throws ..."/"node: ..." when it cannot be read back).
std::vector<std::string> CallUnderNode(const std::string& fixture, const NodeSide& node) {
  std::string cmd = ShellQuote(ARCELLA_NODE) + " " +
                    ShellQuote(ARCELLA_NPM_TOOLS_DIR "/call-component.mjs") + " " +
                    ShellQuote(Fixture(fixture)) + " " +
                    ShellQuote(test::TempDir("run-component-js"));
  for (const std::string& e : node.exprs) cmd += " " + ShellQuote(e);
  Proc r = Sh(cmd);
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<std::string> out;
  size_t at = 0;
  for (size_t i = 0; i < node.exprs.size(); ++i) {
    size_t nl = r.out.find('\n', at);
    std::string line = r.out.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    at = nl == std::string::npos ? r.out.size() : nl + 1;
    std::string prefix = node.exprs[i] + " => ";
    if (line.rfind(prefix, 0) != 0) {
      out.push_back("node printed: " + line);
      continue;
    }
    std::string js = line.substr(prefix.size());
    if (node.types[i] == nullptr) {
      out.push_back(js);
      continue;
    }
    const cm::FuncType& t = *node.types[i];
    if (!t.result) {
      out.push_back(js == "undefined" ? "" : "node: " + js);
      continue;
    }
    auto v = cd::ParseJsShow(js, *t.result);
    out.push_back(v.ok() ? cm::PrintWave(*v, *t.result) : "node: " + v.status().ToString());
  }
  return out;
}

TEST_P(RunComponentTest, ReactorInvokeMatchesNode) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto iface = WitInterfaceOf("text_reactor.wit", "text");
  ASSERT_TRUE(iface);
  const std::vector<DiffCall> calls = {
      {R"(shout("hello, world"))", R"("HELLO, WORLD")"},
      {R"(shout("snow ☃ \u{1f600}"))", R"("SNOW ☃ 😀")"},
      {R"(words("  a bb  ccc "))", R"(["a", "bb", "ccc"])"},
      {R"(words(""))", "[]"},
      {"sum([1, -2, 3])", "2"},
      {"sum([9223372036854775807, 1])", "-9223372036854775808"},
      {"sum([])", "0"},
      {R"(join(["x", "y", ""], ", "))", R"("x, y, ")"},
      // The export's other names: qualified, without the version, bare interface.
      {R"(arcella:fixtures/text@0.1.0#shout("a"))", R"("A")"},
      {R"(arcella:fixtures/text#shout("b"))", R"("B")"},
      {R"(text#join(["p", "q"], "-"))", R"("p-q")"},
  };
  NodeSide node;
  for (const DiffCall& c : calls) AddNodeCall(*iface, c.wave, &node);
  std::vector<std::string> theirs = CallUnderNode("text_reactor", node);
  ASSERT_EQ(theirs.size(), calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    SCOPED_TRACE(calls[i].wave);
    Proc a = Sh(Arcella(Tier() + "--invoke " + ShellQuote(calls[i].wave) + " " +
                        ShellQuote(Fixture("text_reactor")) + " </dev/null"));
    EXPECT_EQ(a.code, 0) << a.err;
    EXPECT_EQ(a.out, theirs[i] + "\n") << "arcella vs node (" << node.exprs[i] << ")";
    EXPECT_EQ(a.out, calls[i].expected + "\n");
  }
}

// ------------------------------------------------ in process, against node

std::shared_ptr<engine::Engine> MakeEngine() {
  auto eng = engine::Engine::Create({.cache_dir = Home() + "/cache"});
  EXPECT_TRUE(eng.ok()) << eng.status().ToString();
  return eng.ok() ? *eng : nullptr;
}

std::shared_ptr<const cm::Component> LoadFixture(const std::string& name) {
  auto bytes = test::ReadFile(Fixture(name));
  EXPECT_FALSE(bytes.empty()) << Fixture(name) << " missing: build component_fixtures";
  auto c = cm::DecodeComponent(bytes);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : nullptr;
}

cm::ComponentOptions OnTier(const char* name) {
  cm::ComponentOptions o;
  o.tier = std::string(name) == "aot" ? engine::Tier::kAot : engine::Tier::kInterp;
  return o;
}

// Calls `wave` (a call of a function of `iface_name`) on `inst`; the result
// in WAVE, "" for none, or "trap: ..." / "error: ...".
std::string CallWave(cm::ComponentInstance& inst, const std::string& iface_name,
                     const std::string& wave) {
  std::string fn = wave.substr(0, wave.find('('));
  std::string name = iface_name.empty() ? fn : iface_name + "#" + fn;
  const cm::FuncType* t = inst.FuncTypeOf(name);
  if (t == nullptr) return "error: no export " + name;
  auto call = cm::ParseWaveCall(wave, [t](std::string_view) { return t; });
  if (!call.ok()) return "error: " + call.status().ToString();
  auto out = inst.Call(name, std::move(call->args));
  if (!out.ok()) return "error: " + out.status().ToString();
  if (out->trap) return "trap: " + out->trap->ToString();
  if (!t->result) return "";
  if (out->results.size() != 1) return "error: " + std::to_string(out->results.size()) + " results";
  return cm::PrintWave(out->results[0], *t->result);
}

TEST_P(RunComponentTest, FreestandingComponentCallsTheTestHostLikeNode) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto eng = MakeEngine();
  auto c = LoadFixture("host_import");
  ASSERT_TRUE(eng && c);
  // The host the fixture imports, as call-component.mjs provides it.
  std::string log;
  cm::Linker linker;
  const char* host = "arcella:fixtures/host@0.1.0";
  ASSERT_TRUE(
      linker
          .DefineFunc(host, "log", cm::FuncType{{{"msg", cm::ValueType::String()}}, {}},
                      [&log](std::vector<cm::Val> args) -> cm::TrapOr<std::vector<cm::Val>> {
                        log += "host log: " + args[0].str + "\n";
                        return std::vector<cm::Val>{};
                      })
          .ok());
  ASSERT_TRUE(
      linker
          .DefineFunc(host, "add",
                      cm::FuncType{{{"a", cm::ValueType::U32()}, {"b", cm::ValueType::U32()}},
                                   cm::ValueType::U32()},
                      [](std::vector<cm::Val> args) -> cm::TrapOr<std::vector<cm::Val>> {
                        return std::vector<cm::Val>{
                            cm::Val::U32(static_cast<uint32_t>(args[0].u + args[1].u))};
                      })
          .ok());
  auto inst = cm::ComponentInstance::Create(eng, c, linker, OnTier(GetParam()));
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  std::string ours;
  for (const char* call : {"run(3)", "run(0)"}) {
    std::string r = CallWave(**inst, "", call);
    ours += log + call + " => " + r + "\n";
    log.clear();
  }
  Proc node = Sh(ShellQuote(ARCELLA_NODE) + " " +
                 ShellQuote(ARCELLA_NPM_TOOLS_DIR "/call-component.mjs") + " " +
                 ShellQuote(Fixture("host_import")) + " " +
                 ShellQuote(test::TempDir("run-component-js")) + " 'run(3)' 'run(0)'");
  EXPECT_EQ(node.code, 0) << node.err;
  EXPECT_EQ(ours, node.out);  // the same notation: u32 results print alike
  EXPECT_EQ(ours, "host log: step 1: 1\nhost log: step 2: 3\nhost log: step 3: 6\nrun(3) => 6\n"
                  "run(0) => 0\n");
}

// Every export of the componentize-js fixture, called with WAVE values, in
// one instance. On the interpreter only: its 12 MB core module (SpiderMonkey)
// takes many minutes to compile on the AOT tier. componentize-js 0.23
// corrupts a u32 >= 2^31 and traps on a negative s64: the values stay clear
// of both (tests/component/component_fixtures_test.cc).
TEST(RunComponent, JsComponentEveryWitTypeMatchesNode) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto iface = WitInterfaceOf("all_types.wit", "types");
  auto eng = MakeEngine();
  auto c = LoadFixture("all_types");
  ASSERT_TRUE(iface && eng && c);
  const std::vector<DiffCall> calls = {
      {"echo-bool(true)", "true"},
      {"echo-bool(false)", "false"},
      {"echo-s8(-128)", "-128"},
      {"echo-u8(255)", "255"},
      {"echo-s16(-32768)", "-32768"},
      {"echo-u16(65535)", "65535"},
      {"echo-s32(-2147483648)", "-2147483648"},
      {"echo-u32(2147483647)", "2147483647"},
      {"echo-s64(9223372036854775807)", "9223372036854775807"},
      {"echo-u64(18446744073709551615)", "18446744073709551615"},
      {"echo-f32(1.5)", "1.5"},
      {"echo-f32(-0.25)", "-0.25"},
      {"echo-f64(-0.1)", "-0.1"},
      {"echo-f64(123456.789)", "123456.789"},
      {"echo-char('☃')", "'☃'"},
      {"echo-char('\\u{1f600}')", "'😀'"},
      {R"(echo-string("wörld \"quoted\"\n"))", R"("wörld \"quoted\"\n")"},
      {R"(echo-string(""))", R"("")"},
      {"echo-list([1, 65535, 0])", "[1, 65535, 0]"},
      {"echo-list([])", "[]"},
      {R"(echo-record({x: -1, y: 2, label: "p"}))", R"({x: -1, y: 2, label: "p"})"},
      {R"(echo-tuple((1, "two", 3.5)))", R"((1, "two", 3.5))"},
      {R"(echo-variant(rect({x: 1, y: 2, label: "r"})))", R"(rect({x: 1, y: 2, label: "r"}))"},
      {"echo-variant(circle(2.5))", "circle(2.5)"},
      {"echo-variant(empty)", "empty"},
      {"echo-enum(blue)", "blue"},
      {"echo-enum(red)", "red"},
      {R"(echo-option(some("s")))", R"(some("s"))"},
      {"echo-option(none)", "none"},
      {"echo-result(ok(7))", "ok(7)"},
      {R"(echo-result(err("bad")))", R"(err("bad"))"},
      {"echo-flags({read, exec})", "{read, exec}"},
      {"echo-flags({})", "{}"},
      {R"(describe({x: 1, y: 2, label: "p"}, circle(2.5), green, {read, write}))",
       R"("p@(1,2) circle(2.5) green read|write")"},
      {"sum([1, 2, 3])", "6"},
      {R"(greet("wörld"))", R"({text: "hello, wörld!", length: 13})"},
      {R"(parse-u32("42"))", "ok(42)"},
      {R"(parse-u32("x"))", R"(err("not a number: x"))"},
      {R"(many(1, -2, 3, 4, 5.5, 6.25, 'z', true, "s", [1, 2], some(9), (7, 8), red, {write}, 1, 2, 3))",
       R"("1 -2 3 4 5.5 6.25 z true s [1,2] 9 (7,8) red write 6")"},
  };
  NodeSide node;
  for (const DiffCall& call : calls) AddNodeCall(*iface, call.wave, &node);
  // The resource: made, used through borrows; the same steps in JS.
  node.exprs.push_back("(() => { const c = new types.Counter(5n); c.inc(2n); return [c.get(), "
                       "types.countWith(c, 3)]; })()");
  node.types.push_back(nullptr);
  std::vector<std::string> theirs = CallUnderNode("all_types", node);

  auto wasi = cm::WasiP2::Create({});
  ASSERT_TRUE(wasi.ok()) << wasi.status().ToString();
  cm::Linker linker;
  ASSERT_TRUE((*wasi)->AddToLinker(linker).ok());
  auto inst = cm::ComponentInstance::Create(eng, c, linker, OnTier("interp"));
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  const std::string types = "arcella:fixtures/types@0.1.0";
  ASSERT_EQ(theirs.size(), calls.size() + 1);
  for (size_t i = 0; i < calls.size(); ++i) {
    SCOPED_TRACE(calls[i].wave);
    std::string ours = CallWave(**inst, types, calls[i].wave);
    EXPECT_EQ(ours, theirs[i]) << "arcella vs node (" << node.exprs[i] << ")";
    EXPECT_EQ(ours, calls[i].expected);
  }

  // The resource, step by step through handles.
  auto call = [&](const std::string& fn, std::vector<cm::Val> args) -> cm::Val {
    auto out = (*inst)->Call(types + "#" + fn, std::move(args));
    EXPECT_TRUE(out.ok()) << fn << ": " << out.status().ToString();
    if (!out.ok() || out->trap || out->results.empty()) {
      ADD_FAILURE() << fn << (out.ok() && out->trap ? ": trap " + out->trap->ToString() : "");
      return cm::Val::U64(0);
    }
    return out->results[0];
  };
  cm::ResourceRef counter = (*inst)->ResourceTypeOf(types + "#counter");
  ASSERT_TRUE(counter);
  cm::Val c5 = call("[constructor]counter", {cm::Val::U64(5)});
  ASSERT_EQ(c5.kind, cm::TypeKind::kOwn);
  auto borrow = [&](const cm::Val& own) { return cm::Val::Borrow(counter, own.u); };
  call("[method]counter.inc", {borrow(c5), cm::Val::U64(2)});
  uint64_t got = call("[method]counter.get", {borrow(c5)}).u;
  uint64_t counted = call("count-with", {borrow(c5), cm::Val::U32(3)}).u;
  std::string ours = "[" + std::to_string(got) + "n, " + std::to_string(counted) + "n]";
  EXPECT_EQ(ours, theirs.back());  // in node's notation
  EXPECT_EQ(ours, "[7n, 10n]");
}

// An own<counter> given back to the component that defines the resource
// (by value: the component takes it over), with a borrow beside it.
// `made_first` says which of the two counters is made first: the own one
// (handle 1, enabled) or the borrowed one (DISABLED below).
void ResourcePassedByValue(bool own_made_first) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto eng = MakeEngine();
  auto c = LoadFixture("all_types");
  ASSERT_TRUE(eng && c);
  NodeSide node;
  node.exprs.push_back(
      own_made_first
          ? "(() => { const a = new types.Counter(1n); const b = new types.Counter(10n); "
            "return types.Counter.merge(a, b).get(); })()"
          : "(() => { const b = new types.Counter(10n); const a = new types.Counter(1n); "
            "return types.Counter.merge(a, b).get(); })()");
  node.types.push_back(nullptr);
  std::vector<std::string> theirs = CallUnderNode("all_types", node);
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0], "11n");

  auto wasi = cm::WasiP2::Create({});
  ASSERT_TRUE(wasi.ok()) << wasi.status().ToString();
  cm::Linker linker;
  ASSERT_TRUE((*wasi)->AddToLinker(linker).ok());
  auto inst = cm::ComponentInstance::Create(eng, c, linker, OnTier("interp"));
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  const std::string types = "arcella:fixtures/types@0.1.0";
  cm::ResourceRef counter = (*inst)->ResourceTypeOf(types + "#counter");
  ASSERT_TRUE(counter);
  auto call = [&](const std::string& fn, std::vector<cm::Val> args) -> std::optional<cm::Val> {
    auto out = (*inst)->Call(types + "#" + fn, std::move(args));
    if (!out.ok() || out->trap || out->results.empty()) {
      ADD_FAILURE() << fn << ": "
                    << (!out.ok()   ? out.status().ToString()
                        : out->trap ? out->trap->ToString()
                                    : "no result");
      return std::nullopt;
    }
    return out->results[0];
  };
  std::optional<cm::Val> a, b;
  if (own_made_first) {
    a = call("[constructor]counter", {cm::Val::U64(1)});
    b = call("[constructor]counter", {cm::Val::U64(10)});
  } else {
    b = call("[constructor]counter", {cm::Val::U64(10)});
    a = call("[constructor]counter", {cm::Val::U64(1)});
  }
  ASSERT_TRUE(a && b);
  auto merged = call("[static]counter.merge", {*a, cm::Val::Borrow(counter, b->u)});
  ASSERT_TRUE(merged);
  auto value = call("[method]counter.get", {cm::Val::Borrow(counter, merged->u)});
  ASSERT_TRUE(value);
  EXPECT_EQ(std::to_string(value->u) + "n", theirs[0]);
}

TEST(RunComponent, JsComponentResourcePassedByValueMatchesNode) { ResourcePassedByValue(true); }

// DISABLED: the same with the borrowed counter made first: on Arcella
// `[static]counter.merge` traps (unreachable in the guest) where node gives
// 11. The own handle Arcella lowers (1, a reused slot, as the spec's tables
// do) differs from the rep (2), while jco keeps the component's handle 2;
// see docs/TESTING.md "Known issues". Enable once settled.
TEST(RunComponent, DISABLED_JsComponentResourcePassedByValueSecondHandleMatchesNode) {
  ResourcePassedByValue(false);
}

// --------------------------------------------- what a user meets on the CLI

TEST_P(RunComponentTest, InvokeErrorsNameWhatIsWrong) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  const std::string reactor = ShellQuote(Fixture("text_reactor")) + " </dev/null";
  // A value of the wrong type: usage error, with where.
  Proc r = Sh(Arcella(Tier() + "--invoke 'shout(42)' " + reactor));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("line 1, column 7"), std::string::npos) << r.err;
  // Bad syntax.
  r = Sh(Arcella(Tier() + "--invoke 'shout(\"a\"' " + reactor));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("line 1, column"), std::string::npos) << r.err;
  r = Sh(Arcella(Tier() + "--invoke shout " + reactor));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("expected NAME(ARGS)"), std::string::npos) << r.err;
  // No such export: the exports are listed.
  r = Sh(Arcella(Tier() + "--invoke 'nope()' " + reactor));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("exports no function `nope`"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("arcella:fixtures/text@0.1.0#shout"), std::string::npos) << r.err;
  // A reactor is not a command.
  r = Sh(Arcella(Tier() + reactor));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("not a WASI 0.2 command"), std::string::npos) << r.err;
}

TEST(RunComponent, MalformedComponentIsRefusedWithAnOffset) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto bytes = test::ReadFile(Fixture("text_reactor"));
  ASSERT_GT(bytes.size(), 1000u);
  std::string path = test::TempDir("run-component-bad") + "/cut.wasm";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), 700);
  Proc r = Sh(Arcella(ShellQuote(path) + " </dev/null"));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("cut.wasm"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offset"), std::string::npos) << r.err;
}

TEST_P(RunComponentTest, FuelAndTimeoutStopTheCommand) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  Proc r = Sh(
      Arcella(Tier() + "--fuel 1000 " + ShellQuote(Fixture("cli_command")) + " </dev/null"));
  EXPECT_EQ(r.code, 134) << r.out << r.err;
  EXPECT_NE(r.err.find("out of fuel"), std::string::npos) << r.err;
  // Enough fuel: runs.
  r = Sh(Arcella(Tier() + "--fuel 100000000 " + ShellQuote(Fixture("hello")) + " </dev/null"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "hello, world\n");
  // stdin that never ends (a FIFO we hold open for writing): the timeout
  // interrupts the blocked read.
  std::string fifo = test::TempDir("run-component-fifo") + "/in";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto t0 = std::chrono::steady_clock::now();
  r = Sh(Arcella(Tier() + "--timeout 500ms " + ShellQuote(Fixture("cli_command")) + " <>" +
                 ShellQuote(fifo)));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 134) << r.out << r.err;
  EXPECT_NE(r.err.find("deadline"), std::string::npos) << r.err;
  EXPECT_LT(secs, 30) << "the timeout did not interrupt the blocked read";
}

INSTANTIATE_TEST_SUITE_P(Tiers, RunComponentTest, ::testing::Values("interp", "aot"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace arcella::tools::component_run_test
