// A test fixture parameterised by engine tier: compile WAT at the tier under
// test (checking the module really got that tier) and instantiate it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/engine.h"
#include "test_util.h"

namespace arcella::engine {

class TierTest : public ::testing::TestWithParam<Tier> {
 protected:
  std::shared_ptr<const Module> Compile(const std::string& wat,
                                        Metering metering = Metering::kNone) {
    CompileOptions o;
    o.tier = GetParam();
    auto m = test::TestEngine(metering)->Compile(test::Wat(wat), o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return nullptr;
    EXPECT_EQ((*m)->tier(), GetParam());
    return *m;
  }
  std::shared_ptr<Instance> Make(std::shared_ptr<const Module> m, InstanceOptions o = {},
                                 const Linker& linker = Linker()) {
    auto i = Instance::Create(std::move(m), linker, o);
    EXPECT_TRUE(i.ok()) << i.status().ToString();
    return i.ok() ? *i : nullptr;
  }
};

}  // namespace arcella::engine
