// Helpers for the AOT tier tests: compile WAT straight through CompileAot.
#pragma once

#include <fstream>

#include <gtest/gtest.h>

#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/instrument.h"
#include "engine/loader.h"
#include "test_util.h"

namespace arcella::engine::aot_test {

// A value in KiB from /proc/self/status ("VmSize", "VmRSS"), 0 if absent.
inline uint64_t StatusKb(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1));
  return 0;
}

inline BackendInput InputFor(const std::vector<uint8_t>& wasm) {
  BackendInput in;
  auto d = Decode(wasm);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  if (!d.ok()) return in;
  in.wasm = wasm;
  in.imports = d->imports;
  in.exports = d->exports;
  return in;
}

inline CompileOptions OptionsIn(const std::string& cache_dir) {
  CompileOptions o;
  o.tier = Tier::kAot;
  o.cache_dir = cache_dir;
  return o;
}

inline std::shared_ptr<ModuleBackend> CompileWat(const std::string& wat,
                                                 const std::string& cache_dir) {
  auto r = CompileAot(InputFor(test::Wat(wat)), OptionsIn(cache_dir));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : nullptr;
}

inline std::unique_ptr<InstanceBackend> Inst(ModuleBackend& m,
                                             const std::vector<BoundImport>& imports = {},
                                             InstanceLimits limits = {}) {
  std::optional<BackendTrap> start_trap;
  auto r = m.Instantiate(imports, limits, nullptr, &start_trap);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(start_trap.has_value());
  return r.ok() ? std::move(r).value() : nullptr;
}

// Export index by name in `in`.
inline uint32_t ExportIndex(const BackendInput& in, const std::string& name) {
  for (size_t i = 0; i < in.exports.size(); ++i)
    if (in.exports[i].name == name) return static_cast<uint32_t>(i);
  ADD_FAILURE() << "no export " << name;
  return 0;
}

// The facade's path: decode with names, instrument, encode; the IR handed on.
inline BackendInput FacadeInput(const std::vector<uint8_t>& wasm, Metering metering) {
  BackendInput in;
  auto d = Decode(wasm);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  if (!d.ok()) return in;
  EXPECT_TRUE(Instrument(d->ir.get(), metering).ok());
  auto bytes = Encode(*d->ir);
  EXPECT_TRUE(bytes.ok());
  if (!bytes.ok()) return in;
  Describe(*d->ir, &*d);
  in.wasm = std::move(*bytes);
  in.imports = d->imports;
  in.exports = d->exports;
  in.ir = std::move(d->ir);
  return in;
}

// The whole contents of the file at `path` ("" if it cannot be read).
inline std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace arcella::engine::aot_test
