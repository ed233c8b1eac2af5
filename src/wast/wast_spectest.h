// The `spectest` module every spec-test script may import: print functions
// (host functions) plus memory (1 2), table (10 20 funcref) and the globals
// global_i32/i64 = 666, global_f32/f64 = 666.6, which come from a small
// module compiled and instantiated once per tier. Internal to the runner.
#pragma once

#include <map>
#include <memory>

#include "common/status.h"
#include "engine/engine.h"

namespace arcella::wast {

class Spectest {
 public:
  // `engine` compiles the module (null: AddTo fails).
  explicit Spectest(std::shared_ptr<engine::Engine> engine) : engine_(std::move(engine)) {}

  // Makes "spectest" importable by modules compiled to `tier` (kAot/kInterp).
  Status AddTo(engine::Linker* linker, engine::Tier tier);

  // The "spectest" instance of `tier`, made on first use (the script's
  // instances share its interpreter store: InstanceOptions::store_with).
  Result<std::shared_ptr<engine::Instance>> InstanceFor(engine::Tier tier);

 private:
  std::shared_ptr<engine::Engine> engine_;
  std::map<engine::Tier, std::shared_ptr<engine::Instance>> instances_;
};

}  // namespace arcella::wast
