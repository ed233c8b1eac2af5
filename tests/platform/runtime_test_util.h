// Helpers for the replica-host tests (inprocess_host_test, replica_test).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "platform/replica_host.h"
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

inline DeploymentPlan MakePlan(const std::string& id, std::shared_ptr<const engine::Module> m,
                               uint32_t replicas) {
  DeploymentPlan p;
  p.id = id;
  p.module_id = id.substr(0, id.find('/'));
  p.module = std::move(m);
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
