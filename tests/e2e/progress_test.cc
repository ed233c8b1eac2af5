// Compile progress and cancellation of `module.install` against a real
// daemon: progress items streamed while the AOT tier compiles, Ctrl-C of
// arcella-cli and the ALME `cancel` method stopping the compile with nothing
// left behind (no compiler process, no temporary folder, no module).
#include <gtest/gtest.h>

#include <functional>

#include "e2e/e2e_util.h"
#include "e2e/progress_util.h"
#include "test_util.h"

namespace arcella::e2e {
namespace {

// Every daemon here is a SmallUnitsDaemon and every module small
// (progress_util.h): several units in a compile of a second or a few.

bool IsCompileProgress(const Json& item) {
  return item.is_object() && item.contains("units_total");
}

// Waits until the daemon's install handler has given up (its log says so).
bool WaitForLog(const Daemon& d, const std::string& text, int ms) {
  return WaitFor(
      [&] {
        return Sh("cat " + ShellQuote(d.home() + "/daemon.out")).out.find(text) !=
               std::string::npos;
      },
      ms);
}

// `module.install` of `wasm` over ALME, handing every streamed item to
// `on_item` (false cancels the install). The result, or the error.
Result<Json> InstallStreaming(const Daemon& d, const std::string& wasm,
                              const std::function<bool(const Json&)>& on_item) {
  auto c = Connect(d);
  if (!c) return Status::IoError("cannot connect to the daemon");
  alme::RemoteError remote{};
  auto r = c->Call("module.install", Json{{"path", wasm}}, &remote, on_item);
  if (!r.ok()) return Status(r.status().code(), r.status().message() + " " + remote.message);
  return r;
}

Json ModuleIds(const Daemon& d) {
  Json ids = Json::array();
  Json list = Request(d, "module.list");
  for (const auto& m : list.value("modules", Json::array())) ids.push_back(m.value("id", ""));
  return ids;
}

// (a) Progress items while the compile runs, units_done growing to units_total.
// Needs the engine to call CompileOptions::on_progress (engineer split's branch).
TEST(ProgressE2E, InstallStreamsCompileProgress) {
  SmallUnitsDaemon d;
  std::string dir = test::TempDir("progress-e2e");
  std::string wasm = WriteBigModule(dir, "big@1.0.0.wasm", kProgressFunctions, 11);
  std::vector<Json> items;
  auto r = InstallStreaming(d, wasm, [&](const Json& item) {
    items.push_back(item);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->value("id", ""), "big@1.0.0");
  EXPECT_EQ(r->value("tier", ""), "aot");

  // validate, compile, <compile progress...>, store, done.
  std::vector<std::string> stages;
  std::vector<Json> progress;
  for (const auto& i : items) {
    if (IsCompileProgress(i)) {
      progress.push_back(i);
      ASSERT_EQ(stages.empty() ? "" : stages.back(), "compile") << "progress outside the compile";
    } else {
      stages.push_back(i.value("stage", "?"));
    }
  }
  EXPECT_EQ(stages, (std::vector<std::string>{"validate", "compile", "store", "done"}));
  ASSERT_GE(progress.size(), 2u) << "compile progress items: " << Json(items).dump();
  uint64_t prev = 0, total = progress.back().value("units_total", 0u);
  for (const auto& p : progress) {
    uint64_t done = p.value("units_done", 0u);
    EXPECT_GE(done, prev) << "units_done must not shrink: " << Json(progress).dump();
    prev = done;
    EXPECT_TRUE(p.contains("elapsed_ms") && p.contains("estimate_ms")) << p.dump();
    uint64_t t = p.value("units_total", 0u);
    EXPECT_TRUE(t == 0 || t == total) << "units_total changed: " << Json(progress).dump();
  }
  EXPECT_GE(total, 2u) << "a module this size compiles in several units";
  EXPECT_EQ(progress.back().value("units_done", 0u), total) << "the last item is the end";
  EXPECT_LT(progress.front().value("units_done", 0u), total) << "the first item is not the end";
}

// The CLI shows the compile as one updating line on a terminal and nothing
// extra through a pipe or with --json. Needs split's branch for the units.
TEST(ProgressE2E, CliShowsProgressLineOnlyOnTerminal) {
  SmallUnitsDaemon d;
  std::string dir = test::TempDir("progress-e2e");
  std::string wasm = WriteBigModule(dir, "big@1.0.0.wasm", kProgressFunctions, 12);
  {
    Child cli({CliBin(), "--home", d.home(), "install", wasm}, {}, /*terminal=*/true);
    EXPECT_EQ(RunToEnd(cli), 0) << cli.output();
    EXPECT_NE(cli.output().find("\rcompiling big@1.0.0.wasm: "), std::string::npos) << cli.output();
    EXPECT_NE(cli.output().find(" units"), std::string::npos) << cli.output();
    EXPECT_NE(cli.output().find("\r\033[Kinstalled big@1.0.0"), std::string::npos)
        << "the line is erased before the result: " << cli.output();
  }
  ASSERT_EQ(Request(d, "module.remove", {{"id", "big@1.0.0"}}).count("error"), 0u);
  auto piped = d.Cli("install " + ShellQuote(wasm));  // a cache hit now: still the stage lines
  EXPECT_EQ(piped.code, 0) << piped.out;
  EXPECT_EQ(piped.out.find('\r'), std::string::npos) << piped.out;
  EXPECT_EQ(piped.out.find("units"), std::string::npos) << piped.out;
  EXPECT_NE(piped.out.find("compiling...\n"), std::string::npos) << piped.out;
}

// --json: the stage items and the result, never the compile progress items.
TEST(ProgressE2E, CliJsonLeavesOutCompileProgress) {
  SmallUnitsDaemon d;
  std::string dir = test::TempDir("progress-e2e");
  std::string wasm = WriteBigModule(dir, "big@1.0.0.wasm", kProgressFunctions, 13);
  auto r = d.Cli("--json install " + ShellQuote(wasm));
  ASSERT_EQ(r.code, 0) << r.out;
  auto lines = JsonLines(r.out);
  ASSERT_FALSE(lines.empty()) << r.out;
  for (const auto& l : lines) EXPECT_FALSE(IsCompileProgress(l)) << r.out;
  EXPECT_EQ(lines.back().value("id", ""), "big@1.0.0") << r.out;
}

// Checks what a cancelled install must leave: no compiler process below
// the daemon, no temporary folder in its cache, no module; the daemon
// serves, and installing the same file again works.
void ExpectNothingLeft(const Daemon& d, const std::string& wasm) {
  EXPECT_TRUE(WaitFor([&] { return Descendants(d.pid()).empty(); }, 120'000))
      << "processes left below the daemon: " << Join(Descendants(d.pid()));
  EXPECT_TRUE(WaitForLog(d, "install of " + wasm + " cancelled", 120'000))
      << Sh("cat " + ShellQuote(d.home() + "/daemon.out")).out;
  EXPECT_EQ(ModuleIds(d), Json::array()) << "a cancelled install stores nothing";
  EXPECT_EQ(CacheTempEntries(d.home() + "/cache"), std::vector<std::string>{})
      << "temporary files left in the cache";
  auto again = Request(d, "module.install", {{"path", wasm}});
  EXPECT_EQ(again.value("id", ""), "big@1.0.0") << again.dump();
  EXPECT_EQ(ModuleIds(d), Json::array({"big@1.0.0"}));
}

// (b) The ALME `cancel` method, sent once compile progress is seen, stops the
// compile in the daemon. Needs split's branch (progress items; the engine
// killing its compiler processes: the log says "during the compile").
TEST(ProgressE2E, CancelStopsTheCompileAndLeavesNothing) {
  SmallUnitsDaemon d;
  std::string dir = test::TempDir("progress-e2e");
  std::string wasm = WriteBigModule(dir, "big@1.0.0.wasm", kCancelFunctions, 14);
  bool saw_progress = false;
  auto r = InstallStreaming(d, wasm, [&](const Json& item) {
    if (!IsCompileProgress(item)) return true;
    saw_progress = true;
    return false;  // cancel at the first compile progress item
  });
  ASSERT_TRUE(saw_progress) << "no compile progress item before the end";
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Json({{"cancelled", true}}));
  ExpectNothingLeft(d, wasm);
  EXPECT_NE(Sh("cat " + ShellQuote(d.home() + "/daemon.out"))
                .out.find("install of " + wasm + " cancelled during the compile"),
            std::string::npos)
      << "the engine stopped the compile (rather than finishing it)";
}

// Ctrl-C of `arcella-cli install` while the daemon compiles: the CLI sends
// `cancel`, says so and exits 130. Works without split's branch too (the
// compile then finishes, but nothing is installed).
TEST(ProgressE2E, CtrlCOfCliInstallCancelsIt) {
  SmallUnitsDaemon d;
  std::string dir = test::TempDir("progress-e2e");
  std::string wasm = WriteBigModule(dir, "big@1.0.0.wasm", kCancelFunctions, 15);
  Child cli({CliBin(), "--home", d.home(), "install", wasm}, {}, /*terminal=*/false);
  ASSERT_TRUE(cli.ReadUntil(
      [](const std::string& out) { return out.find("compiling...") != std::string::npos; }, 60'000))
      << cli.output();
  // The daemon is compiling once a compiler process runs below it.
  EXPECT_EQ(SignalDuringCompile(cli, d.pid(), SIGINT), 130) << cli.output();
  EXPECT_NE(cli.output().find("arcella-cli: install cancelled"), std::string::npos) << cli.output();
  EXPECT_EQ(cli.output().find("installed big"), std::string::npos) << cli.output();
  ExpectNothingLeft(d, wasm);
}

}  // namespace
}  // namespace arcella::e2e
