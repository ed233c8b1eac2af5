#include "worker/sandbox.h"

#include <gtest/gtest.h>

namespace arcella::worker {
namespace {

TEST(SandboxTest, Skeleton) { EXPECT_GE(LandlockAbiVersion(), 0); }

}  // namespace
}  // namespace arcella::worker
