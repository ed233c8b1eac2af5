// A tiny runner over libwabt's interpreter for the instrumentation tests:
// runs a (metered) module directly, independent of the engine's tiers.
// C++17-clean: its implementation (wabt_meter_runner_test.cc) includes
// wabt/interp headers, which do not compile as C++20 with GCC 12.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace arcella::test {

class MeterRunner {
 public:
  // Instantiates `wasm`. Imports it can satisfy: arcella_rt.check (counts
  // calls; traps "interrupted" if __arcella_interrupt != 0, else refills
  // `refill` units or traps "out of fuel"; during instantiation, i.e. in the
  // start function, it only counts), env.twice : (i32) -> i32.
  explicit MeterRunner(const std::vector<uint8_t>& wasm);
  ~MeterRunner();

  bool ok() const { return error.empty(); }
  // Exported i32/i64 global as signed 64-bit.
  int64_t Global(const std::string& name);
  void SetGlobal(const std::string& name, int64_t value);
  // Calls export `name`; args are converted to its i32/i64 params. Returns
  // the first result (0 if none) or sets `trap_message`.
  uint64_t Call(const std::string& name, const std::vector<uint64_t>& args);
  // Byte of memory 0.
  uint8_t MemoryByte(size_t offset);

  std::string error;         // instantiation failure
  std::string trap_message;  // last call's trap, empty if none
  int checks = 0;            // calls of arcella_rt.check
  int64_t refill = 0;
  int64_t refilled = 0;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arcella::test
