// A link from a C component to a JS component and on to a C component
// (issue 10): bench_link (C) imports arcella:bench/api, js_api_relay (JS,
// componentize-js) exports it and imports it again, bench_api (C) exports it.
// A call of bench_link's relay.f crosses both links each way: a string in, a
// record (string and numbers) out; api.sum takes a list and returns an s64.
// Real daemon, in the daemon and across workers. The JS component embeds StarlingMonkey (a
// 10 MB core module, minutes of AOT compile on 2 cores), so it is installed
// with `--tier interp` (the C components stay on the default tier).
#include <gtest/gtest.h>

#include <chrono>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

const char kBenchApi[] = "arcella:bench/api@0.1.0";

double SecondsSinceJs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST(JsLink, ACallCrossesFromCThroughJsToCAndBack) {
  Daemon d;
  auto t = std::chrono::steady_clock::now();
  auto r = d.Cli("install --tier interp " +
                 ShellQuote(StageComponent("js_api_relay", "js@0.1.0.wasm")));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("tier interp"), std::string::npos) << r.out;
  std::printf("install js (interp): %.1f s\n", SecondsSinceJs(t));
  r = d.Cli("install " + ShellQuote(StageComponent("bench_api", "api@0.1.0.wasm")));
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli("install " + ShellQuote(StageComponent("bench_link", "app@0.1.0.wasm")));
  ASSERT_EQ(r.code, 0) << r.out;

  // A chain of three deployments: app -> js -> api.
  ASSERT_EQ(d.Cli("deploy api@0.1.0 --isolation main").code, 0);
  r = d.Cli(std::string("deploy js@0.1.0 --isolation main --link ") + kBenchApi +
            "=api@0.1.0/default");
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli(std::string("deploy app@0.1.0 --isolation main --link ") + kBenchApi +
            "=js@0.1.0/default");
  ASSERT_EQ(r.code, 0) << r.out;
  t = std::chrono::steady_clock::now();
  for (const char* id : {"api@0.1.0", "js@0.1.0", "app@0.1.0"})
    ASSERT_EQ(d.Cli(std::string("start ") + id).code, 0) << id;
  ASSERT_TRUE(WaitFor(
      [&] {
        return ReadyAtLeast(d, "api@0.1.0/default") && ReadyAtLeast(d, "js@0.1.0/default") &&
               ReadyAtLeast(d, "app@0.1.0/default");
      },
      120'000))
      << Request(d, "status").dump();
  std::printf("start (js instantiated on the interpreter): %.1f s\n", SecondsSinceJs(t));

  // relay.f (C) -> api.f (JS: prefixes "js:") -> api.f (C: upper-cases,
  // counts) -> back through the JS (brackets the string, length + 1000,
  // words * 10) -> back to the C relay.
  t = std::chrono::steady_clock::now();
  r = d.Cli("--timeout 120s call app@0.1.0 f '\"hello linked world\"'");
  std::printf("first call: %.2f s\n", SecondsSinceJs(t));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "{upper: \"[JS:HELLO LINKED WORLD]\", length: 1021, words: 30}\n") << r.out;
  t = std::chrono::steady_clock::now();
  r = d.Cli("call app@0.1.0 f '\"x\"'");
  std::printf("second call: %.2f s\n", SecondsSinceJs(t));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "{upper: \"[JS:X]\", length: 1004, words: 10}\n") << r.out;

  // The JS as a direct provider: its api.sum called by the CLI sends the
  // list (plus 7) on to the C api.sum and adds 93 to the answer.
  r = d.Cli("call js@0.1.0 sum '[1, 2, 4000000000000]'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "4000000000103\n") << r.out;
  r = d.Cli("call js@0.1.0 f '\"direct\"'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "{upper: \"[JS:DIRECT]\", length: 1009, words: 10}\n") << r.out;

  // Status shows both links active; the JS is listed on the interpreter.
  r = d.Cli("status");
  EXPECT_NE(r.out.find("app@0.1.0/default  arcella:bench/api@0.1.0  js@0.1.0/default   active"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("js@0.1.0/default   arcella:bench/api@0.1.0  api@0.1.0/default  active"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(Request(d, "module.inspect", {{"id", "js@0.1.0"}})["tier"], "interp");
  EXPECT_EQ(Request(d, "module.inspect", {{"id", "api@0.1.0"}})["tier"], "aot");

  // A restart compiles the JS again on the interpreter (its installed tier),
  // not on the AOT tier (minutes), and the chain answers again.
  t = std::chrono::steady_clock::now();
  ASSERT_EQ(d.Stop(), 0);
  d.Start(/*wait_s=*/120);  // the daemon compiles the JS (5 s alone) before it listens
  ASSERT_TRUE(WaitFor(
      [&] {
        return ReadyAtLeast(d, "api@0.1.0/default") && ReadyAtLeast(d, "js@0.1.0/default") &&
               ReadyAtLeast(d, "app@0.1.0/default");
      },
      120'000))
      << Request(d, "status").dump();
  std::printf("restart until the chain is ready: %.1f s\n", SecondsSinceJs(t));
  r = d.Cli("--timeout 120s call app@0.1.0 f '\"again\"'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "{upper: \"[JS:AGAIN]\", length: 1008, words: 10}\n") << r.out;
}

// The same chain with each deployment in a worker process of its own group
// (the default isolation): C in one worker -> JS in another -> C in a third.
// The JS's interpreter code travels as its bytes and is validated again in
// its worker.
TEST(JsLink, TheChainCrossesThreeWorkerProcesses) {
  Daemon d;
  ASSERT_EQ(d.Cli("install --tier interp " +
                  ShellQuote(StageComponent("js_api_relay", "js@0.1.0.wasm")))
                .code,
            0);
  ASSERT_EQ(d.Cli("install " + ShellQuote(StageComponent("bench_api", "api@0.1.0.wasm"))).code, 0);
  ASSERT_EQ(d.Cli("install " + ShellQuote(StageComponent("bench_link", "app@0.1.0.wasm"))).code, 0);
  ASSERT_EQ(d.Cli("deploy api@0.1.0 --group c1").code, 0);
  auto r = d.Cli(std::string("deploy js@0.1.0 --group js --link ") + kBenchApi + "=api@0.1.0/c1");
  ASSERT_EQ(r.code, 0) << r.out;
  r = d.Cli(std::string("deploy app@0.1.0 --group c2 --link ") + kBenchApi + "=js@0.1.0/js");
  ASSERT_EQ(r.code, 0) << r.out;
  auto t = std::chrono::steady_clock::now();
  for (const char* id : {"api@0.1.0", "js@0.1.0", "app@0.1.0"})
    ASSERT_EQ(d.Cli(std::string("--timeout 300s start ") + id).code, 0) << id;
  ASSERT_TRUE(WaitFor(
      [&] {
        return ReadyAtLeast(d, "api@0.1.0/c1") && ReadyAtLeast(d, "js@0.1.0/js") &&
               ReadyAtLeast(d, "app@0.1.0/c2");
      },
      120'000))
      << Request(d, "status").dump();
  std::printf("start in three workers (js validated again in its worker): %.1f s\n",
              SecondsSinceJs(t));
  Json status = Request(d, "status");
  EXPECT_EQ(status["workers"].size(), 3u) << status.dump();
  for (const auto& x : status["deployments"]) EXPECT_EQ(x["isolation"], "worker") << x.dump();
  r = d.Cli("--timeout 120s call app@0.1.0 f '\"across workers\"'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "{upper: \"[JS:ACROSS WORKERS]\", length: 1017, words: 20}\n") << r.out;
  // Link calls from a worker go through its link ring when their frames fit
  // a slot (2,500 bytes each way) and on the socket when they do not (5,000):
  // the same answers either way.
  for (size_t n : {2500u, 5000u}) {
    r = d.Cli("--timeout 120s call app@0.1.0 f '\"" + std::string(n, 'x') + "\"'");
    EXPECT_EQ(r.code, 0) << r.out.substr(0, 300);
    EXPECT_EQ(r.out, "{upper: \"[JS:" + std::string(n, 'X') +
                         "]\", length: " + std::to_string(n + 1003) + ", words: 10}\n")
        << r.out.substr(0, 300);
  }
  r = d.Cli("call js@0.1.0 sum '[5, 6]'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "111\n") << r.out;
}

TEST(JsLink, InstallTierIsCheckedAndShown) {
  Daemon d;
  std::string path = StageComponent("bench_api", "api@0.1.0.wasm");
  auto r = d.Cli("install --tier jit " + ShellQuote(path));
  EXPECT_NE(r.code, 0);
  // The ALME parameter is checked too (a client other than the CLI).
  Json p = {{"path", path}, {"tier", "jit"}};
  Json e = Request(d, "module.install", p);
  EXPECT_NE(e["error"].value("message", "").find("params.tier"), std::string::npos) << e.dump();
  r = d.Cli("install --tier interp " + ShellQuote(path));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("tier interp"), std::string::npos) << r.out;
  Json m = Request(d, "module.inspect", {{"id", "api@0.1.0"}});
  EXPECT_EQ(m["tier"], "interp") << m.dump();
  // --force with another tier replaces the compiled code.
  r = d.Cli("install --force --tier aot " + ShellQuote(path));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("tier aot"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace arcella::e2e
