// Helpers for the component tests that need the npm test tools (tools/npm,
// installed by scripts/bootstrap.sh): where they are, and what a test does
// when they are missing (fails, unless ARCELLA_SKIP_NPM_TESTS=1).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "wast/component_text.h"

namespace arcella::testing {

inline bool NpmToolsInstalled() {
  return access(ARCELLA_JCO, X_OK) == 0 &&
         access(ARCELLA_NPM_TOOLS_DIR "/component-parse.mjs", R_OK) == 0;
}

inline bool NpmToolsMaySkip() {
  const char* v = std::getenv("ARCELLA_SKIP_NPM_TESTS");
  return v && std::string(v) == "1";
}

// The converter's tools with the build's cache directory.
inline wast::ComponentTextTools NpmTextTools(
    const std::string& cache_dir = ARCELLA_COMPONENT_WAT_CACHE) {
  return {.node = ARCELLA_NODE,
          .script = ARCELLA_NPM_TOOLS_DIR "/component-parse.mjs",
          .lockfile = ARCELLA_NPM_TOOLS_DIR "/package-lock.json",
          .cache_dir = cache_dir};
}

}  // namespace arcella::testing

// In a test body: skips (ARCELLA_SKIP_NPM_TESTS=1) or fails when the npm
// test tools are not installed.
#define ARCELLA_REQUIRE_NPM_TOOLS()                                                          \
  do {                                                                                       \
    if (!::arcella::testing::NpmToolsInstalled()) {                                          \
      if (::arcella::testing::NpmToolsMaySkip())                                             \
        GTEST_SKIP() << "npm test tools not installed (ARCELLA_SKIP_NPM_TESTS=1)";           \
      FAIL() << "npm test tools not installed at " ARCELLA_NPM_TOOLS_DIR                     \
                "/node_modules: run scripts/bootstrap.sh (or set ARCELLA_SKIP_NPM_TESTS=1)"; \
    }                                                                                        \
  } while (0)
