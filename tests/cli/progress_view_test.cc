// How `arcella-cli install` renders the daemon's progress items: one
// updating line on a terminal, the stage lines otherwise.
#include "cli/progress_view.h"

#include <gtest/gtest.h>

#include <sstream>

#include "common/status_line.h"

namespace arcella::cli {
namespace {

using Json = nlohmann::json;

std::vector<Json> Items() {
  return {Json{{"stage", "validate"}},
          Json{{"stage", "compile"}},
          Json{{"stage", "compile"},
               {"units_done", 0},
               {"units_total", 0},
               {"elapsed_ms", 300},
               {"estimate_ms", 0}},
          Json{{"stage", "compile"},
               {"units_done", 37},
               {"units_total", 112},
               {"elapsed_ms", 41'000},
               {"estimate_ms", 80'000}},
          Json{{"stage", "compile"},
               {"units_done", 112},
               {"units_total", 112},
               {"elapsed_ms", 125'000},
               {"estimate_ms", 0}},
          Json{{"stage", "store"}},
          Json{{"stage", "done"}}};
}

TEST(InstallProgressView, TerminalRedrawsOneLineAndErasesIt) {
  std::ostringstream err;
  {
    InstallProgressView view(err, /*terminal=*/true, 80, "/x/y/yosys@1.0.0.wasm");
    for (const auto& i : Items()) view.Item(i);
  }
  std::string s = err.str();
  EXPECT_EQ(s.find('\n'), std::string::npos) << "never a new line: " << s;
  EXPECT_NE(s.find("\rinstalling yosys@1.0.0.wasm: validating\033[K"), std::string::npos) << s;
  EXPECT_NE(s.find("\rcompiling yosys@1.0.0.wasm: generating C\033[K"), std::string::npos) << s;
  EXPECT_NE(s.find("\rcompiling yosys@1.0.0.wasm: 37/112 units, 41 s, about 1 min 20 s left\033[K"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("\rcompiling yosys@1.0.0.wasm: 112/112 units, 2 min 5 s\033[K"),
            std::string::npos)
      << s;
  EXPECT_EQ(s.substr(s.size() - 4), "\r\033[K") << "ends erased: " << s;
}

TEST(InstallProgressView, NotATerminalShowsTheStagesOnly) {
  std::ostringstream err;
  {
    InstallProgressView view(err, /*terminal=*/false, 80, "/x/yosys@1.0.0.wasm");
    for (const auto& i : Items()) view.Item(i);
  }
  EXPECT_EQ(err.str(), "validating...\ncompiling...\nstoring...\n");
}

TEST(InstallProgressView, LongLinesAreCutToTheTerminal) {
  std::ostringstream err;
  InstallProgressView view(err, true, 30, "/x/a-very-long-module-name@1.0.0.wasm");
  view.Item(Items()[3]);
  std::string s = err.str();
  ASSERT_GE(s.size(), 4u);
  EXPECT_EQ(s.size(), 1 + 29 + 3) << "\\r, 29 columns, erase: " << s;
}

TEST(StatusLine, Durations) {
  EXPECT_EQ(HumanDuration(850), "850 ms");
  EXPECT_EQ(HumanDuration(41'400), "41 s");
  EXPECT_EQ(HumanDuration(200'000), "3 min 20 s");
  EXPECT_EQ(HumanDuration(120'000), "2 min");
  EXPECT_EQ(CompileProgressText("compiling a.wasm", 0, 0, 200, 0),
            "compiling a.wasm: generating C");
}

}  // namespace
}  // namespace arcella::cli
