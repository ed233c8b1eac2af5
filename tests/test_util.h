// Helpers shared by the tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace arcella::test {

// Path of a built fixture: $ARCELLA_FIXTURES/<name> (build/fixtures).
std::string FixturePath(const std::string& name);
// Reads a whole file; fails the test (and returns empty) if it cannot.
std::vector<uint8_t> ReadFile(const std::string& path);
// Assembles WAT text with `wat2wasm --enable-all` into a binary.
std::vector<uint8_t> Wat(const std::string& wat_text);
// A fresh temporary directory (removed by the OS's tmp cleaner; tests may rm it).
std::string TempDir(const std::string& prefix = "arcella-test");

// A shared engine::Engine with `metering`, caching AOT code in `cache_dir`
// (default: $ARCELLA_HOME/cache, else a temporary folder) and compiling with
// $CC (else "cc"). One per (metering, cache_dir) for the whole test binary.
std::shared_ptr<engine::Engine> TestEngine(engine::Metering metering = engine::Metering::kFuel,
                                           const std::string& cache_dir = "");

}  // namespace arcella::test
