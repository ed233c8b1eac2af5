// The Component Model reference tests (../shared/component-model/test), one
// parameterised test per .wast file, named after its path
// (validation/kebab.wast -> SpecWast/ComponentSpecWast.validation_kebab).
// Each runs RunComponentWastFile (src/wast/component_wast.h): decoding,
// validation, and instantiation and calls on the interpreter tier. async/
// and the files in nyi.txt are skipped, with the reason. docs/SPEC_TESTS.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "component/npm_tools_util.h"
#include "test_util.h"
#include "wast/component_wast.h"

namespace arcella {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ComponentSpecFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  fs::path root = ARCELLA_COMPONENT_TESTSUITE_DIR;
  if (!fs::is_directory(root, ec)) return files;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".wast")
      files.push_back(fs::relative(it->path(), root).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// nyi.txt: "./dir/file.wast" lines; '#' starts a comment.
std::set<std::string> ComponentSpecNyi() {
  std::set<std::string> nyi;
  std::ifstream in(std::string(ARCELLA_COMPONENT_TESTSUITE_DIR) + "/nyi.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("./", 0) == 0) line = line.substr(2);
    nyi.insert(line);
  }
  return nyi;
}

// tests/component/spec_wast_known_failures.txt: "file:line:col  why" lines.
std::map<std::string, std::string> ComponentSpecKnownFailures() {
  std::map<std::string, std::string> known;
  std::ifstream in(ARCELLA_SOURCE_DIR "/tests/component/spec_wast_known_failures.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.find_first_of(" \t");
    std::string where = line.substr(0, space);
    known[where] = space == std::string::npos ? ""
                                              : line.substr(line.find_first_not_of(" \t", space));
  }
  return known;
}

class ComponentSpecWast : public ::testing::TestWithParam<std::string> {};

TEST_P(ComponentSpecWast, Runs) {
  const std::string& rel = GetParam();
  if (rel.rfind("async/", 0) == 0)
    GTEST_SKIP() << rel << ": async (WASI 0.3) components are refused for now";
  if (ComponentSpecNyi().count(rel)) GTEST_SKIP() << rel << ": listed in nyi.txt";
  ARCELLA_REQUIRE_NPM_TOOLS();
  wast::ComponentWastOptions options{.tools = testing::NpmTextTools()};
  options.engine = test::TestEngine();
  options.tier = engine::Tier::kInterp;
  options.limits.deadline = std::chrono::seconds(20);  // a runaway loop fails, not hangs
  auto counts = wast::RunComponentWastFile(std::string(ARCELLA_COMPONENT_TESTSUITE_DIR) + "/" + rel,
                                           options, std::cout);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  RecordProperty("counts", wast::FormatComponentWastCounts(*counts));
  EXPECT_GT(counts->passed() + counts->needs_instantiation + counts->unsupported +
                counts->run_unsupported,
            0)
      << rel << ": no command counted";
  // Failures are "<path>:<line>:<col>: ..."; a known one is listed as "<rel>:<line>:<col>".
  const std::string path_prefix = std::string(ARCELLA_COMPONENT_TESTSUITE_DIR) + "/";
  std::map<std::string, std::string> known;
  for (const auto& [where, why] : ComponentSpecKnownFailures())
    if (where.rfind(rel + ":", 0) == 0) known[where] = why;
  std::string unexpected;
  int known_failed = 0;
  for (const std::string& f : counts->failures) {
    std::string rest = f.substr(path_prefix.size());  // "<rel>:<line>:<col>: ..."
    size_t colon = rest.find(':', rest.find(':', rel.size() + 1) + 1);
    auto it = known.find(rest.substr(0, colon));
    if (it == known.end()) {
      unexpected += f + "\n";
      continue;
    }
    std::cout << "known failure (" << it->second << "): " << f << "\n";
    known.erase(it);
    ++known_failed;
  }
  RecordProperty("known_failures", known_failed);
  EXPECT_EQ(unexpected, "") << rel << ": failures not in spec_wast_known_failures.txt";
  for (const auto& [where, why] : known)
    ADD_FAILURE() << where << " is listed in spec_wast_known_failures.txt (" << why
                  << ") but passes now: remove it from the list";
}

// A few files on the AOT tier too (each core module is a C compile, so not
// all of them): the same counts as on the interpreter, no failure.
TEST(ComponentSpecWastAot, SameResultsAsTheInterpreter) {
  ARCELLA_REQUIRE_NPM_TOOLS();
  if (!fs::is_directory(ARCELLA_COMPONENT_TESTSUITE_DIR))
    GTEST_SKIP() << "no component-model tests at " << ARCELLA_COMPONENT_TESTSUITE_DIR;
  auto engine = test::TestEngine();
  if (!engine->AotAvailable()) GTEST_SKIP() << "no AOT tier";
  for (const char* rel : {"values/strings.wast", "values/realloc.wast", "resources/borrows.wast",
                          "linking/link-time-virtualization.wast"}) {
    SCOPED_TRACE(rel);
    std::string path = std::string(ARCELLA_COMPONENT_TESTSUITE_DIR) + "/" + rel;
    wast::ComponentWastOptions options{.tools = testing::NpmTextTools()};
    options.engine = engine;
    options.limits.deadline = std::chrono::seconds(20);
    std::ostringstream log;
    options.tier = engine::Tier::kInterp;
    auto interp = wast::RunComponentWastFile(path, options, log);
    options.tier = engine::Tier::kAot;
    auto aot = wast::RunComponentWastFile(path, options, log);
    ASSERT_TRUE(interp.ok() && aot.ok()) << log.str();
    EXPECT_EQ(aot->failed, 0) << log.str();
    EXPECT_GT(aot->instantiated, 0);
    EXPECT_EQ(aot->instantiated, interp->instantiated);
    EXPECT_EQ(aot->returns_passed, interp->returns_passed);
    EXPECT_EQ(aot->traps_passed, interp->traps_passed);
  }
}

std::string ComponentSpecTestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - 5);  // ".wast"
  for (char& c : name)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(SpecWast, ComponentSpecWast, ::testing::ValuesIn(ComponentSpecFiles()),
                         ComponentSpecTestName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ComponentSpecWast);

}  // namespace
}  // namespace arcella
