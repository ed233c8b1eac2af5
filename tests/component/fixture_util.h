// The component fixtures built from source (tests/fixtures/components,
// target component_fixtures), for the component tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "component/decoder.h"
#include "test_util.h"

namespace arcella::testing {

// Decodes build/fixtures/components/NAME.component.wasm; null (and a test
// failure) if it is missing or does not decode.
inline std::shared_ptr<const component::Component> LoadComponentFixture(const std::string& name) {
  std::string path = std::string(ARCELLA_COMPONENT_FIXTURES) + "/" + name + ".component.wasm";
  std::vector<uint8_t> bytes = test::ReadFile(path);
  EXPECT_FALSE(bytes.empty()) << path << " missing: build component_fixtures";
  if (bytes.empty()) return nullptr;
  auto c = component::DecodeComponent(bytes);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c.value() : nullptr;
}

}  // namespace arcella::testing
