// LinkHandles: the table of resource handles importers hold across links.
#include "platform/link_handles.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace arcella::platform {
namespace {

LinkHandle Counter(uint32_t rep, uint32_t replica = 0) {
  return LinkHandle{"prov@0.1.0/p",
                    "arcella:fixtures/counters@0.1.0",
                    "counter",
                    "arcella:fixtures/counters@0.1.0",
                    ReplicaPin{replica, 7, 0},
                    rep};
}

TEST(LinkHandles, ATokenIsValidOnlyInItsScopeUntilTakenOrEnded) {
  LinkHandles t;
  uint64_t a = t.NewScope(), b = t.NewScope();
  ASSERT_NE(a, b);
  auto x = t.Add(a, Counter(1, 2));
  auto y = t.Add(a, Counter(2));
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_NE(*x, 0u);
  EXPECT_NE(*x, *y);
  auto got = t.Get(a, *x);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->rep, 1u);
  EXPECT_EQ(got->pin.replica, 2u);
  // Another importer cannot use it, whatever number it tries.
  EXPECT_EQ(t.Get(b, *x).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(t.Take(b, *x).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(t.Get(a, *x).ok());
  // Taken: gone.
  ASSERT_TRUE(t.Take(a, *x).ok());
  EXPECT_FALSE(t.Get(a, *x).ok());
  EXPECT_FALSE(t.Take(a, *x).ok());
  // Ended: what is left comes back to be dropped.
  auto z = t.Add(b, Counter(3));
  ASSERT_TRUE(z.ok());
  auto left = t.EndScope(a);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].rep, 2u);
  EXPECT_FALSE(t.Get(a, *y).ok());
  EXPECT_TRUE(t.Get(b, *z).ok());
  EXPECT_TRUE(t.EndScope(a).empty());
  EXPECT_EQ(t.size(), 1u);
}

TEST(LinkHandles, AScopeHoldsAtMostItsLimitAndTokensAreNotReusedWhileLive) {
  LinkHandles t;
  uint64_t s = t.NewScope();
  std::set<uint32_t> tokens;
  for (size_t i = 0; i < LinkHandles::kMaxPerScope; ++i) {
    auto k = t.Add(s, Counter(static_cast<uint32_t>(i)));
    ASSERT_TRUE(k.ok()) << i;
    ASSERT_TRUE(tokens.insert(*k).second) << "token reused: " << *k;
  }
  auto over = t.Add(s, Counter(0));
  EXPECT_EQ(over.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(over.status().message().find("65536"), std::string::npos) << over.status().ToString();
  // Another scope is not limited by this one.
  EXPECT_TRUE(t.Add(t.NewScope(), Counter(0)).ok());
  // Freed one by one, then room again.
  for (uint32_t k : tokens) ASSERT_TRUE(t.Take(s, k).ok());
  EXPECT_TRUE(t.Add(s, Counter(0)).ok());
  EXPECT_EQ(t.EndScope(s).size(), 1u);
}

TEST(LinkHandles, ManyThreadsAddTakeAndEndScopes) {
  LinkHandles t;
  std::vector<std::thread> threads;
  for (int n = 0; n < 8; ++n) {
    threads.emplace_back([&t] {
      for (int round = 0; round < 50; ++round) {
        uint64_t s = t.NewScope();
        std::vector<uint32_t> mine;
        for (uint32_t i = 0; i < 40; ++i) {
          auto k = t.Add(s, Counter(i));
          ASSERT_TRUE(k.ok());
          mine.push_back(*k);
        }
        for (size_t i = 0; i < mine.size(); i += 2) ASSERT_TRUE(t.Take(s, mine[i]).ok());
        EXPECT_EQ(t.EndScope(s).size(), 20u);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace arcella::platform
