// The compiled-module cache of component instantiation (code_cache.h).
#include "component/code_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace arcella::component {
namespace {

std::shared_ptr<const std::vector<uint8_t>> EmptyModuleBytes() {
  return std::make_shared<const std::vector<uint8_t>>(
      std::vector<uint8_t>{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00});
}

TEST(CodeCache, FindsOnlyTheSameLiveBufferEngineAndTier) {
  auto engine = engine::Engine::Create({});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  auto other_engine = engine::Engine::Create({});
  ASSERT_TRUE(other_engine.ok());
  auto bytes = EmptyModuleBytes();
  auto m = (*engine)->Compile(*bytes, {.tier = engine::Tier::kInterp});
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::span<const uint8_t> span(*bytes);

  EXPECT_EQ(FindCompiledModule(bytes, span, **engine, engine::Tier::kInterp), nullptr);
  RememberCompiledModule(bytes, span, engine::Tier::kInterp, *m);
  EXPECT_EQ(FindCompiledModule(bytes, span, **engine, engine::Tier::kInterp), *m);
  // Another engine, another tier, another buffer with the same content: no.
  EXPECT_EQ(FindCompiledModule(bytes, span, **other_engine, engine::Tier::kInterp), nullptr);
  EXPECT_EQ(FindCompiledModule(bytes, span, **engine, engine::Tier::kAot), nullptr);
  auto copy = EmptyModuleBytes();
  EXPECT_EQ(FindCompiledModule(copy, std::span<const uint8_t>(*copy), **engine,
                               engine::Tier::kInterp),
            nullptr);
}

TEST(CodeCache, KeepsNothingAlive) {
  auto engine = engine::Engine::Create({});
  ASSERT_TRUE(engine.ok());
  auto bytes = EmptyModuleBytes();
  std::span<const uint8_t> span(*bytes);
  {
    auto m = (*engine)->Compile(*bytes, {.tier = engine::Tier::kInterp});
    ASSERT_TRUE(m.ok());
    RememberCompiledModule(bytes, span, engine::Tier::kInterp, *m);
  }
  // The module is gone with its last holder: the cache answers null.
  EXPECT_EQ(FindCompiledModule(bytes, span, **engine, engine::Tier::kInterp), nullptr);
}

}  // namespace
}  // namespace arcella::component
