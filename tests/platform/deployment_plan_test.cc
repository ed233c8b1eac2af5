// DeploymentPlan: compares by value, survives JSON and MessagePack, and a
// malformed plan is refused naming the field.
#include "platform/deployment_plan.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace arcella::platform {
namespace {

DeploymentPlan Sample() {
  DeploymentPlan p;
  p.id = "app@1.2.3/web";
  p.module_id = "app@1.2.3";
  p.group = "web";
  p.isolation = Isolation::kWorker;
  p.code = {std::string(64, 'a'), engine::Tier::kInterp, engine::Metering::kInterrupt};
  p.command = true;
  p.replicas = 7;
  p.fuel = 123456789012ull;
  p.max_memory_bytes = 64ull << 20;
  p.timeout = std::chrono::milliseconds(2500);
  p.dirs = {{"/srv/data", "/data", false}, {"/srv/ro", "/ro", true}};
  p.env = {{"A", "1"}, {"EMPTY", ""}, {"A", "again"}};
  p.restart = RestartPolicy::kAlways;
  return p;
}

TEST(DeploymentPlan, RoundTripsThroughMessagePack) {
  DeploymentPlan p = Sample();
  auto bytes = nlohmann::json::to_msgpack(PlanToJson(p));
  auto back = PlanFromJson(nlohmann::json::from_msgpack(bytes));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, p);
  p.fuel.reset();
  p.dirs.clear();
  back = PlanFromJson(PlanToJson(p));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
  EXPECT_FALSE(back->fuel.has_value());
}

TEST(DeploymentPlan, ComparesByValueAndSameRuntimeIgnoresTheCount) {
  DeploymentPlan a = Sample(), b = Sample();
  EXPECT_EQ(a, b);
  b.replicas = 1;
  EXPECT_NE(a, b);
  EXPECT_TRUE(SameRuntime(a, b));
  b.env.back().second = "changed";
  EXPECT_FALSE(SameRuntime(a, b));
  b = Sample();
  b.code.tier = engine::Tier::kAot;
  EXPECT_FALSE(SameRuntime(a, b));
  b = Sample();
  b.dirs[1].read_only = false;
  EXPECT_FALSE(SameRuntime(a, b));
}

TEST(DeploymentPlan, MalformedPlansNameTheField) {
  auto expect_error = [](nlohmann::json j, const std::string& what) {
    auto r = PlanFromJson(j);
    ASSERT_FALSE(r.ok()) << j.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
  };
  expect_error(nlohmann::json::array(), "not an object");
  auto good = PlanToJson(Sample());
  auto j = good;
  j.erase("module_id");
  expect_error(j, "\"module_id\"");
  j = good;
  j["replicas"] = "seven";
  expect_error(j, "\"replicas\" must be a non-negative integer");
  j = good;
  j["replicas"] = -1;
  expect_error(j, "\"replicas\"");
  j = good;
  j["code"]["tier"] = "jit";
  expect_error(j, "code.tier");
  j = good;
  j["isolation"] = "sandbox";
  expect_error(j, "isolation");
  j = good;
  j["env"] = nlohmann::json::array({nlohmann::json::array({"A"})});
  expect_error(j, "env entry");
  j = good;
  j["restart"] = "sometimes";
  expect_error(j, "restart");
  j = good;
  j["timeout_ms"] = -5;
  expect_error(j, "timeout_ms");
  j = good;
  j["dirs"] = nlohmann::json::array({42});
  expect_error(j, "dirs entry");
}

}  // namespace
}  // namespace arcella::platform
