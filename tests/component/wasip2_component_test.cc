// WASI 0.2 end to end: components run through ComponentInstance with a
// WasiP2 in the Linker. The C command fixture (cli_command, wasi-libc via
// the preview-1 command adapter) prints its args, env, clocks, random,
// stdin and files; the componentize-js fixture (all_types, importing
// wasi:http@0.2.10 beside wasi:io@0.2.12) instantiates; a hand-written
// component importing wasi:*@0.2.0 and @0.2.3 resolves to the 0.2.12
// definitions, writes to stdout and is interrupted in a 10-second sleep.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>

#include "component/decoder.h"
#include "component/fixture_util.h"
#include "component/instance.h"
#include "component/npm_tools_util.h"
#include "component/wasip2/state.h"
#include "component/wasip2/wasi_p2.h"
#include "test_util.h"

namespace arcella::component {
namespace {

struct Host {
  std::string out, err;
  std::shared_ptr<WasiP2> p2;
  std::shared_ptr<ComponentInstance> inst;
};

// Instantiates `c` with a WasiP2 over `cfg` (stdout and stderr captured).
void Instantiate(const std::shared_ptr<const Component>& c, wasi::WasiConfig cfg, Host* h) {
  cfg.stdout_stream.sink = [h](std::string_view s) { h->out.append(s); };
  cfg.stderr_stream.sink = [h](std::string_view s) { h->err.append(s); };
  auto p2 = WasiP2::Create(std::move(cfg));
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  h->p2 = *p2;
  Linker linker;
  ASSERT_TRUE(h->p2->AddToLinker(linker).ok());
  auto engine = engine::Engine::Create(engine::EngineConfig{});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  ComponentOptions opts;
  opts.tier = engine::Tier::kInterp;
  auto inst = ComponentInstance::Create(*engine, c, linker, opts);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  h->inst = *inst;
}

// The exit code of a command's run: 0 for ok, else the exit trap's code.
int RunCommand(Host* h) {
  auto r = h->inst->Call("wasi:cli/run@0.2.12#run", {});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return -1;
  if (r->trap) {
    EXPECT_EQ(r->trap->kind, engine::TrapKind::kExit) << r->trap->ToString();
    return r->trap->exit_code;
  }
  EXPECT_EQ(r->results.size(), 1u);
  return r->results.empty() ? -1 : static_cast<int>(r->results[0].index);
}

TEST(WasiP2Component, CliCommandSeesArgsEnvClocksRandomAndStdin) {
  auto c = arcella::testing::LoadComponentFixture("cli_command");
  ASSERT_TRUE(c);
  wasi::WasiConfig cfg;
  cfg.args = {"cli_command"};
  cfg.env = {{"FIXTURE_GREETING", "hi there"}};
  cfg.stdin_data = "some stdin\n";
  Host h;
  Instantiate(c, std::move(cfg), &h);
  ASSERT_TRUE(h.inst);
  EXPECT_EQ(RunCommand(&h), 0) << h.err;
  EXPECT_EQ(h.out, "args: 0\n"
                   "env FIXTURE_GREETING: hi there\n"
                   "clock monotonic: ok\n"
                   "clock realtime: ok\n"
                   "random: ok\n"
                   "stdin: 11 bytes: SOME STDIN\n");
  EXPECT_EQ(h.p2->exit_code().value_or(0), 0);
}

TEST(WasiP2Component, CliCommandReadsAndWritesItsPreopen) {
  auto c = arcella::testing::LoadComponentFixture("cli_command");
  ASSERT_TRUE(c);
  std::string dir = test::TempDir("arcella-wasip2-cmd");
  { std::ofstream(dir + "/input.txt") << "hello from the host\n"; }
  wasi::WasiConfig cfg;
  cfg.args = {"cli_command", "/data", "one", "two words"};
  cfg.preopens.push_back({.host_path = dir, .guest_path = "/data"});
  Host h;
  Instantiate(c, std::move(cfg), &h);
  ASSERT_TRUE(h.inst);
  EXPECT_EQ(RunCommand(&h), 0) << h.err;
  EXPECT_EQ(h.out, "args: 3\n"
                   "arg 1: /data\n"
                   "arg 2: one\n"
                   "arg 3: two words\n"
                   "env FIXTURE_GREETING: (unset)\n"
                   "clock monotonic: ok\n"
                   "clock realtime: ok\n"
                   "random: ok\n"
                   "stdin: 0 bytes: \n"
                   "input.txt: hello from the host\n"
                   "output.txt: 20 bytes read from input.txt\n"
                   "dir: input.txt output.txt\n");
  std::ifstream written(dir + "/output.txt");
  std::string line;
  std::getline(written, line);
  EXPECT_EQ(line, "20 bytes read from input.txt");
}

TEST(WasiP2Component, CliCommandExitCodeAndStderr) {
  auto c = arcella::testing::LoadComponentFixture("cli_command");
  ASSERT_TRUE(c);
  wasi::WasiConfig cfg;
  cfg.args = {"cli_command", "/nowhere"};
  Host h;
  Instantiate(c, std::move(cfg), &h);
  ASSERT_TRUE(h.inst);
  EXPECT_EQ(RunCommand(&h), 1);
  EXPECT_EQ(h.err, "cannot open /nowhere/input.txt\n");
  EXPECT_EQ(h.p2->exit_code(), 1);
}

TEST(WasiP2Component, ComponentizeJsFixtureWithHttp0210Instantiates) {
  auto c = arcella::testing::LoadComponentFixture("all_types");
  ASSERT_TRUE(c);
  Host h;
  Instantiate(c, {}, &h);
  ASSERT_TRUE(h.inst);
  auto r = h.inst->Call("arcella:fixtures/types@0.1.0#echo-u32", {Val::U32(7)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(r->trap) << r->trap->ToString();
  ASSERT_EQ(r->results.size(), 1u);
  EXPECT_EQ(r->results[0].u, 7u);
}

// Imports of 0.2.0 and 0.2.3 mixed: served by the 0.2.12 definitions.
constexpr const char* kOlderWasi = R"((component
  (import "wasi:io/error@0.2.0" (instance $error (export "error" (type (sub resource)))))
  (alias export $error "error" (type $err))
  (import "wasi:io/poll@0.2.0" (instance $poll
    (export "pollable" (type $p (sub resource)))
    (export "[method]pollable.block" (func (param "self" (borrow $p))))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:io/streams@0.2.3" (instance $streams
    (alias outer 1 $err (type $e))
    (export "error" (type $e2 (eq $e)))
    (type $se (variant (case "last-operation-failed" (own $e2)) (case "closed")))
    (export "stream-error" (type $se2 (eq $se)))
    (export "output-stream" (type $os (sub resource)))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $se2)))))))
  (alias export $streams "output-stream" (type $os))
  (import "wasi:cli/stdout@0.2.0" (instance $stdout
    (alias outer 1 $os (type $o))
    (export "output-stream" (type $o2 (eq $o)))
    (export "get-stdout" (func (result (own $o2))))))
  (import "wasi:clocks/monotonic-clock@0.2.3" (instance $clock
    (alias outer 1 $pollable (type $pt))
    (export "pollable" (type $p2 (eq $pt)))
    (export "now" (func (result u64)))
    (export "subscribe-duration" (func (param "when" u64) (result (own $p2))))))
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $get-stdout (canon lower (func $stdout "get-stdout")))
  (core func $write (canon lower (func $streams "[method]output-stream.blocking-write-and-flush") (memory $memory)))
  (core func $drop (canon resource.drop $os))
  (core func $now (canon lower (func $clock "now")))
  (core func $sub (canon lower (func $clock "subscribe-duration")))
  (core func $block (canon lower (func $poll "[method]pollable.block")))
  (core module $Main
    (import "host" "mem" (memory 1))
    (import "host" "get-stdout" (func $get-stdout (result i32)))
    (import "host" "write" (func $write (param i32 i32 i32 i32)))
    (import "host" "drop" (func $drop (param i32)))
    (import "host" "now" (func $now (result i64)))
    (import "host" "sub" (func $sub (param i64) (result i32)))
    (import "host" "block" (func $block (param i32)))
    (data (i32.const 16) "hello from 0.2.0\n")
    (func (export "run") (result i32)
      (local $h i32)
      (if (i64.eqz (call $now)) (then unreachable))
      (local.set $h (call $get-stdout))
      (call $write (local.get $h) (i32.const 16) (i32.const 17) (i32.const 64))
      (call $drop (local.get $h))
      (i32.load8_u (i32.const 64)))
    (func (export "sleep") (param i64)
      (call $block (call $sub (local.get 0)))))
  (core instance $main (instantiate $Main (with "host" (instance
    (export "mem" (memory $memory))
    (export "get-stdout" (func $get-stdout))
    (export "write" (func $write))
    (export "drop" (func $drop))
    (export "now" (func $now))
    (export "sub" (func $sub))
    (export "block" (func $block))))))
  (func (export "run") (result u32) (canon lift (core func $main "run")))
  (func (export "sleep") (param "ns" u64) (canon lift (core func $main "sleep")))
))";

std::shared_ptr<const Component> OlderWasiComponent() {
  auto bins = wast::ConvertComponentTexts({kOlderWasi}, testing::NpmTextTools());
  EXPECT_TRUE(bins.ok()) << bins.status().ToString();
  if (!bins.ok()) return nullptr;
  EXPECT_TRUE((*bins)[0].ok()) << (*bins)[0].status().ToString();
  if (!(*bins)[0].ok()) return nullptr;
  auto c = DecodeComponent(*(*bins)[0]);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : nullptr;
}

TEST(WasiP2Component, Wasi020And023ImportsResolveTo0212) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto c = OlderWasiComponent();
  ASSERT_TRUE(c);
  Host h;
  Instantiate(c, {}, &h);
  ASSERT_TRUE(h.inst);
  auto r = h.inst->Call("run", {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(r->trap) << r->trap->ToString();
  EXPECT_EQ(r->results[0].u, 0u);  // result ok
  EXPECT_EQ(h.out, "hello from 0.2.0\n");
  // The guest dropped its stdout handle: the host's table is empty again.
  EXPECT_EQ(h.p2->state().output_streams.size(), 0u);
}

TEST(WasiP2Component, AGuestSleepingIsInterrupted) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  auto c = OlderWasiComponent();
  ASSERT_TRUE(c);
  // Interrupted from 100 ms after it is armed.
  using Clock = std::chrono::steady_clock;
  auto armed = std::make_shared<std::atomic<Clock::rep>>(
      Clock::time_point::max().time_since_epoch().count());
  wasi::WasiConfig cfg;
  cfg.interrupted = [armed] { return Clock::now().time_since_epoch().count() > armed->load(); };
  Host h;
  Instantiate(c, std::move(cfg), &h);
  ASSERT_TRUE(h.inst);
  // 20 ms: sleeps and returns.
  auto r = h.inst->Call("sleep", {Val::U64(20'000'000)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->trap);
  // 10 s: ended by the interrupt after about 100 ms.
  auto start = Clock::now();
  armed->store((start + std::chrono::milliseconds(100)).time_since_epoch().count());
  r = h.inst->Call("sleep", {Val::U64(10'000'000'000)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->trap);
  EXPECT_EQ(r->trap->kind, engine::TrapKind::kInterrupted) << r->trap->ToString();
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(95));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace arcella::component
