// Helpers for the replica-host tests (inprocess_host_test, replica_test).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "platform/replica_host.h"
#include "platform/run_plan.h"
#include "test_util.h"

namespace arcella::platform::testing {

// Compiles fixture `name` (AOT when available), with a cache beside the fixtures.
inline std::shared_ptr<const engine::Module> LoadFixture(
    const std::string& name, engine::Metering metering = engine::Metering::kFuel,
    engine::Tier tier = engine::Tier::kAuto) {
  auto bytes = test::ReadFile(test::FixturePath(name));
  engine::CompileOptions o;
  o.tier = tier;
  auto m = test::TestEngine(metering,
                            std::filesystem::absolute(test::FixturePath("../runtime-test-cache")))
               ->Compile(bytes, o);
  EXPECT_TRUE(m.ok()) << name << ": " << m.status().ToString();
  return m.ok() ? *m : nullptr;
}

// The compiled code of the modules the tests planned (MakePlan adds them),
// as the platform hands out installed modules' code.
class FixtureCode : public CodeProvider {
 public:
  Result<std::shared_ptr<const engine::Module>> Load(const CodeRef& code) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = modules_.find(Key(code));
    if (it == modules_.end()) return Status::NotFound("no fixture code " + code.module_hash);
    return it->second;
  }
  Result<engine::PortableCode> Export(const CodeRef& code) override {
    ARCELLA_ASSIGN_OR_RETURN(std::shared_ptr<const engine::Module> m, Load(code));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = bytes_.find(code.module_hash);
    return engine::ExportCode(*m, it == bytes_.end() ? std::span<const uint8_t>()
                                                     : std::span<const uint8_t>(it->second));
  }
  // `wasm`: the module's bytes (needed to export interpreter code).
  void Add(const std::shared_ptr<const engine::Module>& m, std::vector<uint8_t> wasm = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    modules_[Key({m->hash(), m->tier(), m->metering()})] = m;
    if (!wasm.empty()) bytes_[m->hash()] = std::move(wasm);
  }
  static std::string Key(const CodeRef& c) {
    return c.module_hash + "/" + engine::TierName(c.tier) + "/" +
           std::to_string(static_cast<int>(c.metering));
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const engine::Module>> modules_;
  std::map<std::string, std::vector<uint8_t>> bytes_;
};

inline FixtureCode& TestCode() {
  static FixtureCode code;
  return code;
}

// The daemon's plan loader over TestCode().
inline PlanLoader TestLoader() { return LocalPlanLoader(&TestCode()); }

inline DeploymentPlan MakePlan(const std::string& id, std::shared_ptr<const engine::Module> m,
                               uint32_t replicas) {
  DeploymentPlan p;
  p.id = id;
  p.module_id = id.substr(0, id.find('/'));
  p.group = id.substr(id.find('/') + 1);
  p.code = {m->hash(), m->tier(), m->metering()};
  const auto* start = m->FindExport("_start");
  p.command = start && start->desc.kind == engine::ExternKind::kFunc;
  TestCode().Add(m);
  p.replicas = replicas;
  return p;
}

// Polls `pred` every 2 ms until true or `limit` passes.
inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

inline bool AllInState(const ReplicaHost& host, const std::string& id, State s, size_t n) {
  auto st = host.GetStatus(id);
  if (!st.ok() || st->replicas.size() != n) return false;
  for (const auto& r : st->replicas)
    if (r.state != s) return false;
  return true;
}

inline double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace arcella::platform::testing
